package cessation

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/signature"
)

// ArchiveFormat names the takeover archive's format in its manifest.
const ArchiveFormat = "tawthiq-takeover-v1"

// Members of the archive, a POSIX tar file. The manifest holds the SHA-256 of every
// other member but the signature, which is a detached CMS signature over the manifest.
const (
	memberManifest     = "manifest.json"
	memberSignature    = "manifest.p7s"
	memberAuthorities  = "authorities.json"
	memberCertificates = "certificates.json"
	memberRevocations  = "revocations.json"
	memberAudit        = "audit.json"
	memberResponders   = "responders.json"
)

// maxArchive bounds what Open reads of one member (a national CSP's log is large,
// but an archive is handed over, not uploaded by strangers).
const maxArchive = 4 << 30

// Origin is the ceding CSP.
type Origin struct {
	Name       string `json:"name"`
	Identifier string `json:"identifier"`
	// AuditVKey is its checkpoint verifier key: covered by the signature, it is
	// what lets the successor check the audit log's checkpoint.
	AuditVKey string `json:"audit_vkey"`
}

// Authority is one certificate of the ceding CSP's hierarchy (never a key).
type Authority struct {
	Name   string `json:"name"`
	Role   string `json:"role"` // root, issuing, ocsp, tsa
	Parent string `json:"parent"`
	DER    []byte `json:"der"`
}

// Certificate is an issued certificate with its registration record (L-21-2, L-24).
type Certificate struct {
	Serial       string          `json:"serial"`
	CA           string          `json:"ca"`
	DER          []byte          `json:"der"`
	Registration json.RawMessage `json:"registration"`
}

// Revocation is a revocation as the ceding CSP decided it (L-21-rev).
type Revocation struct {
	Serial      string     `json:"serial"`
	CA          string     `json:"ca"`
	Ground      law.Ground `json:"ground"`
	Reason      int        `json:"reason"`
	RequestedAt time.Time  `json:"requested_at"`
	RevokedAt   time.Time  `json:"revoked_at"`
	OrderRef    string     `json:"order_ref,omitempty"`
}

// Responder is the delegated OCSP responder certificate the ceding CA issued for
// the successor's key (RFC 6960 §4.2.2.2).
type Responder struct {
	CA  string `json:"ca"`
	DER []byte `json:"der"`
}

// AuditEntry is one audit log entry as exported.
type AuditEntry struct {
	Seq     int64           `json:"seq"`
	TimeMS  int64           `json:"time_ms"`
	Actor   string          `json:"actor"`
	Action  string          `json:"action"`
	Subject string          `json:"subject"`
	Ground  string          `json:"ground,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// Checkpoint is the ceding log's signed head that covers every exported entry.
type Checkpoint struct {
	Size      int64  `json:"size"`
	Signed    []byte `json:"signed"`              // the C2SP signed note
	Timestamp []byte `json:"timestamp,omitempty"` // RFC 3161 token over SHA-256 of Signed
}

// Export is everything a takeover hands over.
type Export struct {
	Origin       Origin
	Successor    Successor
	CreatedAt    time.Time
	Checkpoint   Checkpoint
	Authorities  []Authority
	Certificates []Certificate
	Revocations  []Revocation
	Audit        []AuditEntry
	Responders   []Responder
}

type manifest struct {
	Format     string            `json:"format"`
	Origin     Origin            `json:"origin"`
	Successor  Successor         `json:"successor"`
	CreatedAt  time.Time         `json:"created_at"`
	Checkpoint Checkpoint        `json:"checkpoint"`
	Members    map[string]string `json:"members"` // name -> hex SHA-256
	Counts     map[string]int    `json:"counts"`
}

// Pack writes the archive of ex, its manifest signed by sign (a detached CMS signature).
func Pack(ex *Export, sign func(manifest []byte) ([]byte, error)) ([]byte, error) {
	members := []struct {
		name string
		v    any
	}{
		{memberAuthorities, ex.Authorities}, {memberCertificates, ex.Certificates},
		{memberRevocations, ex.Revocations}, {memberAudit, ex.Audit}, {memberResponders, ex.Responders},
	}
	m := manifest{Format: ArchiveFormat, Origin: ex.Origin, Successor: ex.Successor, CreatedAt: ex.CreatedAt.UTC(),
		Checkpoint: ex.Checkpoint, Members: map[string]string{}, Counts: map[string]int{
			"authorities": len(ex.Authorities), "certificates": len(ex.Certificates),
			"revocations": len(ex.Revocations), "audit_entries": len(ex.Audit), "responders": len(ex.Responders)}}
	bodies := map[string][]byte{}
	for _, mb := range members {
		b, err := json.Marshal(mb.v)
		if err != nil {
			return nil, errkind.Wrap(errkind.Internal, err, "encode %s", mb.name)
		}
		h := sha256.Sum256(b)
		m.Members[mb.name], bodies[mb.name] = hex.EncodeToString(h[:]), b
	}
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "encode the manifest")
	}
	sig, err := sign(mj)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	put := func(name string, b []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), ModTime: m.CreatedAt, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(b)
		return err
	}
	if err := put(memberManifest, mj); err != nil {
		return nil, err
	}
	if err := put(memberSignature, sig); err != nil {
		return nil, err
	}
	for _, mb := range members {
		if err := put(mb.name, bodies[mb.name]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// Verified is what Open proved of an archive.
type Verified struct {
	Signer      *x509.Certificate // the ceding CSP's export certificate
	SHA256      string            // of the whole archive
	AuditReport auditlog.Report   // the imported log, recomputed and checked against its checkpoint
}

func bad(format string, args ...any) error {
	return errkind.New(errkind.Invalid, law.L23, "takeover archive: "+format, args...)
}

// Open reads and verifies a takeover archive against the ceding CSP's roots at now:
// the manifest's CMS signature by a certificate that chains to a root, every
// member's digest, every CA, certificate and responder certificate chaining to
// that root, every revocation about an exported certificate, and the audit log,
// whose Merkle tree, recomputed from the exported entries, must match the signed,
// time-stamped checkpoint (L-21-2), and which must record every certificate's
// issuance and every revocation.
func Open(ctx context.Context, archive []byte, roots []*x509.Certificate, now time.Time) (*Export, *Verified, error) {
	if len(roots) == 0 {
		return nil, nil, bad("the ceding CSP's root certificate is needed to check it")
	}
	files := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, bad("not a tar archive: %v", err)
		}
		if _, dup := files[h.Name]; dup {
			return nil, nil, bad("member %s appears twice", h.Name)
		}
		b, err := io.ReadAll(io.LimitReader(tr, maxArchive))
		if err != nil {
			return nil, nil, bad("member %s: %v", h.Name, err)
		}
		files[h.Name] = b
	}
	var m manifest
	if err := json.Unmarshal(files[memberManifest], &m); err != nil || m.Format != ArchiveFormat {
		return nil, nil, bad("no %s manifest", ArchiveFormat)
	}
	pool := x509.NewCertPool()
	for _, r := range roots {
		pool.AddCert(r)
	}
	var auths []Authority
	if err := decodeMember(files, m, memberAuthorities, &auths); err != nil {
		return nil, nil, err
	}
	inter := x509.NewCertPool()
	certs := map[string]*x509.Certificate{}
	for _, a := range auths {
		c, err := x509.ParseCertificate(a.DER)
		if err != nil {
			return nil, nil, bad("authority %s: %v", a.Name, err)
		}
		certs[a.Name] = c
		if c.IsCA {
			inter.AddCert(c)
		}
	}
	signer, err := verifyCMS(files[memberSignature], files[memberManifest], pool, inter, now)
	if err != nil {
		return nil, nil, err
	}
	// Every member is checked against the signed manifest before it is read.
	for name := range files {
		if name == memberManifest || name == memberSignature {
			continue
		}
		if _, ok := m.Members[name]; !ok {
			return nil, nil, bad("member %s is not in the signed manifest", name)
		}
	}
	ex := &Export{Origin: m.Origin, Successor: m.Successor, CreatedAt: m.CreatedAt, Checkpoint: m.Checkpoint, Authorities: auths}
	for name, v := range map[string]any{memberCertificates: &ex.Certificates, memberRevocations: &ex.Revocations,
		memberAudit: &ex.Audit, memberResponders: &ex.Responders} {
		if err := decodeMember(files, m, name, v); err != nil {
			return nil, nil, err
		}
	}
	// Each CA and TSA certificate chains to the root (at its own notBefore: a past CA still counts).
	var tsaCerts []*x509.Certificate
	for _, a := range auths {
		c := certs[a.Name]
		if _, err := c.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, CurrentTime: c.NotBefore,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			return nil, nil, bad("authority %s does not chain to the given root: %v", a.Name, err)
		}
		if a.Role == "tsa" {
			tsaCerts = append(tsaCerts, c)
		}
	}
	issued := map[string]bool{}
	for _, c := range ex.Certificates {
		parent := certs[c.CA]
		cert, err := x509.ParseCertificate(c.DER)
		if err != nil || parent == nil || !parent.IsCA {
			return nil, nil, bad("certificate %s: unreadable, or of an unknown CA %q", c.Serial, c.CA)
		}
		if hex.EncodeToString(cert.SerialNumber.Bytes()) != c.Serial {
			return nil, nil, bad("certificate %s carries serial %x", c.Serial, cert.SerialNumber)
		}
		if err := cert.CheckSignatureFrom(parent); err != nil {
			return nil, nil, bad("certificate %s is not signed by CA %s: %v", c.Serial, c.CA, err)
		}
		if len(c.Registration) == 0 {
			return nil, nil, bad("certificate %s has no registration record (L-21-2)", c.Serial)
		}
		issued[c.CA+"/"+c.Serial] = true
	}
	for _, r := range ex.Revocations {
		if !issued[r.CA+"/"+r.Serial] {
			return nil, nil, bad("revocation of %s: not an exported certificate of CA %s", r.Serial, r.CA)
		}
	}
	for _, r := range ex.Responders {
		parent := certs[r.CA]
		c, err := x509.ParseCertificate(r.DER)
		if err != nil || parent == nil {
			return nil, nil, bad("responder certificate for CA %q: unreadable or of an unknown CA", r.CA)
		}
		if err := c.CheckSignatureFrom(parent); err != nil {
			return nil, nil, bad("responder certificate for CA %s is not issued by it: %v", r.CA, err)
		}
	}
	rep, err := verifyAudit(ctx, ex, tsaCerts)
	if err != nil {
		return nil, nil, err
	}
	sum := sha256.Sum256(archive)
	return ex, &Verified{Signer: signer, SHA256: hex.EncodeToString(sum[:]), AuditReport: rep}, nil
}

func decodeMember(files map[string][]byte, m manifest, name string, v any) error {
	b, ok := files[name]
	if !ok {
		return bad("member %s is missing", name)
	}
	h := sha256.Sum256(b)
	want, err := hex.DecodeString(m.Members[name])
	if err != nil || subtle.ConstantTimeCompare(h[:], want) != 1 {
		return bad("member %s does not match the signed manifest", name)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return bad("member %s: %v", name, err)
	}
	return nil
}

// verifyAudit recomputes the exported log and checks it against its checkpoint;
// it also requires the log to record every exported issuance and revocation.
func verifyAudit(ctx context.Context, ex *Export, tsaCerts []*x509.Certificate) (auditlog.Report, error) {
	if ex.Origin.AuditVKey == "" || len(ex.Checkpoint.Signed) == 0 {
		return auditlog.Report{}, bad("no audit verifier key or checkpoint")
	}
	mem := &memLog{}
	for i, ae := range ex.Audit {
		e := ae.entry()
		if e.Seq != int64(i) {
			return auditlog.Report{}, bad("audit entry %d found at position %d", e.Seq, i)
		}
		if err := mem.add(e); err != nil {
			return auditlog.Report{}, err
		}
	}
	cp := auditlog.Checkpoint{Size: ex.Checkpoint.Size, Signed: ex.Checkpoint.Signed, Timestamp: ex.Checkpoint.Timestamp}
	if cp.Size != int64(len(ex.Audit)) {
		return auditlog.Report{}, bad("the checkpoint covers %d entries, the archive holds %d", cp.Size, len(ex.Audit))
	}
	if root, err := tlog.TreeHash(cp.Size, &mem.hashes); err == nil {
		cp.Root = root // only a copy: Verify checks it against the signed text
	}
	mem.cps = []auditlog.Checkpoint{cp}
	rep, err := auditlog.Verify(ctx, mem, ex.Origin.AuditVKey, tsaCerts...)
	if err != nil {
		return rep, bad("audit log: %v", err)
	}
	if !rep.OK() {
		return rep, bad("the audit log does not verify: %v", rep.Problems[0])
	}
	if cp.Timestamp != nil && rep.Stamped != 1 {
		return rep, bad("the checkpoint's time-stamp does not verify")
	}
	logged := map[string]bool{}
	for _, e := range ex.Audit {
		logged[e.Action+" "+e.Subject] = true
	}
	for _, c := range ex.Certificates {
		if !logged[string(auditlog.ActionCertificateIssue)+" "+c.Serial] {
			return rep, bad("the audit log does not record the issuance of %s", c.Serial)
		}
	}
	for _, r := range ex.Revocations {
		if !logged[string(auditlog.ActionCertificateRevoke)+" "+r.Serial] {
			return rep, bad("the audit log does not record the revocation of %s", r.Serial)
		}
	}
	return rep, nil
}

func (ae AuditEntry) entry() auditlog.Entry {
	return auditlog.Entry{Seq: ae.Seq, Time: time.UnixMilli(ae.TimeMS).UTC(), Actor: ae.Actor, Action: auditlog.Action(ae.Action),
		Subject: ae.Subject, Ground: ae.Ground, Data: ae.Data}
}

// ExportEntry turns a stored entry into its exported form.
func ExportEntry(e auditlog.Entry) AuditEntry {
	return AuditEntry{Seq: e.Seq, TimeMS: e.Time.UnixMilli(), Actor: e.Actor, Action: string(e.Action), Subject: e.Subject,
		Ground: e.Ground, Data: e.Data}
}

// memLog is an imported log held in memory, as auditlog.Verify reads a store.
type memLog struct {
	entries []auditlog.Entry
	hashes  memHashes
	cps     []auditlog.Checkpoint
}

func (m *memLog) add(e auditlog.Entry) error {
	hs, err := tlog.StoredHashes(e.Seq, e.Encode(), &m.hashes)
	if err != nil {
		return bad("audit entry %d: %v", e.Seq, err)
	}
	m.entries = append(m.entries, e)
	m.hashes = append(m.hashes, hs...)
	return nil
}

// memHashes are the stored tlog hashes, in storage order.
type memHashes []tlog.Hash

// ReadHashes implements tlog.HashReader.
func (h *memHashes) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if x < 0 || x >= int64(len(*h)) {
			return nil, fmt.Errorf("hash %d not stored", x)
		}
		out[i] = (*h)[x]
	}
	return out, nil
}

func (m *memLog) ReadHashes(_ context.Context, idx []int64) ([]tlog.Hash, error) {
	return m.hashes.ReadHashes(idx)
}

func (m *memLog) AuditSize(context.Context) (int64, error) { return int64(len(m.entries)), nil }
func (m *memLog) AuditEntries(_ context.Context, from, to int64) ([]auditlog.Entry, error) {
	return m.entries[from:min(to, int64(len(m.entries)))], nil
}
func (m *memLog) Append(context.Context, ...auditlog.Entry) error {
	return errkind.New(errkind.Internal, law.L21_2, "an imported log is read only")
}
func (m *memLog) PutCheckpoint(context.Context, auditlog.Checkpoint) error {
	return errkind.New(errkind.Internal, law.L21_2, "an imported log is read only")
}
func (m *memLog) LatestCheckpoint(context.Context) (*auditlog.Checkpoint, error) {
	if len(m.cps) == 0 {
		return nil, errkind.New(errkind.NotFound, "", "no checkpoint")
	}
	return &m.cps[len(m.cps)-1], nil
}
func (m *memLog) Checkpoints(context.Context) ([]auditlog.Checkpoint, error) { return m.cps, nil }

// signatureAlgorithms maps the SignerInfo algorithms an export may use.
var signatureAlgorithms = map[string]x509.SignatureAlgorithm{
	"1.2.840.10045.4.3.2":   x509.ECDSAWithSHA256,
	"1.2.840.10045.4.3.3":   x509.ECDSAWithSHA384,
	"1.2.840.10045.4.3.4":   x509.ECDSAWithSHA512,
	"1.3.101.112":           x509.PureEd25519,
	"1.2.840.113549.1.1.11": x509.SHA256WithRSA,
	"1.2.840.113549.1.1.12": x509.SHA384WithRSA,
	"1.2.840.113549.1.1.13": x509.SHA512WithRSA,
}

// verifyCMS checks a detached CMS signature over content: one signer, whose
// certificate (named by signing-certificate-v2) chains to roots at the signing time
// and may sign (digitalSignature), the message digest and the signature itself.
func verifyCMS(sig, content []byte, roots, inter *x509.CertPool, now time.Time) (*x509.Certificate, error) {
	sd, err := signature.Parse(sig)
	if err != nil {
		return nil, bad("manifest signature: %v", err)
	}
	if !sd.Detached || len(sd.Signers) != 1 {
		return nil, bad("the manifest signature must be detached, with one signer")
	}
	si := sd.Signers[0]
	var cert *x509.Certificate
	for _, der := range sd.Certificates {
		h := sha256.Sum256(der)
		if si.SigningCertificateV2 != nil && bytes.Equal(h[:], si.SigningCertificateV2) {
			if cert, err = x509.ParseCertificate(der); err != nil {
				return nil, bad("signer certificate: %v", err)
			}
		} else if c, err := x509.ParseCertificate(der); err == nil && c.IsCA {
			inter.AddCert(c)
		}
	}
	if cert == nil {
		return nil, bad("the manifest signature does not carry its signer's certificate")
	}
	if si.DigestAlgorithm == 0 || !si.DigestAlgorithm.Available() {
		return nil, bad("unsupported digest algorithm")
	}
	h := si.DigestAlgorithm.New()
	h.Write(content)
	if !bytes.Equal(h.Sum(nil), si.MessageDigest) {
		return nil, bad("the manifest was changed after it was signed")
	}
	in := cryptobyte.String(si.SignatureAlgorithm)
	var alg cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !in.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&oid) {
		return nil, bad("unreadable signature algorithm")
	}
	x, ok := signatureAlgorithms[oid.String()]
	if !ok {
		return nil, bad("unsupported signature algorithm %s", oid)
	}
	if err := cert.CheckSignature(x, si.SignedAttrs, si.Signature); err != nil {
		return nil, bad("the manifest signature does not verify: %v", err)
	}
	at := si.SigningTime
	if at.IsZero() || at.After(now.Add(5*time.Minute)) {
		return nil, bad("the manifest signature has no plausible signing time")
	}
	if cert.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) == 0 {
		return nil, bad("the signer's certificate may not sign")
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return nil, bad("the signer's certificate does not chain to the given root: %v", err)
	}
	return cert, nil
}

// Summary is a one-line account of an archive, for logs and the CLI.
func (ex *Export) Summary() string {
	return ex.Origin.Name + " (" + ex.Origin.Identifier + "): " + strconv.Itoa(len(ex.Certificates)) + " certificates, " +
		strconv.Itoa(len(ex.Revocations)) + " revocations, " + strconv.Itoa(len(ex.Audit)) + " audit entries"
}

// TransferredIssuer is a ceding CSP's CA this CSP answers status for after a
// takeover, with the delegated responder certificate that CA issued for KeyURI.
type TransferredIssuer struct {
	Name         string // "<origin identifier>/<ca>"
	OriginID     string
	CA           string
	CADER        []byte
	ResponderDER []byte
	KeyURI       string
}

// Import is a verified archive as the successor records it.
type Import struct {
	ID      string
	At      time.Time
	SHA256  string
	Archive []byte // kept whole: the evidence the rows come from
	Export  *Export
	Issuers []TransferredIssuer
}

// TransferredName is the local name of a ceding CSP's CA.
func TransferredName(originID, ca string) string { return originID + "/" + ca }

var _ auditlog.Store = (*memLog)(nil)
