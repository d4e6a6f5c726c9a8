package notify

import (
	"math"
	"strings"
	"text/template"
	"time"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// texts holds, per kind and language, the subject and body templates. Arabic is
// plain UTF-8; mail readers lay it out right to left.
var texts = map[Kind]map[string][2]string{
	KindExpiry: {
		"en": {"Your certificate {{.Serial}} expires on {{.Date}}",
			`Dear holder,

Your certificate {{.Serial}} ({{.Subject}}), issued by our CA "{{.CA}}", expires on {{.Date}} (UTC), in {{.Days}} days.

Please renew it before that date if you still need it, or revoke it if you no longer use it or believe its key is no longer safe.{{if .URL}}
Renew or revoke: {{.URL}}{{end}}

This notice is sent at least {{.Notice}} days before expiry, as Law 53-05 (art. 21-3-5) requires.
`},
		"fr": {"Votre certificat {{.Serial}} expire le {{.Date}}",
			`Madame, Monsieur,

Votre certificat {{.Serial}} ({{.Subject}}), délivré par notre AC « {{.CA}} », expire le {{.Date}} (UTC), dans {{.Days}} jours.

Veuillez le renouveler avant cette date si vous en avez encore besoin, ou le révoquer si vous ne l'utilisez plus ou si vous pensez que sa clé n'est plus sûre.{{if .URL}}
Renouveler ou révoquer : {{.URL}}{{end}}

Cet avis vous est adressé au moins {{.Notice}} jours avant l'expiration, comme l'exige la loi 53-05 (art. 21-3-5).
`},
		"ar": {"تنتهي صلاحية شهادتكم {{.Serial}} في {{.Date}}",
			`السيد(ة) صاحب(ة) الشهادة،

تنتهي صلاحية شهادتكم {{.Serial}} ({{.Subject}}) الصادرة عن سلطة التصديق "{{.CA}}" بتاريخ {{.Date}} (بالتوقيت العالمي)، أي بعد {{.Days}} يوما.

المرجو تجديدها قبل هذا التاريخ إذا كنتم ما زلتم في حاجة إليها، أو إلغاؤها إذا لم تعودوا تستعملونها أو كنتم تعتقدون أن مفتاحها لم يعد آمنا.{{if .URL}}
للتجديد أو الإلغاء: {{.URL}}{{end}}

يوجه إليكم هذا الإشعار {{.Notice}} يوما على الأقل قبل انتهاء الصلاحية، طبقا للقانون 53-05 (المادة 21-3-5).
`},
	},
	KindRevocation: {
		"en": {"Your certificate {{.Serial}} has been revoked",
			`Dear holder,

Your certificate {{.Serial}} ({{.Subject}}), issued by our CA "{{.CA}}", was revoked on {{.Time}} (UTC).

Ground: {{.Ground}} ({{.Rule}}).{{if .OrderRef}}
Order reference: {{.OrderRef}}{{end}}

From that time the certificate may no longer be relied on, and its key may not be used to sign. Its status stays published in our CRL and OCSP service.
`},
		"fr": {"Votre certificat {{.Serial}} a été révoqué",
			`Madame, Monsieur,

Votre certificat {{.Serial}} ({{.Subject}}), délivré par notre AC « {{.CA}} », a été révoqué le {{.Time}} (UTC).

Motif : {{.Ground}} ({{.Rule}}).{{if .OrderRef}}
Référence de la décision : {{.OrderRef}}{{end}}

Dès ce moment, il n'est plus possible de se fier à ce certificat, et sa clé ne peut plus servir à signer. Son statut reste publié dans notre LCR et notre service OCSP.
`},
		"ar": {"تم إلغاء شهادتكم {{.Serial}}",
			`السيد(ة) صاحب(ة) الشهادة،

تم إلغاء شهادتكم {{.Serial}} ({{.Subject}}) الصادرة عن سلطة التصديق "{{.CA}}" بتاريخ {{.Time}} (بالتوقيت العالمي).

السبب: {{.Ground}} ({{.Rule}}).{{if .OrderRef}}
مرجع القرار: {{.OrderRef}}{{end}}

ابتداء من هذا التاريخ لا يمكن الوثوق بهذه الشهادة، ولا يجوز استعمال مفتاحها للتوقيع. ويبقى وضعها منشورا في لائحة الشهادات الملغاة وفي خدمة OCSP.
`},
	},
}

// groundTexts says each ground in plain words per language; English is the law
// package's own description.
var groundTexts = map[law.Ground]map[string]string{
	law.GroundHolderRequest: {
		"fr": "vous avez demandé la révocation",
		"ar": "بناء على طلبكم",
	},
	law.GroundFalseInformation: {
		"fr": "le certificat a été délivré sur la base d'informations fausses ou falsifiées",
		"ar": "تم إصدار الشهادة بناء على معلومات خاطئة أو مزورة",
	},
	law.GroundInformationChanged: {
		"fr": "les informations contenues dans le certificat ne sont plus exactes",
		"ar": "المعلومات الواردة في الشهادة لم تعد صحيحة",
	},
	law.GroundKeyCompromise: {
		"fr": "la confidentialité des données de création de signature a été violée",
		"ar": "تم المساس بسرية معطيات إنشاء التوقيع",
	},
	law.GroundJudicialOrder: {
		"fr": "une autorité judiciaire l'a ordonné",
		"ar": "بأمر من سلطة قضائية",
	},
	law.GroundCessation: {
		"fr": "le prestataire cesse son activité",
		"ar": "توقف مقدم خدمات المصادقة عن نشاطه",
	},
	law.GroundCapacityChange: {
		"fr": "la qualité certifiée du titulaire a changé",
		"ar": "تغيرت صفة صاحب الشهادة المصادق عليها",
	},
	law.GroundCACompromise: {
		"fr": "la clé de l'autorité de certification émettrice est compromise",
		"ar": "تم المساس بمفتاح سلطة التصديق المصدرة",
	},
}

var templates = func() map[Kind]map[string][2]*template.Template {
	out := map[Kind]map[string][2]*template.Template{}
	for k, langs := range texts {
		out[k] = map[string][2]*template.Template{}
		for lang, t := range langs {
			name := string(k) + "." + lang
			out[k][lang] = [2]*template.Template{
				template.Must(template.New(name + ".subject").Option("missingkey=error").Parse(t[0])),
				template.Must(template.New(name + ".body").Option("missingkey=error").Parse(t[1])),
			}
		}
	}
	return out
}()

// language returns the holder's language, or French (the RA's default) if unknown.
func language(l string) string {
	switch l {
	case "ar", "fr", "en":
		return l
	}
	return "fr"
}

// GroundText says a ground in plain words in lang (L-21-3-7).
func GroundText(g law.Ground, lang string) string {
	if s, ok := groundTexts[g][lang]; ok {
		return s
	}
	if r, ok := law.LookupGround(g); ok {
		return r.Description
	}
	return string(g)
}

// textData is what the templates may use.
type textData struct {
	Serial, CA, Subject, Date, Time, URL string
	Days, Notice                         int
	Ground, Rule, OrderRef               string
}

func render(k Kind, lang string, c Certificate, url string, now time.Time) (subject, body string, err error) {
	t, ok := templates[k][lang]
	if !ok {
		return "", "", errkind.New(errkind.Invalid, law.LInternal, "no %s notice text in %q", k, lang)
	}
	d := textData{
		Serial: c.Serial, CA: c.CA, Subject: c.Subject, URL: url, Notice: law.ExpiryNoticeDays,
		Date: c.NotAfter.UTC().Format("2006-01-02"), Time: c.RevokedAt.UTC().Format("2006-01-02 15:04:05.000"),
		Days: int(math.Ceil(c.NotAfter.Sub(now).Hours() / 24)), OrderRef: c.OrderRef,
	}
	if k == KindRevocation {
		r, ok := law.LookupGround(c.Ground)
		if !ok {
			return "", "", errkind.New(errkind.Invalid, law.L21_3_7, "unknown revocation ground %q", c.Ground)
		}
		d.Ground, d.Rule = GroundText(c.Ground, lang), string(r.Rule)
	}
	var sb, bb strings.Builder
	if err := t[0].Execute(&sb, d); err != nil {
		return "", "", errkind.Wrap(errkind.Internal, err, "render the %s notice", k)
	}
	if err := t[1].Execute(&bb, d); err != nil {
		return "", "", errkind.Wrap(errkind.Internal, err, "render the %s notice", k)
	}
	return sb.String(), bb.String(), nil
}
