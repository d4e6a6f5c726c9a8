package signature

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"time"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/signature/pdf"
)

// PAdESOptions says how SignPAdES signs a PDF (ETSI EN 319 142-1).
type PAdESOptions struct {
	Level      Level            // B-B, B-T, B-LT or B-LTA
	Stamper    Stamper          // required from B-T: signature and document time-stamps
	Revocation RevocationSource // required from B-LT: the data the DSS keeps
	// CACerts are further CA certificates (the root, the TSA's issuers) that
	// complete the signer's and the TSA's paths for the DSS.
	CACerts []*x509.Certificate
	Now     func() time.Time // the claimed signing time, /M; nil is time.Now
	// Reason, Location and Name go in the signature dictionary as the signer states them.
	Reason, Location, Name string
	// ContentTimeStamp stamps the signed bytes before signing (the CAdES
	// content-time-stamp, which EN 319 142-1 baseline signatures may carry):
	// the signature was made after it.
	ContentTimeStamp bool
}

// tokenReserve is room for an RFC 3161 token: TSTInfo, the TSA's certificate
// and signature, with margin for an RSA TSA.
const tokenReserve = 6144

// SignPAdES signs pdf with signer, whose certificate is chain[0], as a PAdES
// baseline signature at opts.Level. Each level is one incremental update
// appended to the given bytes, which stay byte-for-byte intact (L-9): the
// signature itself (B-B, B-T), then the DSS (B-LT), then a document
// time-stamp (B-LTA). Earlier signatures of the file stay valid.
func SignPAdES(ctx context.Context, doc []byte, signer crypto.Signer, chain []*x509.Certificate, opts PAdESOptions) ([]byte, error) {
	if err := checkPAdESOptions(signer, chain, opts); err != nil {
		return nil, err
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	signingTime := now().UTC().Truncate(time.Second) // a PDF date has no fractions
	if err := usableAt(chain[0], signingTime); err != nil {
		return nil, err
	}
	if opts.Level >= BLT {
		// L-25: a revoked key may not sign; ask before the key is used.
		if err := CheckNotRevoked(ctx, path(chain[0], append(append([]*x509.Certificate{}, chain...), opts.CACerts...)), opts.Revocation, signingTime); err != nil {
			return nil, err
		}
	}
	out, cmsDER, err := signPDF(ctx, doc, signer, chain, opts, signingTime)
	if err != nil {
		return nil, err
	}
	if opts.Level >= BLT {
		if out, err = addDSS(ctx, out, cmsDER, chain, opts); err != nil {
			return nil, err
		}
	}
	if opts.Level == BLTA {
		if out, _, err = addDocTimeStamp(ctx, out, opts.Stamper); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func checkPAdESOptions(signer crypto.Signer, chain []*x509.Certificate, opts PAdESOptions) error {
	switch {
	case signer == nil || len(chain) == 0 || chain[0] == nil:
		return errkind.New(errkind.Invalid, law.L417_2, "a signature needs the signer's key and certificate")
	case opts.Level < BB || opts.Level > BLTA:
		return errkind.New(errkind.Invalid, law.LInternal, "unknown PAdES level %v", opts.Level)
	case opts.Level >= BT && opts.Stamper == nil:
		return errkind.New(errkind.Invalid, law.L417_3, "a %v signature needs a time-stamping authority", opts.Level)
	case opts.ContentTimeStamp && opts.Stamper == nil:
		return errkind.New(errkind.Invalid, law.L425, "a content time-stamp needs a time-stamping authority")
	case opts.Level >= BLT && opts.Revocation == nil:
		return errkind.New(errkind.Invalid, law.L25, "a %v signature needs a revocation source", opts.Level)
	}
	return nil
}

// openPDF reads doc, or says why it cannot be signed.
func openPDF(doc []byte) (*pdf.File, error) {
	f, err := pdf.Open(doc)
	if err != nil {
		return nil, errkind.Wrap(errkind.Invalid, err, "the document is not a PDF this signer can update: %v", err)
	}
	return f, nil
}

// signPDF adds the signature field and its CMS (B-B or B-T) in one update.
func signPDF(ctx context.Context, doc []byte, signer crypto.Signer, chain []*x509.Certificate, opts PAdESOptions, at time.Time) ([]byte, []byte, error) {
	f, err := openPDF(doc)
	if err != nil {
		return nil, nil, err
	}
	level := BB
	if opts.Level >= BT {
		level = BT
	}
	reserve := 2048
	for _, c := range chain {
		reserve += len(c.Raw)
	}
	if level == BT {
		reserve += tokenReserve
	}
	if opts.ContentTimeStamp {
		reserve += tokenReserve
	}
	p, err := f.PrepareSignature(pdf.SigField{SubFilter: pdf.SubFilterCAdES, Time: at,
		Reason: opts.Reason, Location: opts.Location, Name: opts.Name, Reserve: reserve})
	if err != nil {
		return nil, nil, errkind.Wrap(errkind.Invalid, err, "the PDF cannot take a signature field: %v", err)
	}
	// L-9: what is signed is exactly the prepared bytes, minus the /Contents gap.
	signed := p.SignedBytes()
	cmsDER, err := SignCAdES(ctx, signed, signer, chain, Options{Detached: true, Level: level, Stamper: opts.Stamper,
		Now: func() time.Time { return at }, OmitSigningTime: true, ContentTimeStamp: opts.ContentTimeStamp})
	if err != nil {
		return nil, nil, err
	}
	out, err := p.Embed(cmsDER)
	if err != nil {
		return nil, nil, errkind.Wrap(errkind.Internal, err, "embedding the signature")
	}
	if err := checkEmbedded(out, p.ByteRange(), signed, cmsDER); err != nil {
		return nil, nil, err
	}
	return out, cmsDER, nil
}

// checkEmbedded re-reads the file as a validator would (STYLE #8): the new
// signature's byte range is sound and covers exactly what was signed.
func checkEmbedded(out []byte, br [4]int64, signed, der []byte) error {
	f, err := pdf.Open(out)
	if err != nil {
		return errkind.Wrap(errkind.Internal, err, "the signed PDF does not read back")
	}
	sigs, err := f.Signatures()
	if err != nil {
		return errkind.Wrap(errkind.Internal, err, "the signed PDF's signatures do not read back")
	}
	for _, s := range sigs {
		if len(s.ByteRange) != 4 || [4]int64(s.ByteRange) != br {
			continue
		}
		if err := f.CheckByteRange(s); err != nil {
			return errkind.Wrap(errkind.Internal, err, "the produced byte range is unsound")
		}
		if a, b := sha256.Sum256(f.SignedBytes(s)), sha256.Sum256(signed); a != b || !bytes.Equal(pdf.DER(s.Contents), der) {
			return errkind.New(errkind.Internal, law.L9, "the produced PDF does not hold what was signed")
		}
		return nil
	}
	return errkind.New(errkind.Internal, law.L9, "the produced signature is not found in the PDF")
}

// addDSS gathers the certificates and revocation data of the signer's path,
// judged at the signature time-stamp's genTime, and of the TSA's of the
// signature and content time-stamps, and writes them to the document security
// store (EN 319 142-1 §5.4.2).
func addDSS(ctx context.Context, doc, cmsDER []byte, chain []*x509.Certificate, opts PAdESOptions) ([]byte, error) {
	sd, err := Parse(cmsDER)
	if err != nil || len(sd.Signers) != 1 || len(sd.Signers[0].TimeStampTokens) == 0 {
		return nil, errkind.New(errkind.Internal, law.LInternal, "re-reading the signature for its time-stamp")
	}
	stamps, err := stampTimes(append([][]byte{sd.Signers[0].TimeStampTokens[0]}, sd.Signers[0].ContentTimeStamps...))
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "re-reading the time-stamps of the signature")
	}
	var add ValidationData
	if err := gatherStamps(ctx, ExtendOptions{Revocation: opts.Revocation, CACerts: opts.CACerts}, &add, ValidationData{},
		chain, chain[0], stamps[0].GenTime, stamps); err != nil {
		return nil, err
	}
	dss := pdf.DSS{Certs: add.Certs, CRLs: add.CRLs, OCSPs: add.OCSPs}
	f, err := openPDF(doc)
	if err != nil {
		return nil, err
	}
	out, err := f.AddDSS(dss)
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "writing the DSS")
	}
	return out, nil
}

func appendNew(s [][]byte, add ...[]byte) [][]byte {
	for _, d := range add {
		if !containsDER(s, d) {
			s = append(s, d)
		}
	}
	return s
}

// addDocTimeStamp adds a document time-stamp (EN 319 142-1 §5.5, B-LTA): an
// RFC 3161 token over SHA-256 of its own byte range. It returns the file and
// the token's genTime.
func addDocTimeStamp(ctx context.Context, doc []byte, s Stamper) ([]byte, time.Time, error) {
	f, err := openPDF(doc)
	if err != nil {
		return nil, time.Time{}, err
	}
	p, err := f.PrepareSignature(pdf.SigField{DocTimeStamp: true, SubFilter: pdf.SubFilterRFC3161, Reserve: tokenReserve})
	if err != nil {
		return nil, time.Time{}, errkind.Wrap(errkind.Internal, err, "preparing the document time-stamp")
	}
	signed := p.SignedBytes()
	digest := sha256.Sum256(signed)
	token, err := s.StampDigest(ctx, digest)
	if err != nil {
		e := errkind.Wrap(errkind.Unavailable, err, "the time-stamping authority did not stamp the document")
		e.Rule = errkind.As(err).Rule
		return nil, time.Time{}, e
	}
	genTime, err := checkToken(token, digest[:])
	if err != nil {
		return nil, time.Time{}, errkind.Wrap(errkind.Unavailable, err, "the time-stamping authority returned an unusable token")
	}
	out, err := p.Embed(token)
	if err != nil {
		return nil, time.Time{}, errkind.Wrap(errkind.Internal, err, "embedding the document time-stamp")
	}
	if err := checkEmbedded(out, p.ByteRange(), signed, token); err != nil {
		return nil, time.Time{}, err
	}
	return out, genTime, nil
}
