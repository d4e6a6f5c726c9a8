package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tawthiq/tawthiq/client"
)

// serviceTypes are the short names the CLI takes for TS 119 612 service type URIs.
var serviceTypes = map[string]string{
	"ca-qc":           "http://uri.etsi.org/TrstSvc/Svctype/CA/QC",
	"tsa-qtst":        "http://uri.etsi.org/TrstSvc/Svctype/TSA/QTST",
	"ocsp-qc":         "http://uri.etsi.org/TrstSvc/Svctype/Certstatus/OCSP/QC",
	"crl-qc":          "http://uri.etsi.org/TrstSvc/Svctype/Certstatus/CRL/QC",
	"eds-q":           "http://uri.etsi.org/TrstSvc/Svctype/EDS/Q",
	"qesvalidation-q": "http://uri.etsi.org/TrstSvc/Svctype/QESValidation/Q",
	"pses-q":          "http://uri.etsi.org/TrstSvc/Svctype/PSES/Q",
}

// authorityCmd is the national authority's register (L-15). It reads --server from
// the root's persistent flag, so it needs no other wiring.
func authorityCmd() *cobra.Command {
	a := &cobra.Command{Use: "authority", Short: "the national authority's register of CSPs, services, insurance, audits, sanctions, cryptography and agreements (admin; auditors read)"}
	csp := &cobra.Command{Use: "csp", Short: "CSPs in the register"}
	csp.AddCommand(cspAddCmd(), cspImportCmd(), cspUpdateCmd(), cspListCmd(), cspShowCmd())
	svc := &cobra.Command{Use: "service", Short: "trust services and their status history"}
	svc.AddCommand(serviceAddCmd(), serviceStatusCmd())
	ins := &cobra.Command{Use: "insurance", Short: "professional liability insurance (L-21-3-6)"}
	ins.AddCommand(insuranceAddCmd(), insuranceWarningsCmd())
	aud := &cobra.Command{Use: "audit", Short: "audits and their findings (L-15)"}
	aud.AddCommand(auditAddCmd())
	snc := &cobra.Command{Use: "sanction", Short: "sanctions (L-15)"}
	snc.AddCommand(sanctionAddCmd())
	cry := &cobra.Command{Use: "crypto", Short: "cryptography declarations and authorisations (L-13)"}
	cry.AddCommand(cryptoAddCmd())
	agr := &cobra.Command{Use: "agreement", Short: "mutual-recognition agreements and the foreign trusted lists they recognise (L-22)"}
	agr.AddCommand(agreementAddCmd(), agreementListCmd())
	a.AddCommand(csp, svc, ins, aud, snc, cry, agr, exportCmd())
	return a
}

// authorityRun wraps a command body with a client for the root's --server.
func authorityRun(f func(cmd *cobra.Command, c *client.Client, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		r := &remote{server: "http://127.0.0.1:8080"}
		if fl := cmd.Flag("server"); fl != nil {
			r.server = fl.Value.String()
		}
		c, err := r.client()
		if err != nil {
			return err
		}
		return f(cmd, c, args)
	}
}

// authorityCall runs a command that makes one call to the register and shows its answer;
// the call also parses the flags, so a bad flag fails before anything is sent.
func authorityCall[T any](call func(ctx context.Context, c *client.Client, args []string) (T, error), show func(w io.Writer, got T) error) func(*cobra.Command, []string) error {
	return authorityRun(func(cmd *cobra.Command, c *client.Client, args []string) error {
		got, err := call(cmd.Context(), c, args)
		if err != nil {
			return err
		}
		return show(cmd.OutOrStdout(), got)
	})
}

// printText shows an answer as one line (or a few) of text.
func printText[T any](line func(w io.Writer, got T)) func(io.Writer, T) error {
	return func(w io.Writer, got T) error {
		line(w, got)
		return nil
	}
}

// table shows a list under a header, one tab-separated row per item.
func table[T any](header string, row func(w io.Writer, x T)) func(io.Writer, []T) error {
	return func(w io.Writer, xs []T) error {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, header)
		for _, x := range xs {
			row(tw, x)
		}
		return tw.Flush()
	}
}

func requireFlags(c *cobra.Command, names ...string) {
	for _, n := range names {
		_ = c.MarkFlagRequired(n)
	}
}

// when reads a date (2006-01-02, midnight UTC) or an RFC 3339 time.
func when(flag, v string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t.UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("--%s %q: want a date (2025-06-01) or an RFC 3339 time (2025-06-01T09:00:00Z)", flag, v)
	}
	return t, nil
}

// readCerts reads DER certificates from PEM or DER files.
func readCerts(files []string) ([][]byte, error) {
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if !strings.Contains(string(b), "-----BEGIN") {
			out = append(out, b)
			continue
		}
		n := 0
		for rest := b; ; {
			var blk *pem.Block
			blk, rest = pem.Decode(rest)
			if blk == nil {
				break
			}
			if blk.Type == "CERTIFICATE" {
				out, n = append(out, blk.Bytes), n+1
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("%s holds no PEM CERTIFICATE", f)
		}
	}
	return out, nil
}

func cspFlags(c *cobra.Command, in *client.CSPRequest) {
	f := c.Flags()
	f.StringVar(&in.Name, "name", "", "the CSP's name")
	f.StringVar(&in.Country, "country", "MA", "ISO 3166-1 alpha-2 code of its seat")
	f.StringVar(&in.IDKind, "id-kind", "ice", "ice, rc (trade register) or foreign")
	f.StringVar(&in.IDNumber, "id-number", "", "its ICE (15 digits), trade register number or foreign registration")
	f.StringVar(&in.Seat, "seat", "", "postal address of its head office")
	f.StringVar(&in.InformationURI, "info-uri", "", "where its policies are published")
	f.StringVar(&in.AgreementID, "agreement", "", "for a CSP established abroad: the recognition agreement with its State (L-22)")
}

func printCSP(w io.Writer, c *client.CSP) {
	fmt.Fprintf(w, "csp %s\nversion %d\nname %s (%s, %s %s)\n", c.ID, c.Version, c.Name, c.Country, c.IDKind, c.IDNumber)
}

func cspAddCmd() *cobra.Command {
	var in client.CSPRequest
	c := &cobra.Command{Use: "add", Short: "register a CSP", Args: cobra.NoArgs,
		RunE: authorityCall(func(ctx context.Context, c *client.Client, _ []string) (*client.CSP, error) {
			return c.RegisterCSP(ctx, in)
		}, printText(printCSP))}
	cspFlags(c, &in)
	return c
}

// cspImportCmd registers a CSP from the file its tawthiq wrote (tawthiq
// registration-file), granting its services from the authority's decision.
func cspImportCmd() *cobra.Command {
	var from, decision string
	c := &cobra.Command{Use: "import REGISTRATION.json --decision REF --from DATE", Short: "register a CSP and its services from its registration file", Args: cobra.ExactArgs(1),
		RunE: authorityRun(func(cmd *cobra.Command, c *client.Client, args []string) error {
			b, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			var rf client.RegistrationFile
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&rf); err != nil {
				return fmt.Errorf("%s is not a registration file: %w", args[0], err)
			}
			at, err := when("from", from)
			if err != nil {
				return err
			}
			got, err := c.RegisterCSP(cmd.Context(), rf.CSP)
			if err != nil {
				return err
			}
			printCSP(cmd.OutOrStdout(), got)
			for _, s := range rf.Services {
				s.CSPID, s.Grant = got.ID, client.StatusRequest{Status: "granted", From: at, Decision: decision}
				svc, err := c.AddTrustService(cmd.Context(), s)
				if err != nil {
					return fmt.Errorf("service %s: %w", s.Name, err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "service %s %s granted from %s\n", svc.ID, svc.Name, at.Format(time.RFC3339))
			}
			return nil
		})}
	c.Flags().StringVar(&from, "from", "", "when the approval takes effect (2026-01-01 or RFC 3339)")
	c.Flags().StringVar(&decision, "decision", "", "the authority's decision reference")
	requireFlags(c, "from", "decision")
	return c
}

func cspUpdateCmd() *cobra.Command {
	var in client.CSPRequest
	c := &cobra.Command{Use: "update CSP_ID", Short: "record a new version of a CSP's record (give every field)", Args: cobra.ExactArgs(1),
		RunE: authorityCall(func(ctx context.Context, c *client.Client, args []string) (*client.CSP, error) {
			return c.UpdateCSP(ctx, args[0], in)
		}, printText(printCSP))}
	cspFlags(c, &in)
	return c
}

func cspListCmd() *cobra.Command {
	return &cobra.Command{Use: "list", Short: "list the register's CSPs", Args: cobra.NoArgs,
		RunE: authorityCall(func(ctx context.Context, c *client.Client, _ []string) ([]client.CSP, error) {
			return c.CSPs(ctx)
		}, table("ID\tNAME\tCOUNTRY\tREGISTRATION\tVERSION", func(w io.Writer, x client.CSP) {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s %s\t%d\n", x.ID, x.Name, x.Country, x.IDKind, x.IDNumber, x.Version)
		}))}
}

func cspShowCmd() *cobra.Command {
	return &cobra.Command{Use: "show CSP_ID", Short: "show a CSP with everything recorded about it (JSON)", Args: cobra.ExactArgs(1),
		RunE: authorityCall(func(ctx context.Context, c *client.Client, args []string) (*client.Dossier, error) {
			return c.CSPDossier(ctx, args[0])
		}, func(w io.Writer, d *client.Dossier) error { return printJSON(w, d) })}
}

func serviceAddCmd() *cobra.Command {
	var in client.ServiceRequest
	var typ, from string
	var certs []string
	c := &cobra.Command{Use: "add", Short: "add a CSP's trust service with the decision that grants it", Args: cobra.NoArgs,
		RunE: authorityCall(func(ctx context.Context, c *client.Client, _ []string) (*client.TrustService, error) {
			in.Type = typ
			if uri, ok := serviceTypes[strings.ToLower(typ)]; ok {
				in.Type = uri
			}
			var err error
			if in.Grant.From, err = when("from", from); err != nil {
				return nil, err
			}
			if in.Certificates, err = readCerts(certs); err != nil {
				return nil, err
			}
			in.Grant.Status = "granted"
			return c.AddTrustService(ctx, in)
		}, printText(func(w io.Writer, got *client.TrustService) {
			fmt.Fprintf(w, "service %s\nstatus %s from %s (decision %s)\n", got.ID, got.Status,
				got.History[len(got.History)-1].From, got.History[len(got.History)-1].Decision)
		}))}
	f := c.Flags()
	f.StringVar(&in.CSPID, "csp", "", "the CSP's ID")
	f.StringVar(&typ, "type", "ca-qc", "ca-qc, tsa-qtst, ocsp-qc, crl-qc, eds-q, qesvalidation-q, pses-q, or a TS 119 612 service type URI")
	f.StringVar(&in.Name, "name", "", "the service's name")
	f.StringSliceVar(&in.Qualifiers, "qualifier", nil, "what a CA/QC's certificates are qualified for: esig, eseal (repeat or comma-separate)")
	f.StringArrayVar(&certs, "cert", nil, "a PEM or DER file with the service's certificate(s), all of one key (repeatable)")
	f.StringVar(&from, "from", "", "when the grant takes effect (date or RFC 3339)")
	f.StringVar(&in.Grant.Decision, "decision", "", "the granting decision's reference")
	f.StringVar(&in.Grant.Note, "note", "", "a note")
	requireFlags(c, "csp", "name", "cert", "from", "decision")
	return c
}

func serviceStatusCmd() *cobra.Command {
	var in client.StatusRequest
	var from, at string
	c := &cobra.Command{Use: "status SERVICE_ID", Short: "show a service's status (now or --at), or record a decision with --set",
		Long: `Without --set, show the status in force now (or at --at) and the history.
With --set granted|suspended|withdrawn, record the decision (--decision, --from): a new
status starts no earlier than the one in force, and a withdrawn service can only be
granted again, by a new decision (L-15).`,
		Args: cobra.ExactArgs(1),
		RunE: authorityRun(func(cmd *cobra.Command, c *client.Client, args []string) error {
			w := cmd.OutOrStdout()
			if in.Status == "" {
				var t time.Time
				if at != "" {
					var err error
					if t, err = when("at", at); err != nil {
						return err
					}
				}
				st, err := c.ServiceStatusAt(cmd.Context(), args[0], t)
				if err != nil {
					return err
				}
				s := st.Status
				if s == "" {
					s = "none (not yet granted)"
				}
				fmt.Fprintf(w, "status %s at %s\n", s, st.At)
				svc, err := c.TrustService(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				printHistory(w, svc)
				return nil
			}
			if from == "" {
				return fmt.Errorf("--set needs --from (when the decision takes effect) and --decision")
			}
			var err error
			if in.From, err = when("from", from); err != nil {
				return err
			}
			svc, err := c.ChangeServiceStatus(cmd.Context(), args[0], in)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "service %s\nstatus %s\n", svc.ID, svc.Status)
			printHistory(w, svc)
			return nil
		})}
	f := c.Flags()
	f.StringVar(&in.Status, "set", "", "record a decision: granted, suspended or withdrawn")
	f.StringVar(&from, "from", "", "when it takes effect (date or RFC 3339)")
	f.StringVar(&in.Decision, "decision", "", "the decision's reference")
	f.StringVar(&in.Note, "note", "", "a note")
	f.StringVar(&at, "at", "", "show the status at this time instead of now")
	return c
}

func printHistory(w io.Writer, s *client.TrustService) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tSTATUS\tFROM\tDECISION\tRECORDED")
	for _, h := range s.History {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", h.Seq, h.Status, h.From, h.Decision, h.RecordedAt)
	}
	_ = tw.Flush()
}

func insuranceAddCmd() *cobra.Command {
	var in client.InsuranceRequest
	var from, until string
	c := &cobra.Command{Use: "add", Short: "record a CSP's liability insurance policy", Args: cobra.NoArgs,
		RunE: authorityCall(func(ctx context.Context, c *client.Client, _ []string) (*client.Insurance, error) {
			var err error
			if in.ValidFrom, err = when("from", from); err != nil {
				return nil, err
			}
			if in.ValidUntil, err = when("until", until); err != nil {
				return nil, err
			}
			return c.RecordInsurance(ctx, in)
		}, printText(func(w io.Writer, got *client.Insurance) {
			fmt.Fprintf(w, "insurance %s\n", got.ID)
		}))}
	f := c.Flags()
	f.StringVar(&in.CSPID, "csp", "", "the CSP's ID")
	f.StringVar(&in.Insurer, "insurer", "", "the insurer")
	f.StringVar(&in.Policy, "policy", "", "the policy number")
	f.Int64Var(&in.CoverMAD, "cover-mad", 0, "the cover, in dirhams")
	f.StringVar(&from, "from", "", "start of cover (date or RFC 3339)")
	f.StringVar(&until, "until", "", "end of cover, exclusive (date or RFC 3339)")
	requireFlags(c, "csp", "from", "until")
	return c
}

func insuranceWarningsCmd() *cobra.Command {
	return &cobra.Command{Use: "warnings", Short: "CSPs with a granted service whose cover ends soon or has ended", Args: cobra.NoArgs,
		RunE: authorityCall(func(ctx context.Context, c *client.Client, _ []string) (*client.InsuranceWarnings, error) {
			return c.InsuranceWarnings(ctx)
		}, printText(func(w io.Writer, ws *client.InsuranceWarnings) {
			fmt.Fprintf(w, "cover ending within %d days, or ended:\n", ws.NoticeDays)
			for _, x := range ws.Warnings {
				lapses := "never insured"
				if x.LapsesAt != nil {
					lapses = x.LapsesAt.String()
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", x.Kind, x.CSPID, x.CSPName, lapses)
			}
		}))}
}

func auditAddCmd() *cobra.Command {
	var in client.AuditRequest
	var date string
	var findings []string
	c := &cobra.Command{Use: "add", Short: "record an audit and its findings", Args: cobra.NoArgs,
		RunE: authorityCall(func(ctx context.Context, c *client.Client, _ []string) (*client.Audit, error) {
			var err error
			if in.Date, err = when("date", date); err != nil {
				return nil, err
			}
			for _, f := range findings {
				sev, text, ok := strings.Cut(f, ":")
				if !ok {
					return nil, fmt.Errorf("--finding %q: want SEVERITY:TEXT, e.g. minor:CPS out of date", f)
				}
				in.Findings = append(in.Findings, client.Finding{Severity: strings.TrimSpace(sev), Text: strings.TrimSpace(text)})
			}
			return c.RecordAudit(ctx, in)
		}, printText(func(w io.Writer, got *client.Audit) {
			fmt.Fprintf(w, "audit %s (%s, %d finding(s))\n", got.ID, got.Outcome, len(got.Findings))
		}))}
	f := c.Flags()
	f.StringVar(&in.CSPID, "csp", "", "the CSP's ID")
	f.StringVar(&in.ServiceID, "service", "", "the service audited, if one")
	f.StringVar(&in.Kind, "kind", "periodic", "approval, periodic or ad-hoc")
	f.StringVar(&in.Auditor, "auditor", "", "the body that audited")
	f.StringVar(&date, "date", "", "when the audit ended (date or RFC 3339)")
	f.StringVar(&in.ReportRef, "report", "", "the report's reference")
	f.StringVar(&in.Outcome, "outcome", "", "pass, pass-with-findings or fail")
	f.StringArrayVar(&findings, "finding", nil, "SEVERITY:TEXT, severity major, minor or observation (repeatable)")
	requireFlags(c, "csp", "date")
	return c
}

func sanctionAddCmd() *cobra.Command {
	var in client.SanctionRequest
	var date string
	c := &cobra.Command{Use: "add", Short: "record a sanction (a suspension or withdrawal then takes effect with `authority service status --set`)", Args: cobra.NoArgs,
		RunE: authorityCall(func(ctx context.Context, c *client.Client, _ []string) (*client.Sanction, error) {
			var err error
			if in.DecidedAt, err = when("date", date); err != nil {
				return nil, err
			}
			return c.RecordSanction(ctx, in)
		}, printText(func(w io.Writer, got *client.Sanction) {
			fmt.Fprintf(w, "sanction %s (%s)\n", got.ID, got.Kind)
		}))}
	f := c.Flags()
	f.StringVar(&in.CSPID, "csp", "", "the CSP's ID")
	f.StringVar(&in.ServiceID, "service", "", "the service (required for a suspension or withdrawal)")
	f.StringVar(&in.Kind, "kind", "", "warning, fine, suspension or withdrawal")
	f.StringVar(&in.Decision, "decision", "", "the decision's reference")
	f.StringVar(&date, "date", "", "when it was decided (date or RFC 3339)")
	f.Int64Var(&in.AmountMAD, "amount-mad", 0, "a fine's amount, in dirhams")
	f.StringVar(&in.Note, "note", "", "a note")
	requireFlags(c, "csp", "date")
	return c
}

func cryptoAddCmd() *cobra.Command {
	var in client.CryptoRequest
	var date, until string
	c := &cobra.Command{Use: "add", Short: "record a cryptography declaration or authorisation (L-13)", Args: cobra.NoArgs,
		RunE: authorityCall(func(ctx context.Context, c *client.Client, _ []string) (*client.CryptoDeclaration, error) {
			var err error
			if in.DecidedAt, err = when("date", date); err != nil {
				return nil, err
			}
			if until != "" {
				t, err := when("until", until)
				if err != nil {
					return nil, err
				}
				in.ValidUntil = &t
			}
			return c.RecordCrypto(ctx, in)
		}, printText(func(w io.Writer, got *client.CryptoDeclaration) {
			fmt.Fprintf(w, "crypto %s (%s for %s)\n", got.ID, got.Kind, got.Purpose)
		}))}
	f := c.Flags()
	f.StringVar(&in.CSPID, "csp", "", "the CSP's ID")
	f.StringVar(&in.Kind, "kind", "declaration", "declaration or authorisation")
	f.StringVar(&in.Purpose, "purpose", "authentication-integrity", "authentication-integrity or confidentiality (which needs an authorisation)")
	f.StringVar(&in.Means, "means", "", "the means, e.g. \"ECDSA P-384 in an HSM\"")
	f.StringVar(&in.Reference, "reference", "", "the declaration receipt's or authorisation's reference")
	f.StringVar(&date, "date", "", "when it was declared or authorised (date or RFC 3339)")
	f.StringVar(&until, "until", "", "an authorisation's end, if any")
	requireFlags(c, "csp", "date")
	return c
}

func agreementAddCmd() *cobra.Command {
	var in client.AgreementRequest
	var signed string
	var lists, listCerts []string
	c := &cobra.Command{Use: "add", Short: "record a mutual-recognition agreement and the foreign trusted lists it recognises (L-22)",
		Long: `Each --list TERRITORY=URL names a foreign trusted list; each --list-cert TERRITORY=FILE
adds a certificate (PEM or DER) that may sign that territory's list.`,
		Args: cobra.NoArgs,
		RunE: authorityCall(func(ctx context.Context, c *client.Client, _ []string) (*client.Agreement, error) {
			var err error
			if in.SignedAt, err = when("signed", signed); err != nil {
				return nil, err
			}
			if in.Lists, err = listPointers(lists, listCerts); err != nil {
				return nil, err
			}
			return c.RecordAgreement(ctx, in)
		}, printText(func(w io.Writer, got *client.Agreement) {
			fmt.Fprintf(w, "agreement %s (%s, %s)\n", got.ID, got.Reference, strings.Join(got.Countries, ", "))
		}))}
	f := c.Flags()
	f.StringVar(&in.Reference, "reference", "", "the agreement's reference")
	f.StringVar(&in.Kind, "kind", "bilateral", "bilateral or multilateral")
	f.StringVar(&in.Title, "title", "", "its title")
	f.StringVar(&signed, "signed", "", "when it was signed (date or RFC 3339)")
	f.StringSliceVar(&in.Countries, "country", nil, "the other parties, ISO 3166-1 alpha-2 (repeat or comma-separate)")
	f.StringArrayVar(&lists, "list", nil, "TERRITORY=URL of a foreign trusted list (repeatable)")
	f.StringArrayVar(&listCerts, "list-cert", nil, "TERRITORY=FILE: a certificate that may sign that list (repeatable)")
	requireFlags(c, "reference", "signed", "country")
	return c
}

// listPointers pairs --list TERRITORY=URL with the --list-cert TERRITORY=FILE of the same territory.
func listPointers(lists, certs []string) ([]client.TrustedListPointer, error) {
	var out []client.TrustedListPointer
	idx := map[string]int{}
	for _, l := range lists {
		terr, loc, ok := strings.Cut(l, "=")
		if !ok {
			return nil, fmt.Errorf("--list %q: want TERRITORY=URL", l)
		}
		idx[terr] = len(out)
		out = append(out, client.TrustedListPointer{Territory: terr, Location: loc})
	}
	for _, lc := range certs {
		terr, file, ok := strings.Cut(lc, "=")
		i, known := idx[terr]
		if !ok || !known {
			return nil, fmt.Errorf("--list-cert %q: want TERRITORY=FILE for a territory given with --list", lc)
		}
		ders, err := readCerts([]string{file})
		if err != nil {
			return nil, err
		}
		out[i].Certificates = append(out[i].Certificates, ders...)
	}
	return out, nil
}

func agreementListCmd() *cobra.Command {
	return &cobra.Command{Use: "list", Short: "list the recognition agreements", Args: cobra.NoArgs,
		RunE: authorityCall(func(ctx context.Context, c *client.Client, _ []string) ([]client.Agreement, error) {
			return c.Agreements(ctx)
		}, table("ID\tREFERENCE\tKIND\tCOUNTRIES\tLISTS", func(w io.Writer, x client.Agreement) {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\n", x.ID, x.Reference, x.Kind, strings.Join(x.Countries, ","), len(x.Lists))
		}))}
}

func exportCmd() *cobra.Command {
	var year int
	var out string
	c := &cobra.Command{Use: "export --year YEAR", Short: "write the yearly register (JSON) as it stood on 31 December, with the year's changes (L-15)",
		Args: cobra.NoArgs,
		RunE: authorityCall(func(ctx context.Context, c *client.Client, _ []string) ([]byte, error) {
			return c.ExportRegister(ctx, year)
		}, func(w io.Writer, b []byte) error {
			if out == "" || out == "-" {
				_, err := w.Write(b)
				return err
			}
			if err := os.WriteFile(out, b, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(w, "wrote the register of %d to %s (%d bytes)\n", year, out, len(b))
			return nil
		})}
	c.Flags().IntVar(&year, "year", 0, "the year, once ended")
	c.Flags().StringVarP(&out, "output", "o", "", "write to this file instead of standard output")
	requireFlags(c, "year")
	return c
}
