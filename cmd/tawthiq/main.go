// Command tawthiq runs a certification service provider under Morocco's Law 53-05
// and Law 43-20, and talks to a running one. Flags and subcommands only: the work
// is done in internal/app (server side) and client (the REST client).
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tawthiq/tawthiq/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := root().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tawthiq:", oneLine(err))
		os.Exit(1)
	}
}

// serverFlags are the flags every server-side command shares.
type serverFlags struct {
	config, data, addr, db string
}

func (f *serverFlags) add(c *cobra.Command) {
	c.Flags().StringVar(&f.config, "config", "", "YAML configuration file (unknown keys are refused)")
	c.Flags().StringVar(&f.data, "data", "", "data directory (default ./tawthiq-data)")
	c.Flags().StringVar(&f.addr, "addr", "", "listen address (default 127.0.0.1:8080)")
	c.Flags().StringVar(&f.db, "db", "", "database: postgres://... or a SQLite file (default DATA/tawthiq.db)")
}

// load builds the configuration: file, then TAWTHIQ_* variables, then flags.
func (f *serverFlags) load() (app.Config, error) {
	cfg, err := app.LoadConfig(f.config, os.Getenv)
	if err != nil {
		return cfg, err
	}
	for dst, v := range map[*string]string{&cfg.Data: f.data, &cfg.Addr: f.addr, &cfg.DB: f.db} {
		if v != "" {
			*dst = v
		}
	}
	return cfg, nil
}

func root() *cobra.Command {
	r := &cobra.Command{
		Use:           "tawthiq",
		Short:         "tawthiq (توثيق): a trust-services platform under Law 53-05 and Law 43-20",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	r.AddCommand(serveCmd(), ceremonyCmd(), auditCmd(), configCmd(), benchCmd(), verifyCmd(), signCmd(), extendCmd(), authorityCmd(), registrationFileCmd())
	r.AddCommand(contractCmds()...)
	r.AddCommand(bundleCmd(), archiveCmd())
	addClientCommands(r)
	addOrderCommands(r)
	r.AddCommand(cessationCmd())
	addDutyCommands(r)
	return r
}

func serveCmd() *cobra.Command {
	var f serverFlags
	c := &cobra.Command{
		Use:   "serve",
		Short: "run the CSP (on an empty data directory, the demo ceremony runs first)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.load()
			if err != nil {
				return err
			}
			// The server's live heap is small and its garbage steady (replies,
			// requests): collecting at 4x the live heap instead of 2x halves the
			// collector's CPU per request. GOGC, when set, decides.
			if os.Getenv("GOGC") == "" {
				debug.SetGCPercent(serveGCPercent)
			}
			a, err := app.Open(cmd.Context(), cfg, app.Options{Out: cmd.OutOrStdout()})
			if err != nil {
				return err
			}
			defer a.Close()
			return a.Serve(cmd.Context())
		},
	}
	f.add(c)
	return c
}

// serveGCPercent is the server's GOGC unless the environment sets one.
const serveGCPercent = 400

func ceremonyCmd() *cobra.Command {
	var file, data, db, baseURL string
	c := &cobra.Command{
		Use:   "ceremony --config ceremony.yaml",
		Short: "create the CA hierarchy (root, issuing CAs, OCSP and TSA certificates) from a reviewable file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := app.LoadConfig("", os.Getenv)
			if err != nil {
				return err
			}
			for dst, v := range map[*string]string{&cfg.Data: data, &cfg.DB: db, &cfg.BaseURL: baseURL} {
				if v != "" {
					*dst = v
				}
			}
			res, err := app.Ceremony(cmd.Context(), cfg, file, app.Options{Out: cmd.OutOrStdout()})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ceremony done: %d authorities\nadmin token (shown once): %s\n", len(res.Authorities), res.AdminToken)
			return nil
		},
	}
	c.Flags().StringVar(&file, "config", "", "the ceremony file (required)")
	c.Flags().StringVar(&data, "data", "", "data directory (default ./tawthiq-data)")
	c.Flags().StringVar(&db, "db", "", "database: postgres://... or a SQLite file (default DATA/tawthiq.db)")
	c.Flags().StringVar(&baseURL, "base-url", "", "public URL written into certificates (CRL, OCSP, CA certificate)")
	_ = c.MarkFlagRequired("config")
	return c
}

func auditCmd() *cobra.Command {
	a := &cobra.Command{Use: "audit", Short: "the tamper-evident audit log (L-21-2)"}
	var f serverFlags
	var vkey string
	v := &cobra.Command{
		Use:   "verify",
		Short: "recompute the audit log from the stored rows and check every signed checkpoint and its time-stamp",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.load()
			if err != nil {
				return err
			}
			rep, err := app.VerifyAuditOffline(cmd.Context(), cfg, vkey)
			if err != nil {
				return err
			}
			for _, p := range rep.Problems {
				fmt.Fprintln(cmd.OutOrStdout(), "FAIL", p)
			}
			if !rep.OK() {
				return fmt.Errorf("L-21-2: the audit log was altered: %d problem(s), first: %s", len(rep.Problems), rep.Problems[0])
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "ok: %d entries, %d signed checkpoints, %d time-stamped, root %x\n", rep.Entries, rep.Checkpoints, rep.Stamped, rep.Root[:8])
			if n := len(rep.Stamps); n > 0 {
				s := rep.Stamps[n-1]
				fmt.Fprintf(out, "latest time-stamp: checkpoint at size %d, signed %s, stamped by the TSA %s\n",
					s.Size, s.Time.UTC().Format(time.RFC3339Nano), s.GenTime.UTC().Format(time.RFC3339Nano))
			}
			if rep.StampsUnanchored {
				fmt.Fprintln(out, "note: no TSA certificate in the store; tokens were checked against the certificate they carry")
			}
			return nil
		},
	}
	f.add(v)
	v.Flags().StringVar(&vkey, "vkey", "", "checkpoint verifier key (default: DATA/audit.vkey)")
	a.AddCommand(v)
	return a
}

func configCmd() *cobra.Command {
	c := &cobra.Command{Use: "config", Short: "configuration"}
	var file, cer string
	chk := &cobra.Command{
		Use:   "check",
		Short: "validate a configuration file (and a ceremony file) without starting anything",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := app.CheckConfig(file, cer); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "ok")
			return nil
		},
	}
	chk.Flags().StringVar(&file, "config", "", "server configuration file")
	chk.Flags().StringVar(&cer, "ceremony", "", "ceremony file")
	c.AddCommand(chk)
	return c
}

// oneLine keeps CLI errors to one plain line.
func oneLine(err error) string {
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		errs := joined.Unwrap()
		if len(errs) > 1 {
			return fmt.Sprintf("%v (and %d more)", errs[0], len(errs)-1)
		}
	}
	s := err.Error()
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}

func benchCmd() *cobra.Command {
	b := &cobra.Command{Use: "bench", Short: "load tools for a running server"}
	var o app.BenchOCSP
	oc := &cobra.Command{
		Use:   "ocsp --cert ee.pem --issuer ca.pem",
		Short: "ask a responder for one certificate's status from many clients; report answers/s and latency",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.URL == "" {
				o.URL = cmd.Flag("server").Value.String() + "/ocsp"
			}
			res, err := app.RunBenchOCSP(cmd.Context(), o)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d answers in %s: %.0f/s, p50 %s, p99 %s, max %s, %d errors\n",
				res.Requests, res.Elapsed.Round(time.Millisecond), res.PerSecond, res.P50, res.P99, res.Max, res.Errors)
			if res.Errors > 0 {
				return fmt.Errorf("%d answers failed, first: %v", res.Errors, res.FirstErr)
			}
			return nil
		},
	}
	oc.Flags().StringVar(&o.URL, "url", "", "responder URL (default SERVER/ocsp)")
	oc.Flags().StringVar(&o.CertFile, "cert", "", "PEM certificate to ask about")
	oc.Flags().StringVar(&o.IssuerFile, "issuer", "", "PEM certificate of its CA")
	oc.Flags().IntVar(&o.Concurrency, "clients", 16, "concurrent clients")
	oc.Flags().DurationVar(&o.Duration, "duration", 10*time.Second, "how long to run")
	oc.Flags().BoolVar(&o.GET, "get", false, "RFC 5019 GET requests instead of POST")
	_ = oc.MarkFlagRequired("cert")
	_ = oc.MarkFlagRequired("issuer")
	b.AddCommand(oc)
	var ts app.BenchTSA
	tc := &cobra.Command{
		Use:   "tsa",
		Short: "ask a TSA for tokens over random SHA-256 imprints from many clients; report tokens/s, latency and the ratio to raw ECDSA P-256 signing",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ts.URL == "" {
				ts.URL = cmd.Flag("server").Value.String() + "/tsa"
			}
			// TAWTHIQ_CPUPROFILE=file profiles the load tool, as it does the server.
			if path := os.Getenv("TAWTHIQ_CPUPROFILE"); path != "" {
				f, err := os.Create(path)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			res, err := app.RunBenchTSA(cmd.Context(), ts)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d tokens in %s: %.0f/s, p50 %s, p99 %s, max %s, %d errors\n",
				res.Requests, res.Elapsed.Round(time.Millisecond), res.PerSecond, res.P50, res.P99, res.Max, res.Errors)
			if res.RawSignsPerSec > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "raw ECDSA P-256 signing on this machine (%s): %.0f/s (%d cores); tokens/s ÷ signs/s = %.3f\n",
					res.Engine, res.RawSignsPerSec, runtime.GOMAXPROCS(0), res.Ratio)
				if res.RawGoSignsPerSec > 0 {
					fmt.Fprintf(cmd.OutOrStdout(), "raw ECDSA P-256 signing with Go's crypto/ecdsa: %.0f/s; tokens/s ÷ signs/s = %.3f\n",
						res.RawGoSignsPerSec, res.PerSecond/res.RawGoSignsPerSec)
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "every reply checked for status, imprint and a new serial; %d fully verified (signature, digest, ESSCertIDv2)\n", res.Verified)
			if res.Errors > 0 {
				return fmt.Errorf("%d requests failed, first: %v", res.Errors, res.FirstErr)
			}
			return nil
		},
	}
	tc.Flags().StringVar(&ts.URL, "url", "", "TSA URL (default SERVER/tsa)")
	tc.Flags().IntVar(&ts.Concurrency, "clients", 16, "concurrent clients")
	tc.Flags().DurationVar(&ts.Duration, "duration", 10*time.Second, "how long to run")
	tc.Flags().BoolVar(&ts.CertReq, "cert-req", false, "ask for the TSA certificate in every token")
	tc.Flags().IntVar(&ts.VerifyOneIn, "verify-every", 64, "verify the signature of one reply in N (1: every reply)")
	tc.Flags().StringVar((*string)(&ts.Engine), "engine", "", "the server's signing_engine, for the raw signing rate (go, libcrypto; default libcrypto when it loads)")
	tc.Flags().IntVar(&ts.WantStatus, "want-status", 200, "HTTP status of a reply (another TSA may answer 201)")
	tc.Flags().DurationVar(&ts.SignFor, "sign-for", time.Second, "how long to measure raw ECDSA P-256 signing before the load (negative: skip)")
	b.AddCommand(tc)
	return b
}

func verifyCmd() *cobra.Command {
	var v app.Verify
	var f serverFlags
	var asJSON, useStore bool
	var report, lang string
	c := &cobra.Command{
		Use:   "verify FILE [--content DOCUMENT] [--roots root.pem] [--local] [--fetch] [--trusted-list URL --authority-cert tl.pem] [--report out.html|out.pdf --lang ar|fr|en]",
		Short: "validate a signed PDF (PAdES) or a CMS signature (CAdES): ETSI EN 319 102-1 indication and what the law concludes",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v.Signature = args[0]
			if useStore {
				cfg, err := f.load()
				if err != nil {
					return err
				}
				v.Config = &cfg
			}
			rep, err := app.RunVerify(cmd.Context(), v)
			if err != nil {
				return err
			}
			if report != "" {
				if err := writeReport(rep, report, lang); err != nil {
					return err
				}
			}
			if asJSON {
				if err := printJSON(cmd.OutOrStdout(), rep); err != nil {
					return err
				}
			} else {
				printReport(cmd.OutOrStdout(), rep)
			}
			if !rep.Passed() {
				return fmt.Errorf("%s: the document's signatures do not all pass", rep.Indication)
			}
			return nil
		},
	}
	c.Flags().StringVar(&v.Content, "content", "", "the signed document, for a detached CMS signature")
	c.Flags().StringSliceVar(&v.Roots, "roots", nil, "PEM trust anchors (repeatable)")
	c.Flags().BoolVar(&useStore, "local", false, "also trust this CSP's root, take status from its records (--data/--db) and use its authority's latest trusted list")
	c.Flags().BoolVar(&v.Fetch, "fetch", false, "ask each certificate's OCSP responder or CRL for its status now")
	c.Flags().StringVar(&v.TrustedList, "trusted-list", "", "a national trusted list (file or URL) that decides which CSPs were approved")
	c.Flags().StringVar(&v.AuthorityCert, "authority-cert", "", "the PEM certificate of the authority that signs --trusted-list")
	c.Flags().BoolVar(&asJSON, "json", false, "print the full report as JSON")
	c.Flags().StringVar(&report, "report", "", "also write a readable report: a .html or .pdf file")
	c.Flags().StringVar(&lang, "lang", "fr", "the report's language: ar, fr or en")
	f.add(c)
	return c
}

func registrationFileCmd() *cobra.Command {
	var f serverFlags
	var out, seat string
	c := &cobra.Command{
		Use:   "registration-file --data DIR --seat ADDRESS -o registration.json",
		Short: "write what the national authority needs to register this CSP: identity, services and their certificates, policy documents",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.load()
			if err != nil {
				return err
			}
			rf, err := app.RunRegistrationFile(cmd.Context(), cfg, seat)
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			if err := printJSON(&buf, rf); err != nil {
				return err
			}
			if out == "" {
				_, err = cmd.OutOrStdout().Write(buf.Bytes())
				return err
			}
			return os.WriteFile(out, buf.Bytes(), 0o644)
		},
	}
	c.Flags().StringVarP(&out, "out", "o", "", "the file to write (default: standard output)")
	c.Flags().StringVar(&seat, "seat", "", "the CSP's registered office (postal address)")
	_ = c.MarkFlagRequired("seat")
	f.add(c)
	return c
}

func printReport(out io.Writer, rep app.VerifyReport) {
	kind := rep.Kind
	if rep.PDF != nil && rep.PDF.Level != "" {
		kind += " " + rep.PDF.Level
	}
	fmt.Fprintf(out, "%s %s (%d signature(s))\n", kind, rep.Indication, len(rep.Signatures))
	for _, w := range rep.Warnings {
		fmt.Fprintf(out, "warning: %s\n", w)
	}
	if rep.PDF != nil && rep.PDF.ChangedAfterSigning {
		fmt.Fprintf(out, "the document was changed after signing: %s\n", strings.Join(rep.PDF.ChangedKinds, ", "))
	}
	if rep.Bundle != nil {
		fmt.Fprint(out, rep.Bundle.Summary())
	}
	for i, r := range rep.Signatures {
		fmt.Fprintf(out, "signature %d: %s\n%s\n", i+1, strings.Join(slices.DeleteFunc([]string{r.Level, string(r.Indication), string(r.SubIndication)},
			func(s string) bool { return s == "" }), " "), r.Reason)
		if r.Signer != nil {
			fmt.Fprintf(out, "signer: %s\n", r.Signer.Subject)
		}
		fmt.Fprintf(out, "time: %s (%s)\n", r.ProvenTime.UTC().Format(time.RFC3339), r.ProvenBy)
		if !r.SignedAfter.IsZero() {
			fmt.Fprintf(out, "made after: %s (content time-stamp)\n", r.SignedAfter.UTC().Format(time.RFC3339))
		}
		if !r.RenewBefore.IsZero() {
			fmt.Fprintf(out, "renew before: %s (tawthiq extend --level B-LTA), or the date is no longer proven\n", r.RenewBefore.UTC().Format(time.RFC3339))
		}
		for _, c := range r.Conclusions {
			mark := "no "
			if c.Holds {
				mark = "yes"
			}
			fmt.Fprintf(out, "  %s %-8s %s\n", mark, c.Rule, c.Why)
		}
	}
	if rep.PDF != nil {
		for _, c := range rep.PDF.Conclusions {
			mark := "no "
			if c.Holds {
				mark = "yes"
			}
			fmt.Fprintf(out, "document: %s %-8s %s\n", mark, c.Rule, c.Why)
		}
	}
}

// writeReport writes the readable report, all or nothing.
func writeReport(rep app.VerifyReport, path, lang string) error {
	format := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	var buf bytes.Buffer
	if err := rep.WriteReport(&buf, format, lang); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
