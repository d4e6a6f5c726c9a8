package revocation

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// holds counts the bulk decisions in progress on this node; while one runs the
// publisher waits, so that the decision is published as one CRL listing all of it.
type holds struct {
	mu sync.Mutex
	n  int
}

func (h *holds) add(d int) {
	h.mu.Lock()
	h.n += d
	h.mu.Unlock()
}

func (h *holds) held() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n > 0
}

// HoldPublication delays CRL publication on this node until release is called,
// then asks for a CRL at once. A bulk decision (a judicial order) holds it while
// it revokes batch by batch, so relying parties see it whole in the next CRL.
func (s *Service) HoldPublication() (release func()) {
	s.hold.add(1)
	var once sync.Once
	return func() {
		once.Do(func() {
			s.hold.add(-1)
			s.Kick()
		})
	}
}

// RevokeForOrder revokes, in one transaction, the issued certificates of serials
// that are not revoked yet, on the judicial ground with the order's reference on
// each (L-21-3-7 b). Already revoked ones are left as they are: a revocation is
// final (L-21-rev), and a re-run after a crash only finishes the rest.
func (s *Service) RevokeForOrder(ctx context.Context, actor, orderRef, note string, serials []string) ([]Revocation, error) {
	requestedAt := law.Timestamp(s.clock.Now())
	orderRef = strings.TrimSpace(orderRef)
	if orderRef == "" {
		return nil, refuse(errkind.Invalid, law.L21_3_7, "a revocation on a judicial order needs the order's reference")
	}
	rule, _ := law.LookupGround(law.GroundJudicialOrder)
	for attempt := 0; ; attempt++ {
		byCA := map[string][]string{}
		for _, serial := range serials {
			sub, err := s.store.RevocationSubject(ctx, serial)
			if err != nil {
				return nil, err
			}
			if sub.Revoked || !sub.Issued {
				continue
			}
			byCA[sub.CA] = append(byCA[sub.CA], serial)
		}
		if len(byCA) == 0 {
			return nil, nil
		}
		var rs []Revocation
		var entries []auditlog.Entry
		for _, name := range slices.Sorted(maps.Keys(byCA)) {
			base := Revocation{CA: name, Ground: rule.Ground, Reason: rule.Reason, RequestedAt: requestedAt,
				RequestedBy: actor, Note: strings.TrimSpace(note), OrderRef: orderRef}
			r, e := s.decide(base, byCA[name], actor, "order:"+orderRef)
			rs, entries = append(rs, r...), append(entries, e...)
		}
		err := s.store.Revoke(ctx, rs, nil, entries)
		if err == nil {
			s.Kick()
			return rs, nil
		}
		// Someone revoked one of them meanwhile: look again, the rest still falls.
		if !errkind.Is(err, errkind.Conflict) || attempt >= 3 {
			return nil, err
		}
	}
}
