package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/tawthiq/tawthiq/client"
)

// addOrderCommands adds `order` and `disclosure` (L-21-3-7 b, L-24); the server comes
// from the root's --server flag, the token from TAWTHIQ_TOKEN.
func addOrderCommands(root *cobra.Command) {
	root.AddCommand(orderCmd(), disclosureCmd())
}

// orderClient returns a client for the --server the command was given.
func orderClient(cmd *cobra.Command) (*client.Client, error) {
	r := &remote{server: "http://127.0.0.1:8080"}
	if f := cmd.Flag("server"); f != nil {
		r.server = f.Value.String()
	}
	return r.client()
}

func parseDate(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--date %q: want YYYY-MM-DD or RFC 3339", s)
	}
	return t, nil
}

func orderCmd() *cobra.Command {
	o := &cobra.Command{Use: "judicial-order", Short: "judicial orders: record, execute, show (L-21-3-7 b; admin)"}
	var in client.JudicialOrderRequest
	var date, holdersFile, serialsFile string
	rec := &cobra.Command{
		Use:   "record",
		Short: "record a judicial order (court, reference, date, kind, holders and/or certificates)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := orderClient(cmd)
			if err != nil {
				return err
			}
			if in.Date, err = parseDate(date); err != nil {
				return err
			}
			for _, f := range []struct {
				path string
				dst  *[]string
			}{{holdersFile, &in.Holders}, {serialsFile, &in.Serials}} {
				if f.path == "" {
					continue
				}
				items, err := readSerials(f.path)
				if err != nil {
					return err
				}
				*f.dst = append(*f.dst, items...)
			}
			got, err := c.RecordOrder(cmd.Context(), in)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), got)
		},
	}
	rec.Flags().StringVar(&in.Ref, "ref", "", "the order's reference (unique)")
	rec.Flags().StringVar(&in.Court, "court", "", "the court that ordered it")
	rec.Flags().StringVar(&date, "date", "", "the order's date (YYYY-MM-DD)")
	rec.Flags().StringVar(&in.Kind, "kind", "revoke", "revoke or notify-only")
	rec.Flags().StringVar(&in.Note, "note", "", "a note")
	rec.Flags().StringSliceVar(&in.Holders, "holder", nil, "a holder's user ID (repeatable)")
	rec.Flags().StringSliceVar(&in.Serials, "serial", nil, "a certificate serial (repeatable)")
	rec.Flags().StringVar(&holdersFile, "holders-file", "", "a file of holder IDs, one a line")
	rec.Flags().StringVar(&serialsFile, "serials-file", "", "a file of serials, one a line")
	for _, f := range []string{"ref", "court", "date"} {
		_ = rec.MarkFlagRequired(f)
	}

	exec := &cobra.Command{
		Use:   "execute REF",
		Short: "execute an order: revoke in bulk (if it says so) and notify each holder once; resumable",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := orderClient(cmd)
			if err != nil {
				return err
			}
			var bar *progressbar.ProgressBar
			done, err := c.ExecuteOrder(cmd.Context(), args[0], func(p client.OrderProgress) {
				if bar == nil && p.Total > 0 {
					bar = progressbar.NewOptions(p.Total, progressbar.OptionSetWriter(cmd.ErrOrStderr()),
						progressbar.OptionSetDescription("revoking"), progressbar.OptionShowCount(),
						progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(100*time.Millisecond),
						progressbar.OptionClearOnFinish())
				}
				if bar != nil && p.Stage == "revoking" {
					_ = bar.Set(p.Revoked)
				}
				if bar != nil && p.Stage == "notifying" {
					bar.Describe(fmt.Sprintf("notifying %d/%d holders", p.Notified, p.Holders))
				}
			})
			if bar != nil {
				_ = bar.Finish()
			}
			if err != nil {
				return fmt.Errorf("%w (run `tawthiq order execute %s` again to finish)", err, args[0])
			}
			fmt.Fprintf(cmd.OutOrStdout(), "order %s: %d certificate(s) in scope, %d revoked on it, %d holder(s) notified\n",
				args[0], done.Certificates, done.Revoked, done.Holders)
			return nil
		},
	}
	show := &cobra.Command{
		Use:   "show REF",
		Short: "show a recorded order and its completion",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := orderClient(cmd)
			if err != nil {
				return err
			}
			got, err := c.Order(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), got)
		},
	}
	o.AddCommand(rec, exec, show)
	return o
}

func disclosureCmd() *cobra.Command {
	d := &cobra.Command{Use: "disclosure", Short: "disclosure of creation data on the King's prosecutor's order (L-24; admin)"}
	var in client.DisclosureRequest
	var date, out string
	rec := &cobra.Command{
		Use:   "record --ref REF --office OFFICE --date DATE --holder ID... --out export.p7s",
		Short: "record the order and write the signed, time-stamped export; each holder is notified",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return errors.New("--out FILE is required: the export is written there")
			}
			c, err := orderClient(cmd)
			if err != nil {
				return err
			}
			if in.Date, err = parseDate(date); err != nil {
				return err
			}
			got, err := c.RecordDisclosure(cmd.Context(), in)
			if err != nil {
				return err
			}
			if err := os.WriteFile(out, got.Export, 0o600); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "disclosure %s: %d holder(s), export %s (sha256 %s), notices queued\n",
				got.Ref, len(got.Holders), out, got.ExportSHA256)
			return nil
		},
	}
	rec.Flags().StringVar(&in.Ref, "ref", "", "the prosecutor's order reference (unique)")
	rec.Flags().StringVar(&in.Office, "office", "", "the King's prosecutor's office")
	rec.Flags().StringVar(&date, "date", "", "the order's date (YYYY-MM-DD)")
	rec.Flags().StringSliceVar(&in.Holders, "holder", nil, "a holder's user ID named in the order (repeatable)")
	rec.Flags().StringVar(&out, "out", "", "where to write the export (CMS, DER)")
	for _, f := range []string{"ref", "office", "date", "holder"} {
		_ = rec.MarkFlagRequired(f)
	}
	d.AddCommand(rec)
	return d
}
