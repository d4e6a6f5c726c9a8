package main

import (
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/tawthiq/tawthiq/client"
	"github.com/tawthiq/tawthiq/internal/app"
)

// maxTakeoverArchive bounds what import reads: a large CSP's whole record.
const maxTakeoverArchive = 4 << 30

// cessationActor names the operator of the data-directory steps in the audit log.
const cessationActor = "operator (cli)"

func cessationCmd() *cobra.Command {
	c := &cobra.Command{Use: "cessation", Short: "cease the CSP's activity as the law requires: plan, warn, revoke-all or takeover (L-23)",
		Long: `The cessation of activity (Law 53-05 art. 23, Law 43-20 art. 37):
  plan        record the end date (at least two months ahead) and tell the authority
  status      each deadline: due, done, late
  warn        warn every holder (no successor); revoke-all within two months after
  revoke-all  revoke every certificate, with progress; the last round publishes the final CRLs
  csr         (successor) the CSR of the key that answers OCSP for the certificates taken over
  export      (ceding CSP) the signed takeover archive for the successor
  import      (successor) verify and record a takeover archive
plan, status, warn and revoke-all talk to the server (--server, TAWTHIQ_TOKEN);
csr, export and import work on the data directory (--data, --config), like audit verify.`}
	c.AddCommand(cessationPlanCmd(), cessationStatusCmd(), cessationWarnCmd(), cessationRevokeAllCmd(),
		takeoverCSRCmd(), takeoverExportCmd(), takeoverImportCmd())
	return c
}

// cessationClient returns a client for the --server the command was given.
func cessationClient(cmd *cobra.Command) (*client.Client, error) {
	r := &remote{server: "http://127.0.0.1:8080"}
	if f := cmd.Flag("server"); f != nil {
		r.server = f.Value.String()
	}
	return r.client()
}

func cessationPlanCmd() *cobra.Command {
	var in client.CessationPlanRequest
	var end, succName, succID string
	c := &cobra.Command{
		Use:   "plan --end DATE --mode takeover|revoke-all|judicial-liquidation [--successor NAME --successor-id ID]",
		Short: "record the intended end of activity and queue the notice to the authority (L-23)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := parseDate(end)
			if err != nil {
				return fmt.Errorf("--end: %w", err)
			}
			in.End = client.Timestamp{Time: t}
			if succName != "" || succID != "" {
				in.Successor = &client.CessationSuccessor{Name: succName, Identifier: succID}
			}
			cl, err := cessationClient(cmd)
			if err != nil {
				return err
			}
			st, err := cl.PlanCessation(cmd.Context(), in)
			if err != nil {
				return err
			}
			return printCessation(cmd.OutOrStdout(), st)
		},
	}
	f := c.Flags()
	f.StringVar(&end, "end", "", "the last day of activity (YYYY-MM-DD or RFC 3339), at least two months ahead unless judicial-liquidation")
	f.StringVar(&in.Mode, "mode", "", "takeover, revoke-all or judicial-liquidation")
	f.StringVar(&succName, "successor", "", "takeover: the successor CSP's name")
	f.StringVar(&succID, "successor-id", "", "takeover: the successor's trade-register or ICE number (its organizationIdentifier)")
	f.StringVar(&in.Note, "note", "", "a note kept with the plan")
	_ = c.MarkFlagRequired("end")
	_ = c.MarkFlagRequired("mode")
	return c
}

func cessationStatusCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{Use: "status", Short: "each deadline of the cessation plan: due, done, late (admin, auditor)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := cessationClient(cmd)
			if err != nil {
				return err
			}
			st, err := cl.CessationStatus(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), st)
			}
			return printCessation(cmd.OutOrStdout(), st)
		}}
	c.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
	return c
}

// printCessation shows the plan, then one line per deadline; a late one says LATE.
func printCessation(w io.Writer, st *client.CessationStatus) error {
	p := st.Plan
	fmt.Fprintf(w, "plan: %s, end %s (planned %s by %s)\n", p.Mode, p.End.UTC().Format(time.DateOnly), p.PlannedAt, p.PlannedBy)
	if p.Successor != nil {
		fmt.Fprintf(w, "successor: %s (%s)\n", p.Successor.Name, p.Successor.Identifier)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tRULE\tDUE\tDONE\tSTATE\tDUTY")
	late := 0
	for _, d := range st.Deadlines {
		due, done, state := "-", "-", "pending"
		if d.Due != nil {
			due = d.Due.UTC().Format(time.DateOnly)
		}
		if d.DoneAt != nil {
			done, state = d.DoneAt.UTC().Format(time.DateOnly), "done"
		}
		if d.Late {
			state += ", LATE"
			late++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.Step, d.Rule, due, done, state, d.Duty)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range st.AuthorityNotice {
		fmt.Fprintf(w, "authority notice: %s to %s, %q\n", n.Channel, n.Recipient, n.Subject)
	}
	fmt.Fprintf(w, "holders warned: %d; certificates not revoked: %d; late: %d (as of %s)\n", st.HoldersWarned, st.Unrevoked, late, st.Now)
	return nil
}

func cessationWarnCmd() *cobra.Command {
	return &cobra.Command{Use: "warn", Short: "warn every holder of an unrevoked certificate of its coming revocation (L-23)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := cessationClient(cmd)
			if err != nil {
				return err
			}
			out, err := cl.WarnHolders(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "warned %d holder(s); every certificate must be revoked within two months of the first warning (L-23)\n", out.Queued)
			return nil
		}}
}

func cessationRevokeAllCmd() *cobra.Command {
	var batch int
	c := &cobra.Command{Use: "revoke-all", Short: "revoke every certificate on the ground cessation, with progress; resumable (L-23)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := cessationClient(cmd)
			if err != nil {
				return err
			}
			var bar *progressbar.ProgressBar
			revoked := 0
			for {
				if err := cmd.Context().Err(); err != nil {
					return fmt.Errorf("interrupted after %d revocations: run revoke-all again to finish", revoked)
				}
				pr, err := cl.RevokeForCessation(cmd.Context(), batch)
				if err != nil {
					return err
				}
				revoked += pr.Revoked
				if bar == nil {
					bar = progressbar.NewOptions(pr.Revoked+pr.Remaining, progressbar.OptionSetWriter(cmd.ErrOrStderr()),
						progressbar.OptionSetDescription("revoking"), progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true),
						progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
				}
				_ = bar.Add(pr.Revoked)
				if pr.Done {
					_ = bar.Finish()
					w := cmd.OutOrStdout()
					fmt.Fprintf(w, "revoked %d certificate(s); none remains\n", revoked)
					for _, crl := range pr.FinalCRLs {
						fmt.Fprintf(w, "final CRL published: %s\n", crl)
					}
					return nil
				}
				if pr.Revoked == 0 {
					return fmt.Errorf("%d certificate(s) remain but none could be revoked in this round", pr.Remaining)
				}
			}
		}}
	c.Flags().IntVar(&batch, "batch", 0, "certificates per round (0: the server's)")
	return c
}

func takeoverCSRCmd() *cobra.Command {
	var f serverFlags
	var out string
	c := &cobra.Command{Use: "csr [--out responder.csr]", Short: "(successor) the CSR of the key that will answer OCSP for the certificates taken over",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.load()
			if err != nil {
				return err
			}
			csr, err := app.RunTakeoverCSR(cmd.Context(), cfg, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if out == "" {
				_, err = cmd.OutOrStdout().Write(csr)
				return err
			}
			return os.WriteFile(out, csr, 0o644)
		}}
	c.Flags().StringVarP(&out, "out", "o", "", "the file to write (default: standard output)")
	f.add(c)
	return c
}

func takeoverExportCmd() *cobra.Command {
	var f serverFlags
	var csrFile, out string
	c := &cobra.Command{Use: "export --successor-csr FILE --out takeover.tar",
		Short: "(ceding CSP) write the signed archive of every record for the successor of the plan (L-23)",
		Long: `Write the takeover archive: the CA certificates, every certificate with its registration
record, the revocations and the audit log with its signed checkpoint, signed by a
certificate of this CSP's hierarchy; every issuing CA certifies the successor's key
(--successor-csr, from ` + "`tawthiq cessation csr`" + ` on its side) as its delegated OCSP responder.
It opens the data directory's keys: run it with the server stopped.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			csr, err := os.ReadFile(csrFile)
			if err != nil {
				return err
			}
			cfg, err := f.load()
			if err != nil {
				return err
			}
			archive, err := app.RunTakeoverExport(cmd.Context(), cfg, cessationActor, csr, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if err := os.WriteFile(out, archive, 0o600); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "takeover archive written to %s (%d bytes); hand it to the successor with this CSP's root certificate\n", out, len(archive))
			return nil
		}}
	c.Flags().StringVar(&csrFile, "successor-csr", "", "the successor's responder CSR (PEM)")
	c.Flags().StringVar(&out, "out", "", "the archive to write")
	_ = c.MarkFlagRequired("successor-csr")
	_ = c.MarkFlagRequired("out")
	f.add(c)
	return c
}

func takeoverImportCmd() *cobra.Command {
	var f serverFlags
	var rootFile string
	c := &cobra.Command{Use: "import takeover.tar --from-csp-root root.pem",
		Short: "(successor) verify a takeover archive against the ceding CSP's root and record it (L-23)",
		Long: `Verify the archive (its signature chains to --from-csp-root, every member's digest, the
ceding CSP's audit log and its signed checkpoint), record its certificates and
revocations, and answer OCSP for them with the delegated responder certificates it
carries. It opens the data directory: run it with the server stopped, then start it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			archive, err := readLimited(args[0], maxTakeoverArchive)
			if err != nil {
				return err
			}
			roots, err := os.ReadFile(rootFile)
			if err != nil {
				return err
			}
			cfg, err := f.load()
			if err != nil {
				return err
			}
			ex, v, err := app.RunTakeoverImport(cmd.Context(), cfg, cessationActor, archive, roots, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "imported %s\n", ex.Summary())
			fmt.Fprintf(w, "archive sha256 %s, signed by %s\n", v.SHA256, v.Signer.Subject)
			rep := v.AuditReport
			fmt.Fprintf(w, "ceding CSP's audit log: ok, %d entries, %d signed checkpoint(s), %d time-stamped\n", rep.Entries, rep.Checkpoints, rep.Stamped)
			return nil
		}}
	c.Flags().StringVar(&rootFile, "from-csp-root", "", "the ceding CSP's root certificate (PEM)")
	_ = c.MarkFlagRequired("from-csp-root")
	f.add(c)
	return c
}

// readLimited reads a file, refusing one larger than limit.
func readLimited(path string, limit int64) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	return os.ReadFile(path)
}
