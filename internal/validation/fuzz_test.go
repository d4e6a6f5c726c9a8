package validation_test

import (
	"crypto/x509"
	"encoding/json"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/signature"
	"github.com/tawthiq/tawthiq/internal/validation"
)

// FuzzValidate: any signature bytes give a report, never a panic. Each call
// verifies signatures and builds paths, so bound the minimisation of new inputs:
//
//	go test -run '^$' -fuzz FuzzValidate -fuzztime 60s -fuzzminimizetime 2s ./internal/validation/
func FuzzValidate(f *testing.F) {
	fx := newFixture(f)
	f.Add(fx.sign(f, false, signature.BB, nil), false)
	f.Add(fx.sign(f, true, signature.BT, nil), true)
	f.Add(fx.sign(f, false, signature.BT, nil), false)
	f.Add(fx.signLT(f, true, signature.BLT), true)
	f.Add(fx.signLT(f, false, signature.BLTA), false)
	f.Add(fx.signWithContentTS(f, signature.BT, fx.tsa), true)
	f.Add([]byte{0x30, 0x80}, false)
	f.Fuzz(func(t *testing.T, sig []byte, detached bool) {
		opts := validation.Options{Roots: []*x509.Certificate{fx.h.Root.Cert}, Now: fx.now.Add(time.Hour)}
		if !detached { // exercise the offline path too
			opts.Status = status{}
		}
		var content []byte
		if detached {
			content = document
		}
		r := validation.Validate(t.Context(), sig, content, opts)
		switch r.Indication {
		case validation.TotalPassed, validation.TotalFailed, validation.Indeterminate:
		default:
			t.Fatalf("indication %q", r.Indication)
		}
		if r.Indication == validation.TotalPassed && r.SubIndication != "" {
			t.Fatalf("TOTAL-PASSED with %s", r.SubIndication)
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatal(err)
		}
	})
}
