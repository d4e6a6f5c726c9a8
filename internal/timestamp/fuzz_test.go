package timestamp_test

import (
	"context"
	"crypto/sha256"
	"encoding/asn1"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/testpki"
	"github.com/tawthiq/tawthiq/internal/timestamp"
	"github.com/tawthiq/tawthiq/internal/tsa"
)

type forget struct{}

func (forget) RecordTimestamp(context.Context, tsa.Record) error { return nil }

// FuzzCheckToken: a malformed token (TSTInfo, accuracy, CMS) is refused, never
// a panic; what is accepted has a genTime, a bounded accuracy and a signer.
func FuzzCheckToken(f *testing.F) {
	h := testpki.New(f)
	for _, acc := range []time.Duration{time.Second, 2*time.Second + 7*time.Millisecond, 1500 * time.Microsecond} {
		s, err := tsa.New(tsa.Config{Signer: h.TSA.Signer, Cert: h.TSA.Cert, Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1},
			Accuracy: acc, Clock: clock.NewFake(h.Now), Sync: tsa.Fixed{Offset: time.Microsecond, Known: true}, Store: forget{}})
		if err != nil {
			f.Fatal(err)
		}
		tok, err := s.StampDigest(f.Context(), sha256.Sum256([]byte("document")))
		s.Close()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(tok)
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		tok, err := timestamp.CheckToken(der)
		if err != nil {
			return
		}
		if tok.GenTime.IsZero() || tok.Signer == nil || tok.Accuracy < 0 || tok.Accuracy > (1<<31)*time.Second+time.Second ||
			(!tok.HasAccuracy && tok.Accuracy != 0) {
			t.Fatalf("accepted token: genTime %s, signer %v, accuracy %v (%v)", tok.GenTime, tok.Signer != nil, tok.Accuracy, tok.HasAccuracy)
		}
	})
}
