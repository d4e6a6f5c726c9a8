package contract

import (
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// TestBindingAt_L65_4: an offer binds only with the seven items, for its stated
// period, else until a later version replaces it.
func TestBindingAt_L65_4(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	later := now.Add(time.Hour)
	for _, c := range []struct {
		name string
		o    Offer
		want bool
	}{
		{"complete, no period", Offer{Binding: true}, true},
		{"advertising", Offer{Missing: []law.OfferItem{law.ItemRules}}, false},
		{"within its period", Offer{Binding: true, Terms: OfferTerms{ValidUntil: &later}}, true},
		{"at its end", Offer{Binding: true, Terms: OfferTerms{ValidUntil: &now}}, false},
		{"replaced, no period", Offer{Binding: true, Superseded: true}, false},
		{"replaced, within its period", Offer{Binding: true, Superseded: true, Terms: OfferTerms{ValidUntil: &later}}, true},
	} {
		if got, why := c.o.BindingAt(now); got != c.want || (!got && why == "") {
			t.Errorf("%s: binding %v (%q), want %v", c.name, got, why, c.want)
		}
	}
}

// TestPriceAndForm_L65_5: prices come from the offer only, and the form is the offer's (L-65-6).
func TestPriceAndForm_L65_5(t *testing.T) {
	off := &Offer{Terms: OfferTerms{Lines: []Line{{SKU: "A", Name: "a", UnitPrice: 250}}}}
	lines, err := price(off, []OrderLine{{SKU: "A", Quantity: 4}})
	if err != nil || lines[0].Amount != 1000 {
		t.Fatalf("price: %+v, %v", lines, err)
	}
	for _, bad := range [][]OrderLine{nil, {{SKU: "B", Quantity: 1}}, {{SKU: "A", Quantity: 0}}, {{SKU: "A", Quantity: 1}, {SKU: "A", Quantity: 1}}} {
		if _, err := price(off, bad); !errkind.Is(err, errkind.Invalid) {
			t.Errorf("price(%v): %v, want invalid", bad, err)
		}
	}
	form := []FormField{{Name: "n", Type: "number", Required: true}, {Name: "d", Type: "date"}}
	for _, c := range []struct {
		values map[string]string
		ok     bool
	}{
		{map[string]string{"n": "3"}, true}, {map[string]string{"n": "3", "d": "2026-01-02"}, true},
		{nil, false}, {map[string]string{"n": "x"}, false}, {map[string]string{"n": "1", "d": "tomorrow"}, false},
		{map[string]string{"n": "1", "extra": "y"}, false},
	} {
		if err := checkForm(form, c.values); (err == nil) != c.ok {
			t.Errorf("checkForm(%v): %v, want ok %v", c.values, err, c.ok)
		}
	}
}

// TestState_L65_5: an order is reviewed only while its latest version has a review.
func TestState_L65_5(t *testing.T) {
	o := Order{Revisions: []Revision{{N: 1}}}
	if o.State() != StateDraft {
		t.Fatal(o.State())
	}
	o.Reviews = []Review{{Revision: 1}}
	if o.State() != StateReviewed {
		t.Fatal(o.State())
	}
	o.Revisions = append(o.Revisions, Revision{N: 2}) // corrected after the review
	if o.State() != StateDraft || o.latestReview() != nil {
		t.Fatal("a corrected order still counts as reviewed")
	}
	o.Confirmation = &Confirmation{}
	if o.State() != StateConfirmed {
		t.Fatal(o.State())
	}
	o.ConcludedAt = time.Now()
	if o.State() != StateConcluded {
		t.Fatal(o.State())
	}
}
