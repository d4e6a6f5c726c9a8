package render

import (
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/validation"
)

// texts is every string a page shows in one language. Sentence templates take
// their values by explicit index (%[1]s) so that a language may order them freely.
type texts struct {
	Title, Document, DocName, DocKind, DocDigest, DocNotes, NoSignatures string
	SignatureOf                                                          string // %[1]d of %[2]d
	DocTimeStamp                                                         string // %[1]s: field, %[2]s: time, %[3]s: TSA
	Footer                                                               string

	// The plain-words summary.
	SumQualified               string // %[1]s: DOC 417-3
	SumQualifiedCertain        string // %[1]s: DOC 417-3
	SumQualifiedTSNotQualified string
	SumQualifiedNoTS           string
	SumQualifiedLaterTS        string
	SumValidNotQualified       string // %[1]s: DOC 417-2, %[2]s: DOC 417-3
	SumDateProven              string // %[1]s: date, %[2]s: TSA, %[3]s: DOC 425
	SumDateArchive             string // %[1]s: date, %[2]s: DOC 425
	SumDateDocument            string // %[1]s: date, %[2]s: DOC 425
	SumDateClaimed             string // %[1]s: claimed date, %[2]s: validation time, %[3]s: DOC 425
	SumDateNone                string // %[1]s: validation time, %[2]s: DOC 425
	SumFailed                  string // %[1]s: the sub-indication's meaning
	SumIndeterminate           string // %[1]s: the sub-indication's meaning

	// The details.
	Details, Result, ReasonCode, Reason, Level                            string
	Signer, NoSigner, CommonName, GivenName, Surname, Pseudonym           string
	Identifier, Organization, OrgID, Country, Subject, Issuer, CertSerial string
	ValidFrom, ValidUntil                                                 string
	Time, ProvenTime, ProvenBy, ClaimedTime, None, ValidationTime         string
	TimeStamp, NoTimeStamp, TSTime, TSA, Trusted, TSQualified, TSIgnored  string
	TSJudgedAt, TSJudgedWhy, RenewBefore                                  string
	ArchiveTimeStamps                                                     string
	ContentTimeStamps                                                     string
	Qualification, Qualified, QualifiedWhy, Chain, Warnings, Conclusions  string
	Holds, HoldsNot, Detail, Yes, No                                      string

	Indication    map[validation.Indication]string
	SubIndication map[validation.SubIndication]string // a clause that ends a sentence
	TimeSource    map[validation.TimeSource]string
	Rules         map[law.ID]ruleText // rules without an entry fall back to law.Describe
}

// ruleText is a rule as a page cites it and what its holding or not means.
type ruleText struct {
	Cite, Holds, HoldsNot string
}

// catalog is the immutable table of the supported languages.
var catalog = map[string]*texts{"ar": &textAR, "fr": &textFR, "en": &textEN}

var textEN = texts{
	Title:        "Signature validation report",
	Document:     "Document",
	DocName:      "Name",
	DocKind:      "Format",
	DocDigest:    "SHA-256 digest",
	DocNotes:     "Findings on the document",
	DocTimeStamp: "Document time-stamp %[1]s: %[2]s, by %[3]s",
	NoSignatures: "The document carries no signature.",
	SignatureOf:  "Signature %[1]d of %[2]d",
	Footer:       "This page renders the validation report; ETSI codes and rule IDs are shown as is.",

	SumQualified:               "This signature is a qualified electronic signature, presumed reliable (%[1]s).",
	SumQualifiedCertain:        "With its qualified time-stamp it has the force of a certified signature with a certain date (%[1]s).",
	SumQualifiedTSNotQualified: "Its time-stamp is not qualified, so it does not have the force of a certified signature with a certain date.",
	SumQualifiedNoTS:           "Without a qualified time-stamp it does not have the force of a certified signature with a certain date.",
	SumQualifiedLaterTS:        "Its date is proven by a later time-stamp, not by one of the signature itself, so this report does not grant it the force of a certified signature with a certain date.",
	SumValidNotQualified:       "This signature is valid: the document is intact and the signer is identified by a trusted certificate (%[1]s). It is not a qualified signature, so it is not presumed reliable (%[2]s): its reliability must be shown by other means.",
	SumDateProven:              "Its date, %[1]s, is proven by a time-stamp from %[2]s and is opposable to third parties (%[3]s).",
	SumDateArchive:             "Its signing date is not proven by a signature time-stamp, but an archive time-stamp proves that the signature existed at %[1]s; that date is opposable to third parties, the signing date being no later (%[2]s).",
	SumDateDocument:            "Its signing date is not proven by a signature time-stamp, but a time-stamp of the whole document proves that the signature existed at %[1]s; that date is opposable to third parties, the signing date being no later (%[2]s).",
	SumDateClaimed:             "Its date is not proven: the signer claims %[1]s, but that is only a claim; the signature is only proven to exist at %[2]s, the validation time (%[3]s).",
	SumDateNone:                "Its date is not proven: the signature carries no date; it is only proven to exist at %[1]s, the validation time (%[2]s).",
	SumFailed:                  "This signature is NOT valid: %[1]s It proves neither who signed nor when, and must not be relied on.",
	SumIndeterminate:           "This signature could be neither confirmed nor rejected: %[1]s It must not be relied on until this is resolved.",

	Details:           "Details",
	Result:            "Result (ETSI EN 319 102-1)",
	ReasonCode:        "Reason code",
	Reason:            "Validator's reason",
	Level:             "Signature level",
	Signer:            "Signer, as the certificate certifies",
	NoSigner:          "No signing certificate was found: the signer is not identified.",
	CommonName:        "Common name",
	GivenName:         "Given name",
	Surname:           "Surname",
	Pseudonym:         "Pseudonym",
	Identifier:        "Identifier (serialNumber)",
	Organization:      "Organisation",
	OrgID:             "Organisation identifier",
	Country:           "Country",
	Subject:           "Certificate subject",
	Issuer:            "Issuer",
	CertSerial:        "Certificate serial number",
	ValidFrom:         "Valid from",
	ValidUntil:        "Valid until",
	Time:              "Date of signing",
	ProvenTime:        "Proven time",
	ProvenBy:          "Proven by",
	ClaimedTime:       "Time claimed by the signer",
	None:              "none",
	ValidationTime:    "Validation time",
	TimeStamp:         "Time-stamp",
	NoTimeStamp:       "The signature carries no time-stamp.",
	TSTime:            "Time stamped",
	TSA:               "Time-stamping authority",
	Trusted:           "Trusted",
	TSQualified:       "Qualified",
	TSIgnored:         "Not used, because",
	TSJudgedAt:        "Its authority's certificates checked at",
	TSJudgedWhy:       "Checked at that time, because",
	RenewBefore:       "Renew before (tawthiq extend), or the date is no longer proven",
	ArchiveTimeStamps: "Archive time-stamps (long-term preservation)",
	ContentTimeStamps: "Content time-stamp (taken before signing)",
	Qualification:     "Qualification",
	Qualified:         "Qualified signature",
	QualifiedWhy:      "Why",
	Chain:             "Certificate chain (signer first, trust anchor last)",
	Warnings:          "Warnings",
	Conclusions:       "Legal conclusions",
	Holds:             "holds",
	HoldsNot:          "does not hold",
	Detail:            "Detail",
	Yes:               "yes",
	No:                "no",

	Indication: map[validation.Indication]string{
		validation.TotalPassed:   "the signature is valid",
		validation.TotalFailed:   "the signature is not valid",
		validation.Indeterminate: "no conclusion could be reached",
	},
	SubIndication: map[validation.SubIndication]string{
		validation.FormatFailure:                  "the signature is not in a readable or conforming format.",
		validation.HashFailure:                    "the document was changed after it was signed: its digest no longer matches the signed one.",
		validation.SigCryptoFailure:               "the cryptographic signature does not verify with the signer's public key.",
		validation.Revoked:                        "the signer's certificate was revoked before the signature was made: a time-stamp of the content, included in the signature, proves it was made later.",
		validation.NotYetValid:                    "the signature was made before the signer's certificate became valid.",
		validation.NoSigningCertificateFound:      "the signer's certificate could not be found or identified.",
		validation.NoCertificateChainFound:        "the signer's certificate leads to no trusted root.",
		validation.CertificateChainGeneralFailure: "the chain of certificates from the signer to the root is not valid (for example, a certificate has expired or is used for a purpose it does not allow).",
		validation.RevokedNoPOE:                   "the signer's certificate has been revoked, and nothing (such as a time-stamp) proves that the signature existed before the revocation.",
		validation.RevokedCANoPOE:                 "the certificate of an authority in the chain has been revoked, and nothing proves that the signature existed before that revocation.",
		validation.OutOfBoundsNoPOE:               "the signer's certificate had expired or was not yet valid at the validation time, and nothing proves that the signature was made while it was valid.",
		validation.TryLater:                       "the revocation status of a certificate is not available yet; validate again later.",
		validation.SignedDataNotFound:             "the signed document was not provided, so the signature cannot be checked against it.",
		validation.TimestampOrderFailure:          "the time-stamps contradict each other: the content was stamped after the signature over it.",
		validation.Expired:                        "the signature was made after the signer's certificate expired: a time-stamp of the content, included in the signature, proves it.",
	},
	TimeSource: map[validation.TimeSource]string{
		validation.ByTimeStamp:         "a signature time-stamp",
		validation.ByArchiveTimeStamp:  "an archive time-stamp: the signature existed then, and was made no later",
		validation.ByDocumentTimeStamp: "a time-stamp of the whole document: the signature existed then, and was made no later",
		validation.ByValidationTime:    "the validation time only: the signature is proven to exist then, not earlier",
	},
	Rules: map[law.ID]ruleText{
		law.L417_2: {"DOC 417-2", "The signature identifies the signer: it is bound to the signer's certified identity.", "The signature identifies no one: it does not validate."},
		law.L20:    {"Law 53-05 art. 20", "The certificate is a qualified certificate issued by an approved provider.", "The certificate is not shown to be a qualified certificate issued by an approved provider."},
		law.L417_3: {"DOC 417-3", "The signature is qualified (secured): it is presumed reliable.", "The signature is not qualified: no presumption of reliability."},
		law.L425:   {"DOC 425", "The signing date is proven by a time-stamp and is opposable to third parties.", "The signing date is not proven and is not opposable to third parties."},
	},
}

// French: a no-break space precedes the high punctuation, as French typography does.
var textFR = texts{
	Title:        "Rapport de validation de signature",
	Document:     "Document",
	DocName:      "Nom",
	DocKind:      "Format",
	DocDigest:    "Empreinte SHA-256",
	DocNotes:     "Constats sur le document",
	DocTimeStamp: "Horodatage du document %[1]s : %[2]s, par %[3]s",
	NoSignatures: "Le document ne porte aucune signature.",
	SignatureOf:  "Signature %[1]d sur %[2]d",
	Footer:       "Cette page présente le rapport de validation\u00a0; les codes ETSI et les identifiants de règles sont reproduits tels quels.",

	SumQualified:               "Cette signature est une signature électronique qualifiée, présumée fiable (%[1]s).",
	SumQualifiedCertain:        "Avec son horodatage qualifié, elle a la force d'une signature légalisée avec date certaine (%[1]s).",
	SumQualifiedTSNotQualified: "Son horodatage n'est pas qualifié\u00a0: elle n'a donc pas la force d'une signature légalisée avec date certaine.",
	SumQualifiedNoTS:           "Sans horodatage qualifié, elle n'a pas la force d'une signature légalisée avec date certaine.",
	SumQualifiedLaterTS:        "Sa date est prouvée par un horodatage ultérieur, non par un horodatage de la signature elle-même\u00a0: ce rapport ne lui reconnaît donc pas la force d'une signature légalisée avec date certaine.",
	SumValidNotQualified:       "Cette signature est valide\u00a0: le document est intact et le signataire est identifié par un certificat de confiance (%[1]s). Ce n'est pas une signature qualifiée\u00a0: elle n'est donc pas présumée fiable (%[2]s) et sa fiabilité doit être prouvée par d'autres moyens.",
	SumDateProven:              "Sa date, %[1]s, est prouvée par un horodatage de %[2]s et est opposable aux tiers (%[3]s).",
	SumDateArchive:             "Sa date de signature n'est pas prouvée par un horodatage de la signature, mais un horodatage d'archivage prouve que la signature existait au %[1]s\u00a0; cette date est opposable aux tiers, la signature n'étant pas postérieure (%[2]s).",
	SumDateDocument:            "Sa date de signature n'est pas prouvée par un horodatage de la signature, mais un horodatage du document entier prouve que la signature existait au %[1]s\u00a0; cette date est opposable aux tiers, la signature n'étant pas postérieure (%[2]s).",
	SumDateClaimed:             "Sa date n'est pas prouvée\u00a0: le signataire déclare %[1]s, ce qui n'est qu'une déclaration\u00a0; la signature n'est prouvée exister qu'au %[2]s, date de la validation (%[3]s).",
	SumDateNone:                "Sa date n'est pas prouvée\u00a0: la signature ne porte aucune date\u00a0; elle n'est prouvée exister qu'au %[1]s, date de la validation (%[2]s).",
	SumFailed:                  "Cette signature n'est PAS valide\u00a0: %[1]s Elle ne prouve ni qui a signé ni quand, et ne doit pas être prise en compte.",
	SumIndeterminate:           "Cette signature n'a pu être ni confirmée ni rejetée\u00a0: %[1]s Elle ne doit pas être prise en compte tant que ce point n'est pas résolu.",

	Details:           "Détails",
	Result:            "Résultat (ETSI EN 319 102-1)",
	ReasonCode:        "Code du motif",
	Reason:            "Motif donné par le validateur (en anglais)",
	Level:             "Niveau de signature",
	Signer:            "Signataire, tel que le certificat le certifie",
	NoSigner:          "Aucun certificat de signataire n'a été trouvé\u00a0: le signataire n'est pas identifié.",
	CommonName:        "Nom commun",
	GivenName:         "Prénom",
	Surname:           "Nom de famille",
	Pseudonym:         "Pseudonyme",
	Identifier:        "Identifiant (serialNumber)",
	Organization:      "Organisation",
	OrgID:             "Identifiant de l'organisation",
	Country:           "Pays",
	Subject:           "Sujet du certificat",
	Issuer:            "Émetteur",
	CertSerial:        "Numéro de série du certificat",
	ValidFrom:         "Valide du",
	ValidUntil:        "Valide jusqu'au",
	Time:              "Date de signature",
	ProvenTime:        "Date prouvée",
	ProvenBy:          "Prouvée par",
	ClaimedTime:       "Date déclarée par le signataire",
	None:              "aucune",
	ValidationTime:    "Date de la validation",
	TimeStamp:         "Horodatage",
	NoTimeStamp:       "La signature ne porte aucun horodatage.",
	TSTime:            "Date horodatée",
	TSA:               "Autorité d'horodatage",
	Trusted:           "De confiance",
	TSQualified:       "Qualifié",
	TSIgnored:         "Non retenu, parce que (en anglais)",
	TSJudgedAt:        "Certificats de l'autorité vérifiés au",
	TSJudgedWhy:       "Vérifiés à cette date, parce que (en anglais)",
	RenewBefore:       "À renouveler avant le (tawthiq extend), sinon la date n'est plus prouvée",
	ArchiveTimeStamps: "Horodatages d'archivage (conservation à long terme)",
	ContentTimeStamps: "Horodatage du contenu (pris avant la signature)",
	Qualification:     "Qualification",
	Qualified:         "Signature qualifiée",
	QualifiedWhy:      "Pourquoi (en anglais)",
	Chain:             "Chaîne de certificats (du signataire à l'ancre de confiance)",
	Warnings:          "Avertissements (en anglais)",
	Conclusions:       "Conclusions juridiques",
	Holds:             "établi",
	HoldsNot:          "non établi",
	Detail:            "Détail (en anglais)",
	Yes:               "oui",
	No:                "non",

	Indication: map[validation.Indication]string{
		validation.TotalPassed:   "la signature est valide",
		validation.TotalFailed:   "la signature n'est pas valide",
		validation.Indeterminate: "aucune conclusion n'a pu être tirée",
	},
	SubIndication: map[validation.SubIndication]string{
		validation.FormatFailure:                  "la signature n'est pas dans un format lisible ou conforme.",
		validation.HashFailure:                    "le document a été modifié après sa signature\u00a0: son empreinte ne correspond plus à celle qui a été signée.",
		validation.SigCryptoFailure:               "la signature cryptographique ne se vérifie pas avec la clé publique du signataire.",
		validation.Revoked:                        "le certificat du signataire a été révoqué avant que la signature soit faite\u00a0: un horodatage du contenu, inclus dans la signature, prouve qu'elle a été faite après.",
		validation.NotYetValid:                    "la signature a été faite avant le début de validité du certificat du signataire.",
		validation.NoSigningCertificateFound:      "le certificat du signataire est introuvable ou ne peut être identifié.",
		validation.NoCertificateChainFound:        "le certificat du signataire ne mène à aucune racine de confiance.",
		validation.CertificateChainGeneralFailure: "la chaîne de certificats du signataire jusqu'à la racine n'est pas valide (par exemple, un certificat a expiré ou sert à un usage qu'il n'autorise pas).",
		validation.RevokedNoPOE:                   "le certificat du signataire a été révoqué, et rien (tel un horodatage) ne prouve que la signature existait avant la révocation.",
		validation.RevokedCANoPOE:                 "le certificat d'une autorité de la chaîne a été révoqué, et rien ne prouve que la signature existait avant cette révocation.",
		validation.OutOfBoundsNoPOE:               "le certificat du signataire était expiré ou pas encore valide à la date de la validation, et rien ne prouve que la signature a été faite pendant sa validité.",
		validation.TryLater:                       "l'état de révocation d'un certificat n'est pas encore disponible\u00a0; validez de nouveau plus tard.",
		validation.SignedDataNotFound:             "le document signé n'a pas été fourni\u00a0: la signature ne peut pas être vérifiée par rapport à lui.",
		validation.TimestampOrderFailure:          "les horodatages se contredisent\u00a0: le contenu a été horodaté après la signature qui le couvre.",
		validation.Expired:                        "la signature a été faite après l'expiration du certificat du signataire\u00a0: un horodatage du contenu, inclus dans la signature, le prouve.",
	},
	TimeSource: map[validation.TimeSource]string{
		validation.ByTimeStamp:         "un horodatage de la signature",
		validation.ByArchiveTimeStamp:  "un horodatage d'archivage\u00a0: la signature existait à cette date, et n'a pas été faite plus tard",
		validation.ByDocumentTimeStamp: "un horodatage du document entier\u00a0: la signature existait à cette date, et n'a pas été faite plus tard",
		validation.ByValidationTime:    "la seule date de la validation\u00a0: la signature est prouvée exister à ce moment, pas avant",
	},
	Rules: map[law.ID]ruleText{
		law.L417_2: {"DOC art. 417-2", "La signature identifie le signataire\u00a0: elle est liée à son identité certifiée.", "La signature n'identifie personne\u00a0: elle n'est pas valide."},
		law.L20:    {"loi 53-05 art. 20", "Le certificat est un certificat qualifié délivré par un prestataire agréé.", "Il n'est pas établi que le certificat soit un certificat qualifié délivré par un prestataire agréé."},
		law.L417_3: {"DOC art. 417-3", "La signature est qualifiée (sécurisée)\u00a0: elle est présumée fiable.", "La signature n'est pas qualifiée\u00a0: aucune présomption de fiabilité."},
		law.L425:   {"DOC art. 425", "La date de signature est prouvée par un horodatage et opposable aux tiers.", "La date de signature n'est pas prouvée et n'est pas opposable aux tiers."},
	},
}

// Arabic: the terms of Law 53-05 / 43-20 and of the DOC (ق.ل.ع) in their Arabic version.
var textAR = texts{
	Title:        "تقرير التحقق من صحة التوقيع",
	Document:     "الوثيقة",
	DocName:      "الاسم",
	DocKind:      "الصيغة",
	DocDigest:    "بصمة SHA-256",
	DocNotes:     "ملاحظات حول الوثيقة",
	DocTimeStamp: "ختم زمني للوثيقة %[1]s: %[2]s، من %[3]s",
	NoSignatures: "لا تحمل الوثيقة أي توقيع.",
	SignatureOf:  "التوقيع %[1]d من %[2]d",
	Footer:       "تعرض هذه الصفحة تقرير التحقق؛ رموز ETSI ومعرفات القواعد مذكورة كما هي.",

	SumQualified:               "هذا التوقيع توقيع إلكتروني مؤهل، يفترض فيه أنه موثوق به (%[1]s).",
	SumQualifiedCertain:        "وبفضل ختمه الزمني المؤهل، تكون له قوة التوقيع المصادق عليه ذي التاريخ الثابت (%[1]s).",
	SumQualifiedTSNotQualified: "غير أن ختمه الزمني غير مؤهل، فليست له قوة التوقيع المصادق عليه ذي التاريخ الثابت.",
	SumQualifiedNoTS:           "وفي غياب ختم زمني مؤهل، ليست له قوة التوقيع المصادق عليه ذي التاريخ الثابت.",
	SumQualifiedLaterTS:        "وتاريخه مثبت بختم زمني لاحق لا بختم زمني للتوقيع نفسه، فلا يمنحه هذا التقرير قوة التوقيع المصادق عليه ذي التاريخ الثابت.",
	SumValidNotQualified:       "هذا التوقيع صحيح: الوثيقة سليمة والموقع معرف بشهادة موثوق بها (%[1]s). لكنه ليس توقيعا مؤهلا، فلا يفترض فيه أنه موثوق به (%[2]s): يجب إثبات موثوقيته بوسائل أخرى.",
	SumDateProven:              "تاريخه، %[1]s، ثابت بختم زمني صادر عن %[2]s، ويحتج به في مواجهة الغير (%[3]s).",
	SumDateArchive:             "تاريخ التوقيع غير ثابت بختم زمني للتوقيع، لكن ختما زمنيا للأرشفة يثبت أن التوقيع كان موجودا في %[1]s؛ ويحتج بهذا التاريخ في مواجهة الغير، إذ لم يوقع بعده (%[2]s).",
	SumDateDocument:            "تاريخ التوقيع غير ثابت بختم زمني للتوقيع، لكن ختما زمنيا للوثيقة كلها يثبت أن التوقيع كان موجودا في %[1]s؛ ويحتج بهذا التاريخ في مواجهة الغير، إذ لم يوقع بعده (%[2]s).",
	SumDateClaimed:             "تاريخه غير ثابت: يدعي الموقع تاريخ %[1]s، وهذا مجرد ادعاء؛ ولا يثبت وجود التوقيع إلا في %[2]s، وهو وقت التحقق (%[3]s).",
	SumDateNone:                "تاريخه غير ثابت: لا يحمل التوقيع أي تاريخ؛ ولا يثبت وجوده إلا في %[1]s، وهو وقت التحقق (%[2]s).",
	SumFailed:                  "هذا التوقيع غير صحيح: %[1]s فهو لا يثبت هوية الموقع ولا تاريخ التوقيع، ولا يجوز الاعتماد عليه.",
	SumIndeterminate:           "تعذر تأكيد هذا التوقيع أو رفضه: %[1]s ولا يجوز الاعتماد عليه إلى أن تحل هذه المسألة.",

	Details:           "التفاصيل",
	Result:            "النتيجة (ETSI EN 319 102-1)",
	ReasonCode:        "رمز السبب",
	Reason:            "السبب كما قدمه المدقق (بالإنجليزية)",
	Level:             "مستوى التوقيع",
	Signer:            "الموقع كما تشهد به الشهادة",
	NoSigner:          "لم يعثر على شهادة الموقع: الموقع غير معرف.",
	CommonName:        "الاسم الشائع",
	GivenName:         "الاسم الشخصي",
	Surname:           "الاسم العائلي",
	Pseudonym:         "الاسم المستعار",
	Identifier:        "المعرف (serialNumber)",
	Organization:      "الهيئة",
	OrgID:             "معرف الهيئة",
	Country:           "البلد",
	Subject:           "موضوع الشهادة",
	Issuer:            "مصدر الشهادة",
	CertSerial:        "الرقم التسلسلي للشهادة",
	ValidFrom:         "صالحة من",
	ValidUntil:        "صالحة إلى",
	Time:              "تاريخ التوقيع",
	ProvenTime:        "الوقت الثابت",
	ProvenBy:          "وسيلة الإثبات",
	ClaimedTime:       "التاريخ الذي يدعيه الموقع",
	None:              "لا يوجد",
	ValidationTime:    "وقت التحقق",
	TimeStamp:         "الختم الزمني",
	NoTimeStamp:       "لا يحمل التوقيع أي ختم زمني.",
	TSTime:            "الوقت المختوم",
	TSA:               "سلطة الختم الزمني",
	Trusted:           "موثوق بها",
	TSQualified:       "مؤهل",
	TSIgnored:         "لم يعتمد، لأن (بالإنجليزية)",
	TSJudgedAt:        "تاريخ التحقق من شهادات السلطة",
	TSJudgedWhy:       "تم التحقق في ذلك التاريخ لأن (بالإنجليزية)",
	RenewBefore:       "يجب التجديد قبل (tawthiq extend)، وإلا لم يعد التاريخ ثابتا",
	ArchiveTimeStamps: "أختام زمنية للأرشفة (الحفظ الطويل الأمد)",
	ContentTimeStamps: "ختم زمني للمحتوى (قبل التوقيع)",
	Qualification:     "التأهيل",
	Qualified:         "توقيع مؤهل",
	QualifiedWhy:      "السبب (بالإنجليزية)",
	Chain:             "سلسلة الشهادات (من الموقع إلى مرساة الثقة)",
	Warnings:          "تنبيهات (بالإنجليزية)",
	Conclusions:       "الاستنتاجات القانونية",
	Holds:             "متحقق",
	HoldsNot:          "غير متحقق",
	Detail:            "تفصيل (بالإنجليزية)",
	Yes:               "نعم",
	No:                "لا",

	Indication: map[validation.Indication]string{
		validation.TotalPassed:   "التوقيع صحيح",
		validation.TotalFailed:   "التوقيع غير صحيح",
		validation.Indeterminate: "تعذر التوصل إلى نتيجة",
	},
	SubIndication: map[validation.SubIndication]string{
		validation.FormatFailure:                  "صيغة التوقيع غير مقروءة أو غير مطابقة للمعيار.",
		validation.HashFailure:                    "غيرت الوثيقة بعد توقيعها: بصمتها لم تعد تطابق البصمة الموقعة.",
		validation.SigCryptoFailure:               "لا يتحقق التوقيع التشفيري بالمفتاح العمومي للموقع.",
		validation.Revoked:                        "ألغيت شهادة الموقع قبل إنشاء التوقيع: يثبت ختم زمني للمحتوى، مدرج في التوقيع، أنه أنشئ بعد ذلك.",
		validation.NotYetValid:                    "أنشئ التوقيع قبل بدء صلاحية شهادة الموقع.",
		validation.NoSigningCertificateFound:      "تعذر العثور على شهادة الموقع أو تحديدها.",
		validation.NoCertificateChainFound:        "لا تؤدي شهادة الموقع إلى أي شهادة جذر موثوق بها.",
		validation.CertificateChainGeneralFailure: "سلسلة الشهادات من الموقع إلى الجذر غير صحيحة (مثلا شهادة انتهت صلاحيتها أو استعملت لغرض لا تسمح به).",
		validation.RevokedNoPOE:                   "ألغيت شهادة الموقع، ولا شيء (كختم زمني) يثبت أن التوقيع كان موجودا قبل الإلغاء.",
		validation.RevokedCANoPOE:                 "ألغيت شهادة سلطة تصديق في السلسلة، ولا شيء يثبت أن التوقيع كان موجودا قبل ذلك الإلغاء.",
		validation.OutOfBoundsNoPOE:               "كانت شهادة الموقع منتهية الصلاحية أو لم تبدأ صلاحيتها بعد في وقت التحقق، ولا شيء يثبت أن التوقيع أنشئ خلال مدة صلاحيتها.",
		validation.TryLater:                       "حالة إلغاء إحدى الشهادات غير متاحة بعد؛ أعيدوا التحقق لاحقا.",
		validation.SignedDataNotFound:             "لم تقدم الوثيقة الموقعة، فلا يمكن التحقق من التوقيع بالنسبة إليها.",
		validation.TimestampOrderFailure:          "الأختام الزمنية متناقضة: ختم المحتوى بعد التوقيع الذي يشمله.",
		validation.Expired:                        "أنشئ التوقيع بعد انتهاء صلاحية شهادة الموقع: يثبت ذلك ختم زمني للمحتوى مدرج في التوقيع.",
	},
	TimeSource: map[validation.TimeSource]string{
		validation.ByTimeStamp:         "ختم زمني للتوقيع",
		validation.ByArchiveTimeStamp:  "ختم زمني للأرشفة: كان التوقيع موجودا في ذلك الوقت ولم ينشأ بعده",
		validation.ByDocumentTimeStamp: "ختم زمني للوثيقة كلها: كان التوقيع موجودا في ذلك الوقت ولم ينشأ بعده",
		validation.ByValidationTime:    "وقت التحقق فقط: يثبت وجود التوقيع في ذلك الوقت لا قبله",
	},
	Rules: map[law.ID]ruleText{
		law.L417_2: {"الفصل 417-2 من ق.ل.ع", "يعرف التوقيع بهوية الموقع: فهو مرتبط بهويته المصادق عليها.", "لا يعرف التوقيع بأي شخص: فهو غير صحيح."},
		law.L20:    {"المادة 20 من القانون 53-05", "الشهادة شهادة مؤهلة صادرة عن مقدم خدمات معتمد.", "لم يثبت أن الشهادة شهادة مؤهلة صادرة عن مقدم خدمات معتمد."},
		law.L417_3: {"الفصل 417-3 من ق.ل.ع", "التوقيع مؤهل (مؤمن): يفترض فيه أنه موثوق به.", "التوقيع غير مؤهل: لا تقوم قرينة الموثوقية."},
		law.L425:   {"الفصل 425 من ق.ل.ع", "تاريخ التوقيع ثابت بختم زمني ويحتج به في مواجهة الغير.", "تاريخ التوقيع غير ثابت ولا يحتج به في مواجهة الغير."},
	},
}
