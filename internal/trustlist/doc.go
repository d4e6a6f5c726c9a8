// Package trustlist is the national authority's trusted list (L-15, L-20, L-22):
// the register of approved CSPs and recognised foreign lists as an ETSI TS 119 612
// TrustServiceStatusList (namespace http://uri.etsi.org/02231/v2#, TSL version 6),
// signed with an enveloped XAdES-B-B signature, and the validator's side of it:
// loading our list and foreign lists, checking their signatures against the
// configured authority certificates, and deciding whether a CA or TSA was approved
// at a given time from the status history, not from today's status only.
//
// What is hand-written, and why: parsing and canonicalisation come from
// beevik/etree and goxmldsig's exclusive c14n, but the XML-DSig/XAdES layer is ours.
// goxmldsig writes ECDSA signatures as DER, which XML-DSig (RFC 4051) and xmlsec1
// refuse (they want r‖s), makes one Reference only (XAdES needs a second one over
// SignedProperties) and accepts more shapes than a trusted list may have. The
// verifier here accepts exactly one shape: one ds:Signature, last child of the
// root, over the whole document (URI "" with the enveloped and exclusive c14n
// transforms) and over its own xades:SignedProperties, signed by one of the
// authority certificates the caller configured; the list is then read from the
// very tree whose digests were checked, so what is used is what was signed.
//
// The package is a mechanism: no database, no network. Fetching lists from their
// TSLLocation, keeping the register and serving GET /trustlist.xml are the app's.
package trustlist
