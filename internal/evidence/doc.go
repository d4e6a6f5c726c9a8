// Package evidence makes and checks evidence bundles: ASiC-E containers (ETSI
// EN 319 162-1) holding signed documents with everything a court needs to check
// them without the CSP's servers — the signatures, the certificates, CRLs and
// OCSP responses, the time-stamp tokens, the audit-log entries that recorded
// the documents in the archive with their inclusion proofs in a signed and
// time-stamped checkpoint (L-417-1), and a readable report (PDF, in Arabic,
// French or English, and report.json) of what each piece proves under which
// article (L-417-1, L-417-2, L-417-3, L-425, L-440).
//
// The container is ASiC-E with CAdES: META-INF/ASiCManifest.xml lists every
// data object with its SHA-256 digest and META-INF/signature.p7s is a detached
// CAdES B-LTA seal over the manifest, so that a change to any entry, an entry
// added or one removed is apparent and named. Verify re-derives every
// conclusion from the data objects alone, the same way Build did, and compares
// them with report.json.
//
// Hand-written, and why: the ASiC manifest is a few fixed elements, written
// with fmt and read with encoding/xml, since no module this project may use
// makes ASiC containers; the ZIP is archive/zip, read within Limits and refusing
// unsafe or duplicate names because the bundle comes from anyone. The audit
// entry decoder and the checkpoint reader are written here, not taken from
// auditlog, so that this mechanism depends on no service; tests check they agree.
//
// This is a mechanism package: no database, no network.
package evidence
