package tsa_test

import (
	"crypto"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/timestamp"
	"github.com/tawthiq/tawthiq/internal/tsa"
)

// faultySigner signs with the TSA key, then from call `from` on corrupts every
// signature (still valid DER) or, once, fails.
type faultySigner struct {
	crypto.Signer
	calls   atomic.Int64
	from    int64
	failAt  int64 // this call returns an error instead
	corrupt bool
}

func (s *faultySigner) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	n := s.calls.Add(1)
	if n == s.failAt {
		return nil, errors.New("HSM: device error")
	}
	sig, err := s.Signer.Sign(r, d, o)
	if err == nil && s.corrupt && n >= s.from {
		sig[len(sig)-1] ^= 0x01 // the last octet of s: a wrong signature, well formed
	}
	return sig, err
}

// TestSelfCheck_STYLE8: the signature self-check. With VerifyOneIn 1 no wrong
// signature leaves; sampled, the first token is checked, a persistent fault is
// refused within VerifyOneIn tokens and from then on, and after a signer error
// every token is checked.
func TestSelfCheck_STYLE8(t *testing.T) {
	f := newFixture(t)
	req, err := tsa.BuildRequest(crypto.SHA256, imprint(), nil, true, nil)
	must(t, err)
	newSvc := func(s crypto.Signer, every int) *tsa.Service {
		svc, err := tsa.New(tsa.Config{Signer: s, Cert: f.tsa.Cert, Policy: testPolicy, Accuracy: time.Second,
			Clock: f.clk, Sync: f.sync, Store: f.db, VerifyOneIn: every})
		must(t, err)
		return svc
	}
	// stamp returns whether the token was granted, and if so that its signature verifies.
	stamp := func(svc *tsa.Service) (granted, valid bool) {
		rep := svc.Stamp(t.Context(), req)
		if rep.Status != tsa.StatusGranted {
			return false, false
		}
		_, err := timestamp.CheckReply(rep.DER, f.tsa.Cert)
		return true, err == nil
	}

	t.Run("every token", func(t *testing.T) {
		svc := newSvc(&faultySigner{Signer: f.tsa.Key, from: 3, corrupt: true}, 1)
		for i := range 10 {
			granted, valid := stamp(svc)
			if granted != (i < 2) || granted && !valid {
				t.Fatalf("token %d: granted %v, valid %v", i, granted, valid)
			}
		}
	})
	t.Run("sampled, faulty from the start", func(t *testing.T) {
		svc := newSvc(&faultySigner{Signer: f.tsa.Key, from: 1, corrupt: true}, 0)
		for i := range 3 * tsa.DefaultVerifyOneIn {
			if granted, _ := stamp(svc); granted {
				t.Fatalf("token %d of a faulty signer granted", i)
			}
		}
	})
	t.Run("sampled, fault later", func(t *testing.T) {
		svc := newSvc(&faultySigner{Signer: f.tsa.Key, from: 5, corrupt: true}, 0)
		firstRefused := -1
		for i := range 4 * tsa.DefaultVerifyOneIn {
			granted, valid := stamp(svc)
			if granted && !valid && i < 4 {
				t.Fatalf("token %d before the fault does not verify", i)
			}
			if !granted && firstRefused < 0 {
				firstRefused = i
			}
			if granted && firstRefused >= 0 {
				t.Fatalf("token %d granted after the fault was caught at %d", i, firstRefused)
			}
		}
		if firstRefused < 0 || firstRefused > tsa.DefaultVerifyOneIn {
			t.Fatalf("the fault was caught at token %d, want within %d", firstRefused, tsa.DefaultVerifyOneIn)
		}
	})
	t.Run("after a signer error, every token", func(t *testing.T) {
		// Token 1 is checked (the first); 2 fails to sign; from 3 on the signatures are wrong.
		svc := newSvc(&faultySigner{Signer: f.tsa.Key, failAt: 2, from: 3, corrupt: true}, 0)
		for i := range 10 {
			granted, valid := stamp(svc)
			if granted != (i == 0) || granted && !valid {
				t.Fatalf("token %d: granted %v, valid %v", i, granted, valid)
			}
		}
	})
	if _, err := tsa.New(tsa.Config{Signer: f.tsa.Key, Cert: f.tsa.Cert, Policy: testPolicy, Clock: f.clk, Sync: f.sync, Store: f.db, VerifyOneIn: -1}); err == nil {
		t.Fatal("a negative VerifyOneIn was accepted")
	}
}
