// Package pdf reads PDF files for signature validation and writes the
// incremental updates that sign them (ISO 32000-1 §7.5.6, §12.8; ETSI EN 319
// 142-1 PAdES).
//
// Reading the object graph (classic cross-reference tables, cross-reference
// streams, object streams, filters) is pdfcpu's. Hand-written here, because
// pdfcpu does not do it (LIBRARIES.md): the walk of the cross-reference chain
// that tells revisions apart, the ByteRange/Contents checks a validator must
// make byte for byte, the comparison of a signed revision with the current
// file, and the writer. The writer only ever appends: the bytes it is given
// stay byte-for-byte intact, which is what keeps earlier signatures valid
// (L-9). It writes a classic xref section after a classic or hybrid file and
// an xref stream after a file whose last section is a stream.
//
// The package knows PDF only: no CMS, no certificates, no network.
package pdf
