package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/tawthiq/tawthiq/internal/app"
)

func extendCmd() *cobra.Command {
	var e app.Extend
	c := &cobra.Command{
		Use:   "extend FILE --level B-LTA [--tsa URL] [--content DOCUMENT] -o OUT",
		Short: "raise a signed PDF (PAdES) or CMS signature (CAdES) to B-T, B-LT or B-LTA, or renew its B-LTA time-stamp",
		Long: "extend appends to FILE what a higher level needs, never changing what was signed (L-9): a time-stamp\n" +
			"(B-T), the certificates and revocation data of the signer's and every TSA's path (B-LT), an archive or\n" +
			"document time-stamp (B-LTA). On a B-LTA file, --level B-LTA renews it: the last time-stamp's TSA gets its\n" +
			"validation data, then a new time-stamp covers everything. Status comes from each certificate's CSP;\n" +
			"missing issuers are fetched through AIA. A file changed after signing is refused.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e.File = args[0]
			if e.Out == "" {
				return fmt.Errorf("--out is required")
			}
			if e.TSA == "" && os.Getenv("TAWTHIQ_SERVER") != "" {
				e.TSA = app.TSAURL(os.Getenv("TAWTHIQ_SERVER"))
			}
			r, err := app.RunExtend(cmd.Context(), e)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "extended %s: %s %s\n", r.Out, r.Format, r.Level)
			return nil
		},
	}
	c.Flags().StringVarP(&e.Out, "out", "o", "", "the extended file to write (never overwritten)")
	c.Flags().StringVar(&e.Level, "level", "B-LTA", "B-T, B-LT or B-LTA (B-LTA on a B-LTA file renews it)")
	c.Flags().StringVar(&e.Format, "format", "", "cades or pades (default: pades for .pdf)")
	c.Flags().StringVar(&e.Content, "content", "", "CAdES detached: the signed document")
	c.Flags().StringVar(&e.TSA, "tsa", "", "time-stamping authority URL (default $TAWTHIQ_SERVER/tsa)")
	c.Flags().StringSliceVar(&e.CACerts, "ca", nil, "further CA certificates (default: fetched through AIA)")
	return c
}
