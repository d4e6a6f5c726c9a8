package validation

import (
	"time"

	"github.com/tawthiq/tawthiq/internal/law"
)

// Indication is an ETSI EN 319 102-1 §5.1.3 main status indication.
type Indication string

// The three main indications (EN 319 102-1 Table 4).
const (
	TotalPassed   Indication = "TOTAL-PASSED"
	TotalFailed   Indication = "TOTAL-FAILED"
	Indeterminate Indication = "INDETERMINATE"
)

// SubIndication is an EN 319 102-1 Table 5 sub-indication; "" with TOTAL-PASSED.
type SubIndication string

// The sub-indications this validator gives, spelled as EN 319 102-1 Table 5 does.
const (
	FormatFailure                  SubIndication = "FORMAT_FAILURE"     // TOTAL-FAILED or INDETERMINATE
	HashFailure                    SubIndication = "HASH_FAILURE"       // TOTAL-FAILED
	SigCryptoFailure               SubIndication = "SIG_CRYPTO_FAILURE" // TOTAL-FAILED
	Revoked                        SubIndication = "REVOKED"            // TOTAL-FAILED
	NotYetValid                    SubIndication = "NOT_YET_VALID"      // TOTAL-FAILED (§5.6.2.4)
	NoSigningCertificateFound      SubIndication = "NO_SIGNING_CERTIFICATE_FOUND"
	NoCertificateChainFound        SubIndication = "NO_CERTIFICATE_CHAIN_FOUND"
	CertificateChainGeneralFailure SubIndication = "CERTIFICATE_CHAIN_GENERAL_FAILURE"
	RevokedNoPOE                   SubIndication = "REVOKED_NO_POE"
	RevokedCANoPOE                 SubIndication = "REVOKED_CA_NO_POE"
	OutOfBoundsNoPOE               SubIndication = "OUT_OF_BOUNDS_NO_POE"
	TryLater                       SubIndication = "TRY_LATER"
	SignedDataNotFound             SubIndication = "SIGNED_DATA_NOT_FOUND"
	TimestampOrderFailure          SubIndication = "TIMESTAMP_ORDER_FAILURE" // INDETERMINATE: a content time-stamp after a signature time-stamp
	Expired                        SubIndication = "EXPIRED"                 // INDETERMINATE (§5.3.4): a content time-stamp after the certificate expired
)

// TimeSource says where the proven time comes from.
type TimeSource string

const (
	// ByTimeStamp: a valid signature-time-stamp from a TSA that chains to Roots (L-425).
	ByTimeStamp TimeSource = "signature-time-stamp"
	// ByArchiveTimeStamp: no signature time-stamp proves an earlier time, but a
	// valid archive-time-stamp-v3 proves the signature existed at its genTime.
	ByArchiveTimeStamp TimeSource = "archive-time-stamp"
	// ByDocumentTimeStamp: no time-stamp in the signature proves an earlier
	// time, but a valid PDF document time-stamp over the signed revision
	// proves the signature existed at its genTime (EN 319 102-1 §5.6.2.4).
	ByDocumentTimeStamp TimeSource = "document-time-stamp"
	// ByValidationTime: no usable time-stamp; the proof is only that the signature
	// exists at the validation time. The signing-time attribute is only claimed.
	ByValidationTime TimeSource = "validation-time"
)

// Report is the outcome of Validate, meant to be marshalled as JSON; field names are stable.
type Report struct {
	Indication    Indication    `json:"indication"`
	SubIndication SubIndication `json:"subIndication,omitempty"`
	Reason        string        `json:"reason"`
	Level         string        `json:"level,omitempty"`    // "B-B", "B-T", "B-LT" or "B-LTA"
	Detached      bool          `json:"detached"`           // the signed content travels apart
	Signer        *Signer       `json:"signer,omitempty"`   // nil when no signing certificate was found
	Chain         []string      `json:"chain,omitempty"`    // subjects from the signer to the trust anchor
	ValidationAt  time.Time     `json:"validationTime"`     // Options.Now
	ProvenTime    time.Time     `json:"provenTime"`         // best-signature-time (EN 319 102-1 §5.6.2.4)
	ProvenBy      TimeSource    `json:"provenBy"`           // how ProvenTime is known
	ClaimedTime   *time.Time    `json:"claimedSigningTime"` // the signing-time attribute; null when absent
	TimeStamp     *TimeStamp    `json:"timeStamp,omitempty"`
	// ContentTimeStamps are the signed content-time-stamps, each validated: a
	// usable one proves the signature was made after its genTime (SignedAfter).
	ContentTimeStamps []TimeStamp `json:"contentTimeStamps,omitempty"`
	// SignedAfter is when the signature is proven made after: the latest genTime
	// of a usable content-time-stamp less its TSA's accuracy; zero when none.
	SignedAfter time.Time `json:"signedAfter,omitzero"`
	// ArchiveTimeStamps are the archive-time-stamp-v3 attributes, each validated (B-LTA).
	ArchiveTimeStamps []TimeStamp `json:"archiveTimeStamps,omitempty"`
	// RenewBefore is when the time-stamps ProvenTime rests on stop proving it (the
	// earliest ValidUntil of those no later one covers): the signature must be
	// extended (renewed, B-LTA) before then to keep its date; zero when no time-stamp proves it.
	RenewBefore  time.Time `json:"renewBefore,omitzero"`
	Qualified    bool      `json:"qualified"`
	QualifiedWhy string    `json:"qualifiedReason"`
	// TrustService is what the trusted lists say of the CA that decided
	// Qualified, at the proven time; null when no list was consulted.
	TrustService *TrustService `json:"trustService,omitempty"`
	Warnings     []string      `json:"warnings,omitempty"`
	Conclusions  []Conclusion  `json:"conclusions"`
}

// Signer is the signer's identity as its certificate certifies it (L-417-2).
type Signer struct {
	Subject                string    `json:"subject"`
	Serial                 string    `json:"certificateSerial"` // hexadecimal
	Issuer                 string    `json:"issuer"`
	CommonName             string    `json:"commonName,omitempty"`
	GivenName              string    `json:"givenName,omitempty"`
	Surname                string    `json:"surname,omitempty"`
	Pseudonym              string    `json:"pseudonym,omitempty"`
	SerialNumber           string    `json:"serialNumber,omitempty"` // the subject's identifier, e.g. IDCMA-...
	Organization           string    `json:"organization,omitempty"`
	OrganizationIdentifier string    `json:"organizationIdentifier,omitempty"`
	Country                string    `json:"country,omitempty"`
	NotBefore              time.Time `json:"notBefore"`
	NotAfter               time.Time `json:"notAfter"`
}

// TimeStamp describes a time-stamp (the signature-time-stamp that was used, or
// why none was; an archive or document time-stamp) and whether it proves anything.
type TimeStamp struct {
	GenTime time.Time `json:"genTime"`
	TSA     string    `json:"tsa"` // the TSA certificate's subject
	// Trusted: the TSA chains to Roots at genTime, and its path is valid and
	// not revoked at JudgedAt (EN 319 102-1 §5.6.3).
	Trusted bool `json:"trusted"`
	// JudgedAt is the proof of existence of the token its TSA's path is judged
	// at: the genTime of the earliest usable later time-stamp that covers it,
	// else the validation time; zero when the token failed before.
	JudgedAt  time.Time `json:"judgedAt,omitzero"`
	JudgedWhy string    `json:"judgedReason,omitempty"` // why JudgedAt, in plain words
	// ValidUntil is the earliest notAfter on its TSA's path, when trusted: judged
	// at the validation time, it proves nothing after it unless a later time-stamp covers it.
	ValidUntil time.Time `json:"validUntil,omitzero"`
	// Qualified: trusted, carries the EN 319 422 esi4-qtstStatement-1 statement
	// and, when trusted lists are given, its TSA was a granted TSA/QTST at genTime.
	Qualified    bool          `json:"qualified"`
	QualifiedWhy string        `json:"qualifiedReason,omitempty"`
	TrustService *TrustService `json:"trustService,omitempty"` // the lists' answer on the TSA; null when none was consulted
	Ignored      string        `json:"ignored,omitempty"`
	kind         string        // kindContent, kindSignature, kindArchive or kindDocument: how JudgedWhy names it
	accuracy     time.Duration // the TSA's stated accuracy; unstated, defaultAccuracy
	uncovered    bool          // judged at the validation time: no later time-stamp covers it
}

// Conclusion is one legal conclusion and the rule behind it.
type Conclusion struct {
	Rule  law.ID `json:"rule"`
	Holds bool   `json:"holds"`
	Why   string `json:"why"`
}
