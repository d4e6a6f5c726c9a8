package render

import (
	"time"

	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/validation"
)

// The reports are built by hand, as the validator would write them, so that these
// tests do not depend on a PKI.

var (
	signedAt    = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	validatedAt = time.Date(2026, 5, 2, 16, 0, 0, 0, time.UTC)
	renewBy     = time.Date(2031, 3, 14, 0, 0, 0, 0, time.UTC) // the TSA path's end
)

// xssName is a subject name that tries to inject markup into the HTML page.
const xssName = `Amina <script>alert("x")</script> El Idrissi`

func reportQualified() validation.Report {
	claimed := signedAt.Add(-2 * time.Second)
	return validation.Report{
		Indication: validation.TotalPassed,
		Reason:     "the signature is intact, its signer's certificate chains to a trusted root and was valid and not revoked at the proven time",
		Level:      "B-T",
		Signer: &validation.Signer{
			Subject:      "CN=" + xssName + ",SERIALNUMBER=IDCMA-BE123456,C=MA",
			Serial:       "4f1c2a9e77",
			Issuer:       "CN=Tawthiq Issuing CA 1,O=Tawthiq,C=MA",
			CommonName:   xssName,
			GivenName:    "Amina",
			Surname:      "El Idrissi",
			SerialNumber: "IDCMA-BE123456",
			Country:      "MA",
			NotBefore:    time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
			NotAfter:     time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC),
		},
		Chain:        []string{"CN=" + xssName + ",C=MA", "CN=Tawthiq Issuing CA 1,O=Tawthiq,C=MA", "CN=Tawthiq Root CA,O=Tawthiq,C=MA"},
		ValidationAt: validatedAt,
		ProvenTime:   signedAt,
		ProvenBy:     validation.ByTimeStamp,
		ClaimedTime:  &claimed,
		TimeStamp: &validation.TimeStamp{
			GenTime: signedAt, TSA: "CN=Tawthiq TSA 1,O=Tawthiq,C=MA", Trusted: true, Qualified: true,
			JudgedAt: validatedAt, JudgedWhy: "no later usable time-stamp covers it: only the validation time proves it existed",
			ValidUntil: renewBy,
		},
		RenewBefore:  renewBy,
		Qualified:    true,
		QualifiedWhy: "qualified certificate for an electronic signature (QcType esign) issued by an approved CSP per configured roots",
		Conclusions: []validation.Conclusion{
			{Rule: law.L417_2, Holds: true, Why: "the signature is intact and bound by signing-certificate-v2 to the certificate of Amina El Idrissi"},
			{Rule: law.L20, Holds: true, Why: "qualified certificate for an electronic signature (QcType esign)"},
			{Rule: law.L417_3, Holds: true, Why: "qualified signature: presumed reliable; with a qualified time-stamp it has the force of a certified signature with a certain date"},
			{Rule: law.L425, Holds: true, Why: "the date 2026-03-14T09:26:53Z is proven by a signature time-stamp"},
		},
	}
}

func reportHashFailure() validation.Report {
	return validation.Report{
		Indication:    validation.TotalFailed,
		SubIndication: validation.HashFailure,
		Reason:        "the message-digest attribute does not match the content",
		Level:         "B-B",
		ValidationAt:  validatedAt,
		ProvenTime:    validatedAt,
		ProvenBy:      validation.ByValidationTime,
		QualifiedWhy:  "the signature does not validate",
		Conclusions: []validation.Conclusion{
			{Rule: law.L417_2, Holds: false, Why: "the signature does not validate (TOTAL-FAILED/HASH_FAILURE): it identifies no one"},
			{Rule: law.L20, Holds: false, Why: "the signature does not validate"},
			{Rule: law.L417_3, Holds: false, Why: "not a qualified (secured) signature: no presumption of reliability"},
			{Rule: law.L425, Holds: false, Why: "the signature does not validate: it proves no date"},
		},
	}
}

func reportRevokedNoPOE() validation.Report {
	return validation.Report{
		Indication:    validation.Indeterminate,
		SubIndication: validation.RevokedNoPOE,
		Reason:        "the signer's certificate was revoked at 2026-04-01T00:00:00Z and no proof of existence predates it",
		Level:         "B-B",
		Signer: &validation.Signer{
			Subject:      "CN=محمد العلوي,SERIALNUMBER=IDCMA-A998877,C=MA",
			Serial:       "0a0b0c",
			Issuer:       "CN=Tawthiq Issuing CA 1,O=Tawthiq,C=MA",
			CommonName:   "محمد العلوي",
			SerialNumber: "IDCMA-A998877",
			Country:      "MA",
			NotBefore:    time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC),
			NotAfter:     time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC),
		},
		ValidationAt: validatedAt,
		ProvenTime:   validatedAt,
		ProvenBy:     validation.ByValidationTime,
		TimeStamp:    &validation.TimeStamp{TSA: "CN=Unknown TSA", Ignored: "the TSA does not chain to a trusted root"},
		QualifiedWhy: "the signature does not validate",
		Warnings: []string{
			"signature-time-stamp 1 ignored: the TSA does not chain to a trusted root",
			"the signer's certificate was revoked at 2026-04-01T00:00:00Z (keyCompromise)",
		},
		Conclusions: []validation.Conclusion{
			{Rule: law.L417_2, Holds: false, Why: "the signature does not validate (INDETERMINATE/REVOKED_NO_POE): it identifies no one"},
			{Rule: law.L20, Holds: false, Why: "the signature does not validate"},
			{Rule: law.L417_3, Holds: false, Why: "not a qualified (secured) signature: no presumption of reliability"},
			{Rule: law.L425, Holds: false, Why: "the signature does not validate: it proves no date"},
		},
	}
}

func sampleDocument() Document {
	return Document{
		Name:       "contrat-bail-2026.pdf",
		SHA256:     "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		Kind:       "PAdES",
		Signatures: []validation.Report{reportQualified(), reportHashFailure(), reportRevokedNoPOE()},
		Notes:      []string{"the document was changed after the second signature"},
		TimeStamps: []DocTimeStamp{{Field: "DocTimeStamp7", GenTime: time.Date(2026, 4, 2, 8, 0, 5, 0, time.UTC), TSA: "CN=Tawthiq TSA"}},
	}
}
