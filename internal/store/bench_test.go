package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/ca"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/ra"
	"github.com/tawthiq/tawthiq/internal/store"
)

// BenchmarkAppendAudit appends one entry per durable transaction (synchronous=FULL).
func BenchmarkAppendAudit(b *testing.B) {
	db := openSQLite(b)
	ctx := context.Background()
	at := time.Now().UTC()
	b.ResetTimer()
	for i := range b.N {
		e := auditlog.NewEntry(at, "bench", auditlog.ActionLogin, fmt.Sprint(i), nil)
		if err := db.Append(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReserveAndIssue records the two transactions of one issuance: the
// reservation before signing and the issued certificate after.
func BenchmarkReserveAndIssue(b *testing.B) {
	db := openSQLite(b)
	ctx := context.Background()
	at := time.Now().UTC()
	must(b, db.PublishTerms(ctx, ra.Terms{Version: "v1", PublishedAt: at}, auditlog.NewEntry(at, "b", auditlog.ActionTermsPublish, "v1", nil)))
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		id := fmt.Sprintf("app-%d", i)
		approvedApplication(b, db, id, at)
		serial := fmt.Sprintf("%x", i+1)
		c := &ca.Certificate{Serial: serial, CA: "signature", ApplicationID: id, Profile: "p", SPKISHA256: []byte(id),
			Subject: "CN=x", NotBefore: at, NotAfter: at, TBS: make([]byte, 1200), ReservedAt: at}
		b.StartTimer()
		must(b, db.Reserve(ctx, c, auditlog.NewEntry(at, "ca", auditlog.ActionCertificateReserve, serial, nil)))
		must(b, db.MarkIssued(ctx, serial, make([]byte, 1300), at, auditlog.NewEntry(at, "ca", auditlog.ActionCertificateIssue, serial, nil)))
	}
}

func approvedApplication(b *testing.B, db *store.DB, id string, at time.Time) {
	ctx := context.Background()
	a := &ra.Application{ID: id, Subject: issuance.Subject{CommonName: id, Country: "MA"}, TermsVersion: "v1",
		CSR: []byte("csr"), SPKISHA256: []byte(id), CreatedAt: at, TermsAcceptedAt: at}
	must(b, db.CreateApplication(ctx, a, auditlog.NewEntry(at, "ra", auditlog.ActionApplicationCreate, id, nil)))
	for j := range 2 {
		ap := ra.Approval{ApplicationID: id, Officer: fmt.Sprint("o", j), At: at}
		must(b, approvalErr(db.AddApproval(ctx, ap, auditlog.NewEntry(at, "ra", auditlog.ActionApplicationApprove, id, nil))))
	}
}

func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}

// approvalErr drops the resulting status of an approval.
func approvalErr(_ ra.Status, err error) error { return err }
