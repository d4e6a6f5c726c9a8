package main

import (
	"fmt"
	"sort"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/tawthiq/tawthiq/client"
)

func crlCmd(r *remote) *cobra.Command {
	c := &cobra.Command{Use: "crl", Short: "certificate revocation lists (served at /crl/{ca}.crl)"}
	pub := &cobra.Command{
		Use:   "publish [CA...]",
		Short: "sign and publish new CRLs now, for the named CAs or every issuing CA (admin)",
		RunE: run(r, func(cmd *cobra.Command, c *client.Client, args []string) error {
			cas := args
			if len(cas) == 0 {
				ps, err := c.Profiles(cmd.Context())
				if err != nil {
					return err
				}
				seen := map[string]bool{}
				for _, p := range ps {
					if !seen[p.CA] {
						seen[p.CA] = true
						cas = append(cas, p.CA)
					}
				}
				sort.Strings(cas)
			}
			bar := progressbar.NewOptions(len(cas), progressbar.OptionSetWriter(cmd.ErrOrStderr()),
				progressbar.OptionSetDescription("publishing CRLs"), progressbar.OptionShowCount(),
				progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
			var out []client.CRL
			for _, ca := range cas {
				crls, err := c.PublishCRL(cmd.Context(), ca)
				if err != nil {
					_ = bar.Exit()
					return fmt.Errorf("%s: %w", ca, err)
				}
				out = append(out, crls...)
				_ = bar.Add(1)
			}
			_ = bar.Finish()
			for _, l := range out {
				fmt.Fprintf(cmd.OutOrStdout(), "%-16s number %d, %d entries, next update %s\n", l.Name+".crl", l.Number, l.Entries, l.NextUpdate)
			}
			return nil
		}),
	}
	c.AddCommand(pub)
	return c
}
