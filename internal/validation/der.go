package validation

import (
	"encoding/asn1"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/tawthiq/tawthiq/internal/issuance"
)

// oidQualifiedTimestamp is esi4-qtstStatement-1 (ETSI EN 319 422 §9.1): the TSA
// states, in a qcStatements extension of TSTInfo, that the token is a qualified
// electronic time-stamp.
var oidQualifiedTimestamp = asn1.ObjectIdentifier{0, 4, 0, 19422, 1, 1}

var (
	tagExplicit0 = cbasn1.Tag(0).Constructed().ContextSpecific()
	tagImplicit1 = cbasn1.Tag(1).Constructed().ContextSpecific()
)

// qualifiedToken reports whether a TimeStampToken's TSTInfo carries the
// qualified-timestamp statement in its qcStatements extension (RFC 3161 §2.4.2,
// EN 319 422 §9.1). The
// token was checked by timestamp.CheckToken before.
func qualifiedToken(token []byte) bool {
	in := cryptobyte.String(token)
	var ci, explicit, sd, eci, eExplicit, eContent, digestAlgs cryptobyte.String
	var version int64
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) || !ci.SkipASN1(cbasn1.OBJECT_IDENTIFIER) ||
		!ci.ReadASN1(&explicit, tagExplicit0) || !explicit.ReadASN1(&sd, cbasn1.SEQUENCE) ||
		!sd.ReadASN1Integer(&version) || !sd.ReadASN1(&digestAlgs, cbasn1.SET) || !sd.ReadASN1(&eci, cbasn1.SEQUENCE) ||
		!eci.SkipASN1(cbasn1.OBJECT_IDENTIFIER) || !eci.ReadASN1(&eExplicit, tagExplicit0) ||
		!eExplicit.ReadASN1(&eContent, cbasn1.OCTET_STRING) {
		return false
	}
	var tst, exts cryptobyte.String
	var hasExts bool
	if !eContent.ReadASN1(&tst, cbasn1.SEQUENCE) ||
		!tst.SkipASN1(cbasn1.INTEGER) || !tst.SkipASN1(cbasn1.OBJECT_IDENTIFIER) || // version, policy
		!tst.SkipASN1(cbasn1.SEQUENCE) || !tst.SkipASN1(cbasn1.INTEGER) || // messageImprint, serialNumber
		!tst.SkipASN1(cbasn1.GeneralizedTime) ||
		!tst.SkipOptionalASN1(cbasn1.SEQUENCE) || !tst.SkipOptionalASN1(cbasn1.BOOLEAN) || // accuracy, ordering
		!tst.SkipOptionalASN1(cbasn1.INTEGER) || !tst.SkipOptionalASN1(tagExplicit0) || // nonce, tsa
		!tst.ReadOptionalASN1(&exts, &hasExts, tagImplicit1) || !hasExts {
		return false
	}
	for !exts.Empty() {
		var ext, value, statements cryptobyte.String
		var id asn1.ObjectIdentifier
		if !exts.ReadASN1(&ext, cbasn1.SEQUENCE) || !ext.ReadASN1ObjectIdentifier(&id) ||
			!ext.SkipOptionalASN1(cbasn1.BOOLEAN) || !ext.ReadASN1(&value, cbasn1.OCTET_STRING) {
			return false
		}
		if !id.Equal(issuance.OIDQCStatements) || !value.ReadASN1(&statements, cbasn1.SEQUENCE) {
			continue
		}
		for !statements.Empty() {
			var st cryptobyte.String
			var sid asn1.ObjectIdentifier
			if !statements.ReadASN1(&st, cbasn1.SEQUENCE) || !st.ReadASN1ObjectIdentifier(&sid) {
				return false
			}
			if sid.Equal(oidQualifiedTimestamp) {
				return true
			}
		}
	}
	return false
}
