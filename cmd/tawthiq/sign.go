package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/tawthiq/tawthiq/internal/app"
)

func signCmd() *cobra.Command {
	var s app.Sign
	c := &cobra.Command{
		Use:   "sign FILE --key URI --cert CERT.pem [--level B-T] [--tsa URL] -o OUT",
		Short: "sign a document with your own key: PAdES for a PDF, else CAdES (ETSI EN 319 142-1 / 122-1)",
		Long: "sign signs FILE exactly as it is on disk (L-9) with the holder's key, which never leaves this machine\n" +
			"or its token (L-6). The key passphrase comes from $TAWTHIQ_KEY_PASSPHRASE. The certificate's status is\n" +
			"checked with its CSP first: a revoked or expired certificate does not sign (L-25). B-T and above need a\n" +
			"time-stamping authority (--tsa, default $TAWTHIQ_SERVER/tsa).",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s.File = args[0]
			if s.Out == "" {
				return fmt.Errorf("--out is required")
			}
			if s.TSA == "" && os.Getenv("TAWTHIQ_SERVER") != "" {
				s.TSA = app.TSAURL(os.Getenv("TAWTHIQ_SERVER"))
			}
			r, err := app.RunSign(cmd.Context(), s)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "signed %s: %s %s by %s\n", r.Out, r.Format, r.Level, r.Signer)
			return nil
		},
	}
	c.Flags().StringVarP(&s.Out, "out", "o", "", "the signed file to write (never overwritten)")
	c.Flags().StringVar(&s.Key, "key", "", "the signing key: file:PATH (encrypted PKCS#8) or pkcs11:...")
	c.Flags().StringVar(&s.Cert, "cert", "", "the signer's certificate (PEM or DER)")
	c.Flags().StringSliceVar(&s.Chain, "chain", nil, "issuer certificates (default: fetched through the certificate's AIA)")
	c.Flags().StringVar(&s.Level, "level", "B-T", "B-B, B-T, B-LT or B-LTA")
	c.Flags().StringVar(&s.Format, "format", "", "cades or pades (default: pades for .pdf)")
	c.Flags().BoolVar(&s.Detached, "detached", false, "CAdES: leave the document out of the signature")
	c.Flags().StringVar(&s.TSA, "tsa", "", "time-stamping authority URL (default $TAWTHIQ_SERVER/tsa)")
	c.Flags().BoolVar(&s.ContentTimeStamp, "content-timestamp", false, "also time-stamp the document before signing: proof the signature was made after that time")
	_ = c.MarkFlagRequired("key")
	_ = c.MarkFlagRequired("cert")
	return c
}
