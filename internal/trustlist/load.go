package trustlist

import (
	"bytes"
	"crypto/x509"
	"strings"
	"time"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// ClockSkew is how far in the future a list's issue or signing time may be
// before Load refuses it: the authority's clock and ours are not the same clock.
const ClockSkew = 5 * time.Minute

// Load verifies and reads a trusted list signed by one of the authority
// certificates (the national authority's, from configuration), as of now.
//
// It refuses: anything but one enveloped XAdES signature over the whole list
// (see the package doc); a signer that is not one of authority, or whose
// certificate is not valid at the signing time and at now; a list issued or
// signed in the future; and an expired list, whose NextUpdate is before now,
// with an Unavailable error: its statuses may be stale, so a fresh list must be
// fetched before anything is found qualified on its word (L-20). A closed list
// (no NextUpdate) is accepted: its statuses are final.
func Load(xmlBytes []byte, authority []*x509.Certificate, now time.Time) (*List, error) {
	return load(xmlBytes, authority, now, law.L15)
}

// LoadForeign verifies and reads a foreign trusted list through the pointer to it
// in our own list, which exists only for a scheme recognised under an agreement
// (L-22): the list must be signed by one of the pointer's certificates and be
// the pointed territory's. Pointers inside a foreign list are not followed:
// recognition is not transitive.
func LoadForeign(xmlBytes []byte, p Pointer, now time.Time) (*List, error) {
	if strings.TrimSpace(p.Agreement) == "" {
		return nil, errkind.New(errkind.Forbidden, law.L22, "no recognition agreement is on record for the trusted list of %q", p.Territory)
	}
	if len(p.Certificates) == 0 || p.Territory == "" {
		return nil, errkind.New(errkind.Invalid, law.L22, "the pointer to the trusted list of %q names no territory or signing certificate", p.Territory)
	}
	l, err := load(xmlBytes, p.Certificates, now, law.L22)
	if err != nil {
		return nil, err
	}
	if l.Scheme.Territory != p.Territory {
		return nil, errkind.New(errkind.Invalid, law.L22, "the list is the trusted list of %q, the agreement covers %q", l.Scheme.Territory, p.Territory)
	}
	if p.Type != "" && l.Scheme.Type != p.Type {
		return nil, errkind.New(errkind.Invalid, law.L22, "the list of %q is of type %q, the pointer says %q", p.Territory, l.Scheme.Type, p.Type)
	}
	ptr := p
	l.Agreement = &ptr
	return l, nil
}

// Pointer returns our list's pointer to the foreign list of territory, if an agreement put one there.
func (l *List) Pointer(territory string) (Pointer, bool) {
	for _, p := range l.Scheme.Pointers {
		if p.Territory == territory {
			return p, true
		}
	}
	return Pointer{}, false
}

func load(xmlBytes []byte, authority []*x509.Certificate, now time.Time, rule law.ID) (*List, error) {
	if len(authority) == 0 {
		return nil, errkind.New(errkind.Invalid, rule, "no authority certificate to check the trusted list against")
	}
	doc, err := parseDoc(xmlBytes, rule)
	if err != nil {
		return nil, err
	}
	if !is(doc.Root(), Namespace, "TrustServiceStatusList") {
		return nil, errkind.New(errkind.Invalid, rule, "not a TS 119 612 TrustServiceStatusList")
	}
	sig, err := verify(doc, authority, rule)
	if err != nil {
		return nil, err
	}
	for _, at := range []time.Time{sig.signingTime, now} {
		if at.Before(sig.signer.NotBefore) || at.After(sig.signer.NotAfter) {
			return nil, errkind.New(errkind.Invalid, rule, "the authority certificate %q is not valid at %s", sig.signer.Subject.CommonName, formatTime(at))
		}
	}
	l, err := parseList(doc.Root(), rule)
	if err != nil {
		return nil, err
	}
	l.SignedBy, l.SigningTime = sig.signer, sig.signingTime
	if l.Scheme.IssueDateTime.After(now.Add(ClockSkew)) || l.SigningTime.After(now.Add(ClockSkew)) {
		return nil, errkind.New(errkind.Invalid, rule, "the trusted list is issued or signed in the future (%s)", formatTime(l.Scheme.IssueDateTime))
	}
	if nu := l.Scheme.NextUpdate; !nu.IsZero() && nu.Before(now) {
		return nil, errkind.New(errkind.Unavailable, rule, "the trusted list of %q expired on %s (next update was due): fetch a fresh one", l.Scheme.Territory, formatTime(nu))
	}
	return l, nil
}

// sameCertificate matches a certificate to a service's digital identity: the same
// certificate, or one for the same subject and public key (a CA certificate renewed
// over the same key identifies the same service).
func sameCertificate(a, b *x509.Certificate) bool {
	if a == nil || b == nil {
		return false
	}
	return bytes.Equal(a.Raw, b.Raw) ||
		bytes.Equal(a.RawSubject, b.RawSubject) && bytes.Equal(a.RawSubjectPublicKeyInfo, b.RawSubjectPublicKeyInfo)
}
