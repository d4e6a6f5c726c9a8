package signature

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/signature/cms"
)

// ExtendCAdES raises the CAdES signature sig (a DER ContentInfo with one
// SignerInfo) to target; content is the signed document when sig is detached,
// nil otherwise. B-T adds a signature-time-stamp, B-LT the certificates and
// CRLs or OCSP responses of the signer's and every TSA's path, B-LTA an
// archive-time-stamp-v3 with its ats-hash-index-v3 (EN 319 122-1 §5.5.3). On
// a B-LTA signature, B-LTA renews: the last archive time-stamp's TSA gets its
// validation data (outside that stamp's hash index, which is what the index
// allows), then a new archive time-stamp covers everything. The signed
// attributes and the signature value never change; the result is read back
// and verified before it is returned (STYLE #8).
func ExtendCAdES(ctx context.Context, sig, content []byte, target Level, opts ExtendOptions) ([]byte, error) {
	if err := checkTarget(target, BB); err != nil {
		return nil, err
	}
	sd, err := Parse(sig)
	if err != nil {
		e := errkind.Wrap(errkind.Invalid, err, "not a CMS signature this extender reads: %v", err)
		e.Rule = law.L417_2
		return nil, e
	}
	switch {
	case len(sd.Signers) == 0:
		return nil, errNoSignature
	case len(sd.Signers) > 1:
		return nil, errkind.New(errkind.Invalid, law.LInternal, "%d signers: this extender handles exactly one", len(sd.Signers))
	case sd.Detached && content == nil:
		return nil, errkind.New(errkind.Invalid, law.L417_2, "a detached signature: the signed document is needed to extend it")
	}
	si := &sd.Signers[0]
	signed := signedContent(sd, content)
	cert, err := checkIntact(sd, si, signed)
	if err != nil {
		return nil, err
	}
	current := cadesLevel(sd, si)
	if err := checkTarget(target, current); err != nil {
		return nil, err
	}
	if len(si.ArchiveTimeStamps) > 0 {
		if err := checkArchiveTimeStamps(sd, si, signed); err != nil {
			return nil, errkind.New(errkind.Invalid, law.L9, "the signature was changed after its archive time-stamp (%v): it is not extended", err)
		}
	}
	if target == current && target != BLTA {
		return bytes.Clone(sig), nil
	}
	e := &cadesExtension{sd: sd, si: si, certs: clone(sd.CertificateChoices), revs: clone(sd.RevocationChoices), unsigned: clone(si.UnsignedAttrs)}
	tokens := clone(si.TimeStampTokens)
	if current < BT {
		if err := needStamper(opts, target); err != nil {
			return nil, err
		}
		attr, token, _, err := timeStampAttribute(ctx, opts.Stamper, si.Signature, cert)
		if err != nil {
			return nil, err
		}
		e.unsigned, tokens = append(e.unsigned, attr), append(tokens, token)
	}
	if target >= BLT {
		if err := needRevocation(opts, target); err != nil {
			return nil, err
		}
		if err := e.gather(ctx, opts, cert, tokens); err != nil {
			return nil, err
		}
	}
	if target == BLTA {
		if err := needStamper(opts, target); err != nil {
			return nil, err
		}
		if err := e.archive(ctx, opts.Stamper, signed); err != nil {
			return nil, err
		}
	}
	out, err := e.assemble(target == BLTA)
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "assembling the extended signature")
	}
	if err := checkExtended(out, sd, signed, target); err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "the extended signature does not verify (L-6)")
	}
	return out, nil
}

// cadesLevel names the baseline level whose structures sd carries, as the validator does.
func cadesLevel(sd *SignedData, si *SignerInfo) Level {
	switch {
	case len(si.TimeStampTokens) == 0:
		return BB
	case len(sd.CRLs)+len(sd.OCSPs) == 0:
		return BT
	case len(si.ArchiveTimeStamps) == 0:
		return BLT
	}
	return BLTA
}

// cadesExtension is the SignedData being extended: what it carried, as
// encoded, plus what is added.
type cadesExtension struct {
	sd                    *SignedData
	si                    *SignerInfo
	certs, revs, unsigned [][]byte // CertificateChoices, RevocationInfoChoices, Attributes
}

func clone(s [][]byte) [][]byte { return append([][]byte(nil), s...) }

// gather adds the validation data of the signer's path, judged at the
// earliest signature time-stamp, and of the TSA of every content, signature
// and archive time-stamp (tokens are the signature time-stamps, old and new).
func (e *cadesExtension) gather(ctx context.Context, opts ExtendOptions, cert *x509.Certificate, tokens [][]byte) error {
	sigStamps, err := stampTimes(tokens)
	if err != nil {
		return err
	}
	archives := make([][]byte, 0, len(e.si.ArchiveTimeStamps))
	for _, a := range e.si.ArchiveTimeStamps {
		archives = append(archives, a.Token)
	}
	archiveStamps, err := stampTimes(archives)
	if err != nil {
		return err
	}
	contentStamps, err := stampTimes(e.si.ContentTimeStamps)
	if err != nil {
		return err
	}
	have := ValidationData{Certs: e.sd.Certificates, CRLs: e.sd.CRLs, OCSPs: e.sd.OCSPs}
	var add ValidationData
	if err := gatherStamps(ctx, opts, &add, have, certsOf(e.sd.Certificates), cert, earliest(sigStamps),
		slices.Concat(sigStamps, archiveStamps, contentStamps)); err != nil {
		return err
	}
	for _, d := range add.Certs {
		e.certs = appendNew(e.certs, d)
	}
	e.revs = appendNew(e.revs, add.CRLs...)
	for _, d := range add.OCSPs {
		ri, err := cms.OCSPRevocationInfo(d)
		if err != nil {
			return errkind.Wrap(errkind.Internal, err, "encoding an OCSP response")
		}
		e.revs = appendNew(e.revs, ri)
	}
	return nil
}

// archive adds an archive-time-stamp-v3 over the signature as extended so far:
// its hash index names every certificate, revocation datum and unsigned
// attribute value the SignedData now carries.
func (e *cadesExtension) archive(ctx context.Context, s Stamper, signed []byte) error {
	draft, err := e.assemble(true)
	if err != nil {
		return errkind.Wrap(errkind.Internal, err, "assembling the signature to archive")
	}
	sd, err := Parse(draft)
	if err != nil || len(sd.Signers) != 1 {
		return errkind.Wrap(errkind.Internal, err, "re-reading the signature to archive")
	}
	si := &sd.Signers[0]
	index, err := hashIndex(crypto.SHA256, sd.CertificateChoices, sd.RevocationChoices, si.UnsignedAttrValues)
	if err != nil {
		return errkind.Wrap(errkind.Internal, err, "encoding ats-hash-index-v3")
	}
	input, err := ArchiveTimeStampInput(sd, si, index, crypto.SHA256, signed)
	if err != nil {
		return errkind.Wrap(errkind.Internal, err, "computing the archive time-stamp input")
	}
	attr, err := stampArchive(ctx, s, input, index)
	if err != nil {
		return err
	}
	e.unsigned = append(e.unsigned, attr)
	return nil
}

// assemble writes the ContentInfo: version, digest algorithms (SHA-256 joins
// them when archived) and encapContentInfo as read, the certificates and crls
// as extended, the SignerInfo's fields as read and its unsigned attributes as
// extended.
func (e *cadesExtension) assemble(archived bool) ([]byte, error) {
	algs := clone(e.sd.digestAlgDERs)
	if archived && !hasDigest(algs, crypto.SHA256) {
		algs = append(algs, digestAlgorithm(crypto.SHA256))
	}
	return signedData(e.sd.versionDER, e.sd.encapDER, algs, e.certs, e.revs, e.si.ArchiveFields, e.unsigned)
}

// hasDigest reports whether a digest AlgorithmIdentifier of h is among algs.
func hasDigest(algs [][]byte, h crypto.Hash) bool {
	for _, a := range algs {
		in := cryptobyte.String(a)
		var body cryptobyte.String
		if in.ReadASN1(&body, cbasn1.SEQUENCE) && hashOf(body) == h {
			return true
		}
	}
	return false
}

// checkExtended reads back the extended signature as a relying party would:
// the same signed content, signer fields and signature value as before,
// everything it carried still there, the signature verifying, every
// signature time-stamp stamping the signature value, every archive
// time-stamp holding, and the level asked for.
func checkExtended(out []byte, before *SignedData, signed []byte, target Level) error {
	sd, err := Parse(out)
	if err != nil {
		return err
	}
	if len(sd.Signers) != 1 || sd.Detached != before.Detached || !bytes.Equal(sd.encapDER, before.encapDER) {
		return errors.New("the SignedData is not the one extended")
	}
	si, old := &sd.Signers[0], &before.Signers[0]
	if !bytes.Equal(si.ArchiveFields, old.ArchiveFields) {
		return errors.New("the signed attributes or the signature value changed")
	}
	for _, kept := range []struct{ was, is [][]byte }{{before.CertificateChoices, sd.CertificateChoices},
		{before.RevocationChoices, sd.RevocationChoices}, {old.UnsignedAttrs, si.UnsignedAttrs}} {
		for _, d := range kept.was {
			if !containsDER(kept.is, d) {
				return errors.New("an element the signature carried was lost")
			}
		}
	}
	if _, err := checkIntact(sd, si, signed); err != nil {
		return err
	}
	for _, tok := range si.TimeStampTokens {
		t, err := stampTimes([][]byte{tok})
		if err != nil {
			return err
		}
		if t[0].HashAlg == 0 || !bytes.Equal(t[0].Imprint, digest(t[0].HashAlg, si.Signature)) {
			return errors.New("a signature-time-stamp does not stamp the signature value")
		}
	}
	if len(si.ArchiveTimeStamps) > 0 {
		if err := checkArchiveTimeStamps(sd, si, signed); err != nil {
			return err
		}
	}
	if got := cadesLevel(sd, si); got != target {
		return fmt.Errorf("the extended signature is %v, not %v", got, target)
	}
	return nil
}
