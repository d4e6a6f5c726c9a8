package pdf

import (
	"bytes"
	"fmt"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// DSS is the content of a document security store (EN 319 142-1 §5.4.2):
// DER certificates, CRLs and OCSP responses.
type DSS struct {
	Certs, CRLs, OCSPs [][]byte
}

// dssKeys are the DSS arrays, in the order DSS holds them.
var dssKeys = [3]string{"Certs", "CRLs", "OCSPs"}

func (d *DSS) lists() [3]*[][]byte { return [3]*[][]byte{&d.Certs, &d.CRLs, &d.OCSPs} }

// DSS returns the document security store; an absent one is empty. Streams
// that cannot be decoded are skipped: the validator then lacks that datum.
func (f *File) DSS() (DSS, error) {
	var out DSS
	cat, err := f.catalog()
	if err != nil {
		return out, err
	}
	dss := f.dict(cat["DSS"])
	if dss == nil {
		return out, nil
	}
	for i, l := range out.lists() {
		for _, o := range f.array(dss[dssKeys[i]]) {
			if b, err := f.streamData(o); err == nil {
				*l = append(*l, b)
			}
		}
	}
	return out, nil
}

// DSSAt returns the document security store as of the revision that ends at
// end: what a document time-stamp ending there covers.
func (f *File) DSSAt(end int64) (DSS, error) {
	switch {
	case end == int64(len(f.data)):
		return f.DSS()
	case end <= 0 || end > int64(len(f.data)):
		return DSS{}, fmt.Errorf("pdf: no revision ends at %d", end)
	}
	old, err := Open(f.data[:end])
	if err != nil {
		return DSS{}, fmt.Errorf("pdf: the revision ending at %d: %w", end, err)
	}
	return old.DSS()
}

// AddDSS appends an incremental update that adds add to the document security
// store, creating it or keeping what it holds (a second signer's B-LT).
func (f *File) AddDSS(add DSS) ([]byte, error) {
	have, err := f.DSS()
	if err != nil {
		return nil, err
	}
	cat, err := f.catalog()
	if err != nil {
		return nil, err
	}
	u := f.NewUpdate()
	dssObj, hasDSS := cat["DSS"]
	dss := types.Dict{"Type": types.Name("DSS")}
	if old := f.dict(dssObj); old != nil {
		dss = old.Clone().(types.Dict)
	}
	haveLists, addLists := have.lists(), add.lists()
	for i, key := range dssKeys {
		arr := append(types.Array(nil), f.array(dss[key])...)
		for _, b := range *addLists[i] {
			if containsBytes(*haveLists[i], b) {
				continue
			}
			*haveLists[i] = append(*haveLists[i], b)
			arr = append(arr, types.IndirectRef{ObjectNumber: types.Integer(u.Add(Stream("", b)))})
		}
		if len(arr) > 0 {
			dss[key] = arr
		}
	}
	if ref, ok := dssObj.(types.IndirectRef); ok && hasDSS && f.dict(ref) != nil {
		u.Set(ref.ObjectNumber.Value(), []byte(dss.PDFString()))
	} else {
		cat = cat.Clone().(types.Dict)
		cat["DSS"] = types.IndirectRef{ObjectNumber: types.Integer(u.Add([]byte(dss.PDFString())))}
		if err := f.setCatalog(u, cat); err != nil {
			return nil, err
		}
	}
	out, _, err := u.Bytes()
	if err != nil {
		return nil, fmt.Errorf("pdf: writing the DSS: %w", err)
	}
	return out, nil
}

func containsBytes(s [][]byte, b []byte) bool {
	for _, e := range s {
		if bytes.Equal(e, b) {
			return true
		}
	}
	return false
}
