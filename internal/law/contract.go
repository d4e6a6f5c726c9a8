package law

import "strings"

// The contract rules beyond those law.go lists.
const (
	L65_6 ID = "L-65-6"
	L65_7 ID = "L-65-7"
	L440  ID = "L-440"
)

// OfferItem is one of the seven statements a binding offer must make (L-65-4).
type OfferItem string

// The seven items of DOC 65-4, in the article's order.
const (
	ItemCharacteristics OfferItem = "characteristics"  // 1. essential characteristics of the good, service or asset
	ItemConditions      OfferItem = "conditions"       // 2. conditions of sale or transfer
	ItemSteps           OfferItem = "steps"            // 3. steps to conclude, and how each party performs
	ItemErrorCorrection OfferItem = "error-correction" // 4. technical means to detect and correct input errors
	ItemLanguages       OfferItem = "languages"        // 5. languages offered for concluding
	ItemArchiving       OfferItem = "archiving"        // 6. how the contract is archived and can be consulted
	ItemRules           OfferItem = "rules"            // 7. how to consult the professional and commercial rules
)

// OfferItems lists the seven items in the article's order.
func OfferItems() []OfferItem {
	return []OfferItem{ItemCharacteristics, ItemConditions, ItemSteps, ItemErrorCorrection, ItemLanguages, ItemArchiving, ItemRules}
}

// MissingOfferItems returns the items whose statement is blank; any one missing
// makes the proposal mere advertising that does not bind its author (L-65-4).
// Item 7 applies "where applicable": an offeror bound by no such rules says so,
// since silence cannot be told from an omission.
func MissingOfferItems(stated map[OfferItem]string) []OfferItem {
	var out []OfferItem
	for _, it := range OfferItems() {
		if strings.TrimSpace(stated[it]) == "" {
			out = append(out, it)
		}
	}
	return out
}

// Category is the kind of act a document records (L-2-1).
type Category string

// The categories tawthiq knows.
const (
	CategorySale             Category = "sale"              // supply of goods
	CategoryService          Category = "service"           // provision of services
	CategoryBusinessTransfer Category = "business-transfer" // transfer of a business (fonds de commerce) or one of its elements
	CategoryFamily           Category = "family-code"       // acts under the Family Code: always excluded
	CategoryPersonalSecurity Category = "personal-security" // private deed on a personal security (suretyship)
	CategoryRealSecurity     Category = "real-security"     // private deed on a real security (pledge, mortgage)
)

// Author says who makes a document, for the L-2-1 exceptions.
type Author struct {
	ForProfession     bool // made by a person for the purposes of his profession
	CreditInstitution bool // made by a credit institution or a body treated as one
}

// CategoryRefusal returns why an act of category c may not be made electronically,
// or "" if it may (L-2-1). Family Code acts are always excluded; private deeds on
// personal or real securities are, unless made for a profession or by a credit institution.
func CategoryRefusal(c Category, by Author) string {
	switch c {
	case CategorySale, CategoryService, CategoryBusinessTransfer:
		return ""
	case CategoryFamily:
		return "DOC 2-1: documents applying the Family Code may not be made electronically"
	case CategoryPersonalSecurity, CategoryRealSecurity:
		if by.ForProfession || by.CreditInstitution {
			return ""
		}
		return "DOC 2-1: private deeds on personal or real securities may be made electronically only by a person for his profession or by a credit institution"
	}
	return "unknown category " + string(c) + ": sale, service, business-transfer, family-code, personal-security or real-security"
}

// NeedsWrittenDeed says whether an act of amountCentimes (1/100 dirham) needs a
// written deed: DOC 443 says "exceeds" (يتجاوز) ten thousand dirhams, so
// 10,000.00 itself does not, and 10,000.01 does (L-443).
func NeedsWrittenDeed(amountCentimes int64) bool {
	return amountCentimes > WitnessThresholdMAD*100
}

// EmailAllowed says whether contract information may go to addr by e-mail: only
// if its recipient expressly accepted e-mail (L-65-3). A professional counts as
// having accepted once he gave his address, which addr being his own states.
func EmailAllowed(accepted, professional bool, addr string) bool {
	return strings.Contains(addr, "@") && (accepted || professional)
}
