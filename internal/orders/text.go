package orders

import (
	"fmt"
	"strings"
	"time"
)

// orderText is the notice of a judicial order to one holder, in his language (L-21-3-7 b).
func orderText(lang string, o *Order, serials []string) (subject, body string) {
	list := strings.Join(serials, ", ")
	date := o.Date.Format(time.DateOnly)
	revoked := o.Kind == KindRevoke
	switch lang {
	case "en":
		subject = "A judicial order concerns your certificates (" + o.Ref + ")"
		body = fmt.Sprintf("Dear holder,\n\nBy order %s of %s dated %s, we must tell you at once that your certificates listed below do not comply with Law 53-05 and its implementing texts (art. 21-3-7 b).\n\nCertificates: %s\n", o.Ref, o.Court, date, list)
		if revoked {
			body += "\nAs the order requires, they have been revoked; they may no longer be relied on, and their keys may not be used to sign.\n"
		}
	case "ar":
		subject = "أمر قضائي يخص شهاداتكم (" + o.Ref + ")"
		body = fmt.Sprintf("السيد(ة) صاحب(ة) الشهادة،\n\nبموجب الأمر %s الصادر عن %s بتاريخ %s، نخبركم فورا بأن شهاداتكم المذكورة أدناه غير مطابقة لأحكام القانون 53-05 والنصوص المتخذة لتطبيقه (المادة 21-3-7 ب).\n\nالشهادات: %s\n", o.Ref, o.Court, date, list)
		if revoked {
			body += "\nوقد تم إلغاؤها كما يقتضي الأمر؛ فلا يجوز الاعتماد عليها ولا التوقيع بمفاتيحها.\n"
		}
	default:
		subject = "Une décision judiciaire concerne vos certificats (" + o.Ref + ")"
		body = fmt.Sprintf("Madame, Monsieur,\n\nPar l'ordonnance %s de %s du %s, nous devons vous informer sans délai que vos certificats ci-dessous ne sont pas conformes à la loi 53-05 et à ses textes d'application (art. 21-3-7 b).\n\nCertificats : %s\n", o.Ref, o.Court, date, list)
		if revoked {
			body += "\nComme l'ordonnance l'exige, ils ont été révoqués ; on ne peut plus s'y fier, ni signer avec leurs clés.\n"
		}
	}
	return subject, body
}

// disclosureText is the notice to a holder whose records were handed over (L-24).
func disclosureText(lang string, d *Disclosure) (subject, body string) {
	date := d.Date.Format(time.DateOnly)
	switch lang {
	case "en":
		return "Your certificate records were handed to the judicial authorities",
			fmt.Sprintf("Dear holder,\n\nOn the order %s of the King's prosecutor (%s) dated %s, we handed the judicial authorities the records of your registration and of the issuance of your certificates. Your private keys were not, and never are, held or handed over by us.\n\nThe law requires us to tell you without delay (Law 53-05, art. 24).\n", d.Ref, d.Office, date)
	case "ar":
		return "تم تسليم سجلات شهاداتكم إلى السلطات القضائية",
			fmt.Sprintf("السيد(ة) صاحب(ة) الشهادة،\n\nبناء على أمر وكيل الملك %s (%s) بتاريخ %s، سلمنا السلطات القضائية سجلات تسجيلكم وإصدار شهاداتكم. لم نحتفظ أبدا بمفاتيحكم الخاصة ولم نسلمها.\n\nيلزمنا القانون بإخباركم دون تأخير (القانون 53-05، المادة 24).\n", d.Ref, d.Office, date)
	default:
		return "Vos données de certificat ont été communiquées aux autorités judiciaires",
			fmt.Sprintf("Madame, Monsieur,\n\nSur réquisition %s du procureur du Roi (%s) du %s, nous avons communiqué aux autorités judiciaires les données de votre enregistrement et de la délivrance de vos certificats. Vos clés privées ne sont jamais détenues ni communiquées par nous.\n\nLa loi nous oblige à vous en informer sans délai (loi 53-05, art. 24).\n", d.Ref, d.Office, date)
	}
}
