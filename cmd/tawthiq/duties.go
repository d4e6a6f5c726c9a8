package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tawthiq/tawthiq/client"
)

// addDutyCommands adds the CSP's duties: insurance (L-21-3-6), breaches (L-24), data changes (L-25).
func addDutyCommands(root *cobra.Command) {
	root.AddCommand(cspInsuranceCmd(), breachCmd(), dataChangeCmd())
}

// dutyRun wraps a command body with a client for the --server the command was given.
func dutyRun(f func(cmd *cobra.Command, c *client.Client, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		c, err := orderClient(cmd)
		if err != nil {
			return err
		}
		return f(cmd, c, args)
	}
}

func cspInsuranceCmd() *cobra.Command {
	ic := &cobra.Command{Use: "insurance", Short: "this CSP's professional liability insurance (L-21-3-6)"}
	var in client.InsurancePolicyRequest
	var from, until string
	add := &cobra.Command{Use: "add", Short: "record a policy of this CSP (admin); issuance needs one valid now", Args: cobra.NoArgs,
		RunE: dutyRun(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			f, err := when("from", from)
			if err != nil {
				return err
			}
			u, err := when("until", until)
			if err != nil {
				return err
			}
			in.ValidFrom, in.ValidUntil = client.Timestamp{Time: f}, client.Timestamp{Time: u}
			p, err := c.AddInsurancePolicy(cmd.Context(), in)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "policy %s: %s %s, %d MAD, %s to %s\n", p.ID, p.Insurer, p.Number, p.CoverMAD, p.ValidFrom, p.ValidUntil)
			return nil
		})}
	fl := add.Flags()
	fl.StringVar(&in.Insurer, "insurer", "", "the insurer")
	fl.StringVar(&in.Number, "policy", "", "the policy number")
	fl.Int64Var(&in.CoverMAD, "cover-mad", 0, "the cover, in dirhams")
	fl.StringVar(&from, "from", "", "start of cover (date or RFC 3339)")
	fl.StringVar(&until, "until", "", "end of cover, exclusive (date or RFC 3339)")
	for _, n := range []string{"insurer", "policy", "cover-mad", "from", "until"} {
		_ = add.MarkFlagRequired(n)
	}
	status := &cobra.Command{Use: "status", Short: "where the cover stands, with a warning before it lapses", Args: cobra.NoArgs,
		RunE: dutyRun(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			st, err := c.InsuranceStatus(cmd.Context())
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			switch {
			case st.Covered:
				fmt.Fprintf(w, "covered until %s by %s %s (%d MAD)\n", st.CoverEnd, st.Current.Insurer, st.Current.Number, st.Current.CoverMAD)
			default:
				fmt.Fprintln(w, "NOT covered")
			}
			if st.Warning != "" {
				fmt.Fprintf(w, "warning: %s\n", st.Warning)
			}
			fmt.Fprintf(w, "issuance requires cover: %t; warning %d days before a lapse\n", st.Required, st.WarningDays)
			for _, p := range st.Policies {
				fmt.Fprintf(w, "%s\t%s\t%s\t%d MAD\t%s\t%s\n", p.ID, p.Insurer, p.Number, p.CoverMAD, p.ValidFrom, p.ValidUntil)
			}
			return nil
		})}
	ic.AddCommand(add, status)
	return ic
}

func breachCmd() *cobra.Command {
	bc := &cobra.Command{Use: "breach", Short: "security breaches: the authority and harmed holders are told at once (L-24, 43-20 art. 40)"}
	var in client.BreachRequest
	var detected string
	var harmed, unharmed []string
	rec := &cobra.Command{Use: "record", Short: "record a breach (admin for a CA key, RA officer otherwise)", Args: cobra.NoArgs,
		RunE: dutyRun(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			at := time.Now().UTC()
			if detected != "" {
				var err error
				if at, err = when("detected", detected); err != nil {
					return err
				}
			}
			in.DetectedAt = client.Timestamp{Time: at}
			in.Holders = nil
			for harm, list := range map[bool][]string{true: harmed, false: unharmed} {
				for _, h := range list {
					id, why, ok := strings.Cut(h, "=")
					if !ok || why == "" {
						return fmt.Errorf("holder %q: want USER_ID=assessment", h)
					}
					in.Holders = append(in.Holders, client.BreachHolder{HolderID: id, Harm: harm, Assessment: why})
				}
			}
			out, err := c.RecordBreach(cmd.Context(), in)
			if err != nil {
				return err
			}
			printOutcome(cmd, out)
			return nil
		})}
	fl := rec.Flags()
	fl.StringVar(&in.Kind, "kind", "", "key-compromise, data-leak, service-outage or other")
	fl.StringVar(&in.Description, "description", "", "what happened")
	fl.StringVar(&detected, "detected", "", "when it was detected (date or RFC 3339; default now)")
	fl.StringSliceVar(&in.CAs, "ca", nil, "issuing CA touched (key-compromise: revokes every certificate it issued)")
	fl.StringSliceVar(&in.Certificates, "cert", nil, "certificate serial touched (key-compromise: revoked, with every certificate of its key)")
	fl.StringArrayVar(&harmed, "harmed", nil, "USER_ID=assessment of a holder the breach can harm: he is told")
	fl.StringArrayVar(&unharmed, "unharmed", nil, "USER_ID=assessment of a holder touched but not harmed")
	_ = rec.MarkFlagRequired("kind")
	_ = rec.MarkFlagRequired("description")
	list := &cobra.Command{Use: "list", Short: "list the latest breaches", Args: cobra.NoArgs,
		RunE: dutyRun(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			bs, err := c.Breaches(cmd.Context())
			if err != nil {
				return err
			}
			for _, b := range bs {
				fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\t%-15s\t%d cert(s)\t%d holder(s)\t%s\n", b.ID, b.DetectedAt, b.Kind,
					len(b.Certificates), len(b.Holders), b.Description)
			}
			return nil
		})}
	show := &cobra.Command{Use: "show ID", Short: "show a breach with its notices", Args: cobra.ExactArgs(1),
		RunE: dutyRun(func(cmd *cobra.Command, c *client.Client, args []string) error {
			b, err := c.Breach(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), b)
		})}
	resume := &cobra.Command{Use: "resume ID", Short: "finish a breach's notices and revocations (done work is skipped)", Args: cobra.ExactArgs(1),
		RunE: dutyRun(func(cmd *cobra.Command, c *client.Client, args []string) error {
			out, err := c.ResumeBreach(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			printOutcome(cmd, out)
			return nil
		})}
	bc.AddCommand(rec, list, show, resume)
	return bc
}

func printOutcome(cmd *cobra.Command, out *client.BreachOutcome) {
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "breach %s (%s)\n", out.Breach.ID, out.Breach.Kind)
	if out.AuthorityQueued {
		fmt.Fprintln(w, "notice to the authority queued")
	}
	fmt.Fprintf(w, "%d notice(s) to harmed holders queued\n%d certificate(s) revoked\n", out.HolderNotices, len(out.Revoked))
}

func dataChangeCmd() *cobra.Command {
	dc := &cobra.Command{Use: "data-change", Short: "holders' reports of changed certified data (L-25)"}
	var in client.DataChangeRequest
	var evidence string
	report := &cobra.Command{Use: "report SERIAL", Short: "report that the data of your certificate changed (holder)", Args: cobra.ExactArgs(1),
		RunE: dutyRun(func(cmd *cobra.Command, c *client.Client, args []string) error {
			h, err := fileSHA256(evidence)
			if err != nil {
				return fmt.Errorf("--evidence: %w", err)
			}
			in.EvidenceSHA256 = h
			r, err := c.ReportDataChange(cmd.Context(), args[0], in)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "report %s (%s): an RA officer will review it\n", r.ID, r.Status)
			return nil
		})}
	report.Flags().StringVar(&in.Field, "field", "", "name, pseudonym, title, organization, email, identity-document or country")
	report.Flags().StringVar(&in.NewValue, "value", "", "the new value")
	report.Flags().StringVar(&evidence, "evidence", "", "document proving the change (only its SHA-256 is sent)")
	for _, n := range []string{"field", "value", "evidence"} {
		_ = report.MarkFlagRequired(n)
	}
	var status string
	list := &cobra.Command{Use: "list", Short: "the RA's queue of reports (RA officer, auditor)", Args: cobra.NoArgs,
		RunE: dutyRun(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			rs, err := c.DataChanges(cmd.Context(), status)
			if err != nil {
				return err
			}
			for _, r := range rs {
				fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\t%s\t%s=%q\t%s\n", r.ID, r.Status, r.Serial, r.Field, r.NewValue, r.ReportedAt)
			}
			return nil
		})}
	list.Flags().StringVar(&status, "status", "pending", "pending, revoked, closed, or empty for all")
	var rv client.DataChangeReview
	var untrue bool
	review := &cobra.Command{Use: "review ID", Short: "decide a report (RA officer): --untrue revokes the certificate (L-21-3-7 a)", Args: cobra.ExactArgs(1),
		RunE: dutyRun(func(cmd *cobra.Command, c *client.Client, args []string) error {
			rv.StillTrue = !untrue
			d, err := c.ReviewDataChange(cmd.Context(), args[0], rv)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "report %s %s", d.DataChange.ID, d.DataChange.Status)
			for _, r := range d.Revoked {
				fmt.Fprintf(cmd.OutOrStdout(), "; certificate %s revoked (%s)", r.Serial, r.Ground)
			}
			fmt.Fprintln(cmd.OutOrStdout())
			return nil
		})}
	review.Flags().BoolVar(&untrue, "untrue", false, "the certificate no longer states the truth: revoke it")
	review.Flags().StringVar(&rv.Note, "note", "", "the officer's reasons")
	_ = review.MarkFlagRequired("note")
	dc.AddCommand(report, list, review)
	return dc
}
