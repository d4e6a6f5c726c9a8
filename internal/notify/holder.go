package notify

import (
	"context"
	"strings"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// Kinds of notice addressed to a holder about all his certificates at once.
const (
	KindJudicialOrder Kind = "judicial-order" // a judicial authority's order concerns him (L-21-3-7 b)
	KindDisclosure    Kind = "disclosure"     // his records were handed over on the King's prosecutor's order (L-24)
)

// HolderNotice is a notice written by the service that decided it, to one holder.
// ApplicationID and Serial are one of his files, so that his account lists it.
type HolderNotice struct {
	Kind          Kind
	DedupKey      string // one notice per event and holder
	HolderID      string
	ApplicationID string
	Serial        string
	ConsentEmail  bool // L-65-3
	ContactEmail  string
	Language      string
	Subject, Body string
}

// EnqueueHolder records a holder notice once per dedup key; it reports whether it
// was recorded. E-mail only with the holder's express acceptance (L-65-3).
func (s *Service) EnqueueHolder(ctx context.Context, h HolderNotice) (bool, error) {
	if h.DedupKey == "" || h.HolderID == "" || h.ApplicationID == "" || h.Serial == "" || strings.TrimSpace(h.Body) == "" {
		return false, errkind.New(errkind.Invalid, law.LInternal, "a holder notice needs a key, a holder, one of his files and a text")
	}
	now := law.Timestamp(s.clk.Now())
	id := randomID()
	n := Notice{ID: id, DedupKey: h.DedupKey, ApplicationID: h.ApplicationID, Serial: h.Serial, Kind: h.Kind,
		Language: language(h.Language), Subject: h.Subject, Body: h.Body, NextAttempt: now, CreatedAt: now,
		MessageID: "<notice-" + id + "@" + s.cfg.MessageDomain + ">"}
	if addr, ok := emailOf(Certificate{ConsentEmail: h.ConsentEmail, ContactEmail: h.ContactEmail}); ok {
		n.Channel, n.Recipient, n.State = ChannelEmail, addr, StateQueued
	} else {
		n.Channel, n.Recipient, n.State = ChannelAccount, h.HolderID, StateHeld
	}
	e := auditlog.NewEntry(now, "system", auditlog.ActionNoticeQueue, n.DedupKey, queueRecord{
		ID: n.ID, Kind: h.Kind, Serial: h.Serial, Application: h.ApplicationID, Channel: n.Channel, Language: n.Language,
		MessageID: n.MessageID})
	return s.st.EnqueueNotice(ctx, n, e)
}
