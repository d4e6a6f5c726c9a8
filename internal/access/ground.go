package access

import (
	"context"
	"strings"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// RecordGroundedRead logs a read of personal data on one of the law's grounds,
// with the reference of the document that allows it when the ground needs one;
// any other ground is refused and nothing is logged (L-24).
func (s *Service) RecordGroundedRead(ctx context.Context, reader *User, subject string, g law.ReadGround, ref string) error {
	rule, ok := law.LookupReadGround(g)
	if !ok {
		return errkind.New(errkind.Forbidden, law.L24, "personal data are read only on a ground the law gives (%s); %q is none", groundNames(), g)
	}
	ref = strings.TrimSpace(ref)
	if rule.NeedsReference && ref == "" {
		return errkind.New(errkind.Forbidden, law.L24, "a read on ground %s needs the reference of the document that allows it", g)
	}
	var data map[string]string
	if ref != "" {
		data = map[string]string{"reference": ref} // the document the secrecy yields to
	}
	e := auditlog.NewEntry(s.clock.Now(), reader.ID, auditlog.ActionPersonalDataRead, subject, data)
	e.Ground = string(g)
	return s.store.Append(ctx, e)
}

func groundNames() string {
	var names []string
	for _, r := range law.ReadGrounds() {
		names = append(names, string(r.Ground))
	}
	return strings.Join(names, ", ")
}
