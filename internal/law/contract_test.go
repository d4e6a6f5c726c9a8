package law

import (
	"slices"
	"strings"
	"testing"
)

// TestNeedsWrittenDeed_L443: DOC 443 says "exceeds" ten thousand dirhams, so the
// threshold itself needs no written deed and one centime more does.
func TestNeedsWrittenDeed_L443(t *testing.T) {
	for _, c := range []struct {
		centimes int64
		want     bool
	}{{999_900, false}, {1_000_000, false}, {1_000_001, true}, {1_000_100, true}} {
		if got := NeedsWrittenDeed(c.centimes); got != c.want {
			t.Errorf("NeedsWrittenDeed(%d) = %v, want %v", c.centimes, got, c.want)
		}
	}
}

// TestMissingOfferItems_L65_4: each blank item is named, in the article's order.
func TestMissingOfferItems_L65_4(t *testing.T) {
	full := map[OfferItem]string{}
	for _, it := range OfferItems() {
		full[it] = "stated"
	}
	if m := MissingOfferItems(full); len(m) != 0 {
		t.Fatalf("a full offer misses %v", m)
	}
	for _, it := range OfferItems() {
		stated := map[OfferItem]string{}
		for k, v := range full {
			stated[k] = v
		}
		stated[it] = "  "
		if m := MissingOfferItems(stated); !slices.Equal(m, []OfferItem{it}) {
			t.Errorf("without %s: missing %v", it, m)
		}
	}
}

// TestCategoryRefusal_L2_1: Family Code acts are always excluded; securities
// unless made for a profession or by a credit institution.
func TestCategoryRefusal_L2_1(t *testing.T) {
	for _, c := range []struct {
		cat     Category
		by      Author
		refused bool
	}{
		{CategorySale, Author{}, false}, {CategoryService, Author{}, false}, {CategoryBusinessTransfer, Author{}, false},
		{CategoryFamily, Author{}, true}, {CategoryFamily, Author{ForProfession: true, CreditInstitution: true}, true},
		{CategoryPersonalSecurity, Author{}, true}, {CategoryPersonalSecurity, Author{ForProfession: true}, false},
		{CategoryRealSecurity, Author{}, true}, {CategoryRealSecurity, Author{CreditInstitution: true}, false},
		{"gift", Author{}, true},
	} {
		why := CategoryRefusal(c.cat, c.by)
		if (why != "") != c.refused {
			t.Errorf("%s %+v: refusal %q, want refused %v", c.cat, c.by, why, c.refused)
		}
		if c.refused && c.cat != "gift" && !strings.Contains(why, "DOC 2-1") {
			t.Errorf("%s: the refusal does not cite DOC 2-1: %q", c.cat, why)
		}
	}
}

// TestEmailAllowed_L65_3: e-mail only with express acceptance, or to a professional who gave his address.
func TestEmailAllowed_L65_3(t *testing.T) {
	if EmailAllowed(false, false, "a@b.ma") || !EmailAllowed(true, false, "a@b.ma") || !EmailAllowed(false, true, "a@b.ma") || EmailAllowed(true, true, "") {
		t.Fatal("EmailAllowed does not follow DOC 65-3")
	}
}
