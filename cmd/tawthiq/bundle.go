package main

import (
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/tawthiq/tawthiq/internal/app"
)

// bundleCmd makes an evidence bundle on the server's host, from its data directory.
func bundleCmd() *cobra.Command {
	var f serverFlags
	var file, sig, content, out, lang string
	c := &cobra.Command{
		Use:   "bundle --file SIGNED.pdf | --signature X.p7s --content DOC  -o bundle.asice [--lang ar|fr|en]",
		Short: "archive a signed document and make its ASiC-E evidence bundle, sealed by evidence_seal (L-417-1, L-440)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (file == "") == (sig == "") || (sig != "") != (content != "") || out == "" {
				return fmt.Errorf("give --file SIGNED.pdf, or --signature and --content, and -o")
			}
			var d app.BundleDocument
			var err error
			if file != "" {
				d.Name = filepath.Base(file)
				if d.Content, err = os.ReadFile(file); err != nil {
					return err
				}
			} else {
				d.Name = filepath.Base(content)
				if d.Content, err = os.ReadFile(content); err != nil {
					return err
				}
				if d.Signature, err = readSignatureFile(sig); err != nil {
					return err
				}
			}
			req := app.BundleRequest{Documents: []app.BundleDocument{d}, Lang: lang}
			cfg, err := f.load()
			if err != nil {
				return err
			}
			b, res, err := app.MakeBundle(cmd.Context(), cfg, req, app.Options{Out: cmd.ErrOrStderr()})
			if err != nil {
				return err
			}
			if err := os.WriteFile(out, b, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%d bytes, %d entries)\n", out, len(b), len(res.Entries)+3)
			fmt.Fprint(cmd.OutOrStdout(), res.Summary())
			return nil
		},
	}
	f.add(c)
	c.Flags().StringVar(&file, "file", "", "a signed PDF (PAdES)")
	c.Flags().StringVar(&sig, "signature", "", "a CAdES signature (DER or PEM)")
	c.Flags().StringVar(&content, "content", "", "the document the signature signs")
	c.Flags().StringVarP(&out, "out", "o", "", "where to write the bundle (.asice)")
	c.Flags().StringVar(&lang, "lang", "fr", "the language of the bundle's report.pdf: ar, fr or en")
	return c
}

// archiveCmd checks the archive of a data directory offline.
func archiveCmd() *cobra.Command {
	a := &cobra.Command{Use: "archive", Short: "the content-addressed archive of documents and messages (L-417-1)"}
	var f serverFlags
	var vkey string
	v := &cobra.Command{
		Use:   "verify",
		Short: "recheck every archived item's hash against its bytes and its audit entry's inclusion in the signed log",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.load()
			if err != nil {
				return err
			}
			rep, err := app.VerifyArchiveOffline(cmd.Context(), cfg, vkey)
			if err != nil {
				return err
			}
			for _, p := range rep.Problems {
				fmt.Fprintln(cmd.OutOrStdout(), "FAIL", p)
			}
			if !rep.OK() {
				return fmt.Errorf("L-417-1: the archive was altered: %d problem(s), first: %s", len(rep.Problems), rep.Problems[0])
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ok: %d items intact, %d included in the signed checkpoint of %d entries, %d archived since\n",
				rep.Items, rep.Included, rep.Checkpoint, rep.Pending)
			return nil
		},
	}
	f.add(v)
	v.Flags().StringVar(&vkey, "vkey", "", "checkpoint verifier key (default: DATA/audit.vkey)")
	a.AddCommand(v)
	return a
}

// readSignatureFile reads a CMS signature, DER or PEM.
func readSignatureFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if blk, _ := pem.Decode(b); blk != nil {
		return blk.Bytes, nil
	}
	return b, nil
}
