package main

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tawthiq/tawthiq/client"
)

// contractCmds are the electronic-contract commands: offer, order, original.
func contractCmds() []*cobra.Command {
	offer := &cobra.Command{Use: "offer", Short: "offers: the seven items of DOC 65-4, immutable versions (L-65-4)"}
	offer.AddCommand(offerPublishCmd(), offerShowCmd())
	order := &cobra.Command{Use: "order", Short: "orders: draft, review, confirm with the offeror's acknowledgement, sign (L-65-5, L-443)"}
	order.AddCommand(orderDraftCmd(), orderReviewCmd(), orderConfirmCmd(), orderSignCmd(), orderShowCmd())
	original := &cobra.Command{Use: "original", Short: "each party's original or certified copy (L-65-7, L-440)"}
	original.AddCommand(originalGetCmd())
	return []*cobra.Command{offer, order, original}
}

// publicRun is authorityRun for endpoints that also answer without a token.
func publicRun(f func(cmd *cobra.Command, c *client.Client, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		server := "http://127.0.0.1:8080"
		if fl := cmd.Flag("server"); fl != nil {
			server = fl.Value.String()
		}
		return f(cmd, client.New(server, os.Getenv("TAWTHIQ_TOKEN"), nil), args)
	}
}

func offerPublishCmd() *cobra.Command {
	var id string
	c := &cobra.Command{Use: "publish OFFER.json", Short: "publish an offer from a JSON file (the PublishOffer of api/openapi.yaml); --id publishes its next version",
		Args: cobra.ExactArgs(1),
		RunE: authorityRun(func(cmd *cobra.Command, c *client.Client, args []string) error {
			b, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			var in client.PublishOffer
			dec := json.NewDecoder(strings.NewReader(string(b)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&in); err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if id != "" {
				in.ID = id
			}
			o, err := c.PublishOffer(cmd.Context(), in)
			if err != nil {
				return err
			}
			if !o.Binding {
				fmt.Fprintf(cmd.ErrOrStderr(), "stored as advertising, not binding (L-65-4): missing %s\n", strings.Join(o.Missing, ", "))
			}
			return printJSON(cmd.OutOrStdout(), o)
		})}
	c.Flags().StringVar(&id, "id", "", "the offer whose next version this is")
	return c
}

func offerShowCmd() *cobra.Command {
	var version int
	var form bool
	c := &cobra.Command{Use: "show OFFER-ID", Short: "show a published offer (no token needed); --form shows its form (L-65-6)", Args: cobra.ExactArgs(1),
		RunE: publicRun(func(cmd *cobra.Command, c *client.Client, args []string) error {
			if form {
				f, err := c.OfferForm(cmd.Context(), args[0], version)
				if err != nil {
					return err
				}
				return printJSON(cmd.OutOrStdout(), f)
			}
			o, err := c.Offer(cmd.Context(), args[0], version)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), o)
		})}
	c.Flags().IntVar(&version, "version", 0, "the version (default the latest)")
	c.Flags().BoolVar(&form, "form", false, "show the offer's form to fill")
	return c
}

// parseLines reads SKU=QUANTITY pairs.
func parseLines(in []string) ([]client.OrderLine, error) {
	out := make([]client.OrderLine, 0, len(in))
	for _, s := range in {
		sku, q, ok := strings.Cut(s, "=")
		n, err := strconv.ParseInt(q, 10, 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("--line %q: SKU=QUANTITY", s)
		}
		out = append(out, client.OrderLine{SKU: sku, Quantity: n})
	}
	return out, nil
}

// parseForm reads NAME=VALUE pairs.
func parseForm(in []string) (map[string]string, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, s := range in {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return nil, fmt.Errorf("--form %q: NAME=VALUE", s)
		}
		out[k] = v
	}
	return out, nil
}

func orderDraftCmd() *cobra.Command {
	var in client.DraftOrder
	var lines, form []string
	c := &cobra.Command{Use: "draft --offer ID --line SKU=QTY", Short: "draft an order on a binding offer, with its filled form", Args: cobra.NoArgs,
		RunE: authorityRun(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			var err error
			if in.Lines, err = parseLines(lines); err != nil {
				return err
			}
			if in.Form, err = parseForm(form); err != nil {
				return err
			}
			o, err := c.DraftOrder(cmd.Context(), in)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), o)
		})}
	f := c.Flags()
	f.StringVar(&in.Offer, "offer", "", "the offer's ID")
	f.IntVar(&in.OfferVersion, "version", 0, "the offer's version (default the latest)")
	f.StringArrayVar(&lines, "line", nil, "SKU=QUANTITY (repeatable)")
	f.StringArrayVar(&form, "form", nil, "NAME=VALUE of the offer's form (repeatable)")
	f.StringVar(&in.Email, "email", "", "your e-mail address")
	f.BoolVar(&in.ConsentEmail, "consent-email", false, "expressly accept receiving the contract's information by e-mail (L-65-3)")
	f.StringVar(&in.Language, "language", "", "one of the offer's languages")
	return c
}

func orderReviewCmd() *cobra.Command {
	var lines, form []string
	c := &cobra.Command{Use: "review ORDER-ID", Short: "see the order's details and total (after a correction with --line/--form); prints the hash to confirm",
		Args: cobra.ExactArgs(1),
		RunE: authorityRun(func(cmd *cobra.Command, c *client.Client, args []string) error {
			var in client.ReviewOrder
			var err error
			if in.Lines, err = parseLines(lines); err != nil {
				return err
			}
			if in.Form, err = parseForm(form); err != nil {
				return err
			}
			o, err := c.ReviewOrder(cmd.Context(), args[0], in)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\n", o.Review.Document)
			fmt.Fprintf(cmd.OutOrStdout(), "total: %d.%02d MAD\nto confirm: tawthiq order confirm %s --review-sha256 %s\n",
				o.Review.TotalCentimes/100, o.Review.TotalCentimes%100, o.ID, o.Review.SHA256)
			return nil
		})}
	c.Flags().StringArrayVar(&lines, "line", nil, "corrected SKU=QUANTITY (repeatable; replaces the lines)")
	c.Flags().StringArrayVar(&form, "form", nil, "corrected NAME=VALUE (repeatable)")
	return c
}

func orderConfirmCmd() *cobra.Command {
	var sha, ackOut string
	c := &cobra.Command{Use: "confirm ORDER-ID --review-sha256 HASH", Short: "confirm the reviewed order; the offeror's sealed acknowledgement comes back at once",
		Args: cobra.ExactArgs(1),
		RunE: authorityRun(func(cmd *cobra.Command, c *client.Client, args []string) error {
			o, err := c.ConfirmOrder(cmd.Context(), args[0], sha)
			if err != nil {
				return err
			}
			if ackOut != "" {
				if err := os.WriteFile(ackOut, o.Confirmation.Acknowledgement, 0o600); err != nil {
					return err
				}
			}
			return printJSON(cmd.OutOrStdout(), o)
		})}
	c.Flags().StringVar(&sha, "review-sha256", "", "the review's sha256, as `order review` printed it")
	c.Flags().StringVar(&ackOut, "ack-out", "", "write the acknowledgement of receipt (CAdES, DER) to this file")
	return c
}

func orderSignCmd() *cobra.Command {
	return &cobra.Command{Use: "sign ORDER-ID SIGNATURE.p7s",
		Short: "upload your detached CAdES signature over the confirmed order (make it with `tawthiq order show --document` and `tawthiq sign --detached`)",
		Args:  cobra.ExactArgs(2),
		RunE: authorityRun(func(cmd *cobra.Command, c *client.Client, args []string) error {
			sig, err := readDERorPEMFile(args[1])
			if err != nil {
				return err
			}
			o, err := c.SignOrder(cmd.Context(), args[0], sig)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), o)
		})}
}

// readDERorPEMFile returns a file's DER, decoding PEM if it is PEM.
func readDERorPEMFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if blk, _ := pem.Decode(b); blk != nil {
		return blk.Bytes, nil
	}
	return b, nil
}

func orderShowCmd() *cobra.Command {
	var doc string
	c := &cobra.Command{Use: "show ORDER-ID", Short: "show an order (its parties only); --document writes the confirmed order to sign", Args: cobra.ExactArgs(1),
		RunE: authorityRun(func(cmd *cobra.Command, c *client.Client, args []string) error {
			if doc != "" {
				b, err := c.OrderDocument(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				return os.WriteFile(doc, b, 0o600)
			}
			o, err := c.ContractOrder(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), o)
		})}
	c.Flags().StringVar(&doc, "document", "", "write the confirmed order's exact bytes to this file")
	return c
}

func originalGetCmd() *cobra.Command {
	var out string
	var certified bool
	c := &cobra.Command{Use: "get ORDER-ID --out FILE", Short: "download your original (JSON with the exact bytes) or, with --certified, a copy sealed by the CSP",
		Args: cobra.ExactArgs(1),
		RunE: authorityRun(func(cmd *cobra.Command, c *client.Client, args []string) error {
			var b []byte
			if certified {
				var err error
				if b, err = c.CertifiedCopy(cmd.Context(), args[0]); err != nil {
					return err
				}
			} else {
				o, err := c.Original(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if b, err = json.MarshalIndent(o, "", "  "); err != nil {
					return err
				}
			}
			if out == "" {
				_, err := cmd.OutOrStdout().Write(b)
				return err
			}
			return os.WriteFile(out, b, 0o600)
		})}
	c.Flags().StringVar(&out, "out", "", "the file to write (default standard output)")
	c.Flags().BoolVar(&certified, "certified", false, "a certified copy: CAdES B-T by the CSP's seal (L-440)")
	return c
}
