package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tawthiq/tawthiq/client"
)

// secretEnv carries the revocation secret: never a flag, which ps would show.
const secretEnv = "TAWTHIQ_REVOCATION_SECRET"

// maxSerialsFile bounds a --from-file list (a million serials, with room).
const maxSerialsFile = 64 << 20

func addRevocationCommands(root *cobra.Command, r *remote) {
	root.AddCommand(revokeCmd(r), revokeWithSecretCmd(r), revocationCmd(r), groundsCmd(r), directoryCmd(r), noticesCmd(r), crlCmd(r))
}

// public returns a client for public endpoints: the token is used when there is one.
func (r *remote) public() *client.Client {
	return client.New(r.server, os.Getenv("TAWTHIQ_TOKEN"), nil)
}

func revokeCmd(r *remote) *cobra.Command {
	var req client.RevocationRequest
	var invalidity, file string
	c := &cobra.Command{
		Use:   "revoke SERIAL | revoke --from-file FILE",
		Short: "revoke certificates on a ground of the law, effective at once (see `tawthiq grounds`)",
		Long: `Revoke a certificate: a holder his own (holder-request, key-compromise, capacity-change),
an RA officer any certificate with --note (judicial-order needs --order-ref), an admin
with ca-compromise every certificate of the SERIAL's issuing CA. A revocation is final.
--from-file revokes every serial listed in FILE (one a line, # comments), showing
progress; it goes on after a refusal and prints a summary.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if (file == "" && len(args) != 1) || (file != "" && len(args) != 0) {
				return errors.New("give one SERIAL, or --from-file FILE and no serial")
			}
			return nil
		},
		RunE: run(r, func(cmd *cobra.Command, c *client.Client, args []string) error {
			if invalidity != "" {
				t, err := time.Parse(time.RFC3339, invalidity)
				if err != nil {
					return fmt.Errorf("--invalidity-date %q: want RFC 3339, e.g. 2025-06-01T09:00:00Z", invalidity)
				}
				req.InvalidityDate = &t
			}
			if file != "" {
				return revokeMany(cmd, c, file, req)
			}
			rs, err := c.Revoke(cmd.Context(), args[0], req)
			if err != nil {
				return err
			}
			printRevocations(cmd.OutOrStdout(), rs)
			return nil
		}),
	}
	f := c.Flags()
	f.StringVar(&req.Ground, "ground", "", "ground of revocation (see `tawthiq grounds`)")
	f.StringVar(&req.Note, "note", "", "why (required of RA officers and for ca-compromise)")
	f.StringVar(&req.OrderRef, "order-ref", "", "the judicial order's reference (judicial-order, L-21-3-7 b)")
	f.StringVar(&invalidity, "invalidity-date", "", "key-compromise: since when the key is unsafe (RFC 3339)")
	f.StringVar(&file, "from-file", "", "revoke every serial listed in this file, one a line")
	_ = c.MarkFlagRequired("ground")
	return c
}

func printRevocations(w io.Writer, rs []client.Revocation) {
	for i, rv := range rs {
		if i == 0 {
			fmt.Fprintf(w, "revoked %s at %s (ground %s, %s; requested %s)\n", rv.Serial, rv.RevokedAt, rv.Ground, rv.Rule, rv.RequestedAt)
			continue
		}
		fmt.Fprintf(w, "also revoked %s (%s)\n", rv.Serial, rv.Ground)
	}
}

// readSerials reads one serial a line; blank lines and # comments are skipped.
func readSerials(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(io.LimitReader(f, maxSerialsFile))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if s := strings.TrimSpace(line); s != "" {
			out = append(out, s)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s lists no serial", path)
	}
	return out, nil
}

// revokeMany revokes each listed serial in turn: a refusal is noted and the rest go on.
func revokeMany(cmd *cobra.Command, c *client.Client, path string, req client.RevocationRequest) error {
	serials, err := readSerials(path)
	if err != nil {
		return err
	}
	bar := progressbar.NewOptions(len(serials), progressbar.OptionSetWriter(cmd.ErrOrStderr()),
		progressbar.OptionSetDescription("revoking"), progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	type failure struct{ serial, why string }
	var failed []failure
	revoked, also := 0, 0
	for i, s := range serials {
		if err := cmd.Context().Err(); err != nil {
			for _, rest := range serials[i:] {
				failed = append(failed, failure{rest, "not attempted: interrupted"})
			}
			break
		}
		rs, err := c.Revoke(cmd.Context(), s, req)
		if err != nil {
			failed = append(failed, failure{s, oneLine(err)})
		} else {
			revoked++
			also += len(rs) - 1
		}
		_ = bar.Add(1)
	}
	_ = bar.Finish()
	w := cmd.OutOrStdout()
	for _, f := range failed {
		fmt.Fprintf(w, "not revoked %s: %s\n", f.serial, f.why)
	}
	fmt.Fprintf(w, "revoked %d of %d certificates", revoked, len(serials))
	if also > 0 {
		fmt.Fprintf(w, " (and %d more of the same keys or CA)", also)
	}
	fmt.Fprintf(w, "; %d not revoked\n", len(failed))
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d certificates were not revoked (listed above)", len(failed), len(serials))
	}
	return nil
}

func revokeWithSecretCmd(r *remote) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke-with-secret SERIAL",
		Short: "revoke your certificate with the revocation secret given at application, without an account (L-21-1)",
		Long: `Revoke your certificate at any hour with the revocation secret shown when you applied.
The secret is read from the environment variable ` + secretEnv + `, or else from
standard input (never from a flag: other users can see flags in ps). No token is needed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			secret, err := readSecret(cmd)
			if err != nil {
				return err
			}
			rs, err := client.New(r.server, "", nil).RevokeWithSecret(cmd.Context(), args[0], secret)
			if err != nil {
				return err
			}
			printRevocations(cmd.OutOrStdout(), rs)
			return nil
		},
	}
}

// readSecret takes the secret from the environment, else from stdin (without echo on a terminal).
func readSecret(cmd *cobra.Command) (string, error) {
	if s := strings.TrimSpace(os.Getenv(secretEnv)); s != "" {
		return s, nil
	}
	in := cmd.InOrStdin()
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(cmd.ErrOrStderr(), "revocation secret: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(cmd.ErrOrStderr())
		if err != nil {
			return "", fmt.Errorf("reading the revocation secret: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	line, err := bufio.NewReader(io.LimitReader(in, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the revocation secret: %w", err)
	}
	if s := strings.TrimSpace(line); s != "" {
		return s, nil
	}
	return "", fmt.Errorf("no revocation secret: set %s or give it on standard input", secretEnv)
}

func revocationCmd(r *remote) *cobra.Command {
	return &cobra.Command{Use: "revocation SERIAL", Short: "show the revocation of a certificate (times in UTC to the millisecond)", Args: cobra.ExactArgs(1),
		RunE: run(r, func(cmd *cobra.Command, c *client.Client, args []string) error {
			rv, err := c.Revocation(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), rv)
		})}
}

func groundsCmd(r *remote) *cobra.Command {
	return &cobra.Command{Use: "grounds", Short: "list the grounds of revocation the law gives", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			gs, err := r.public().Grounds(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "GROUND\tRULE\tRFC 5280 REASON\tNEEDS\tDESCRIPTION")
			for _, g := range gs {
				needs := "-"
				if g.NeedsOrderRef {
					needs = "--order-ref"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s (%d)\t%s\t%s\n", g.Ground, g.Rule, g.ReasonName, g.Reason, needs, g.Description)
			}
			return tw.Flush()
		}}
}

func directoryCmd(r *remote) *cobra.Command {
	var name, email, serial string
	var pemOut bool
	c := &cobra.Command{Use: "directory --name N | --email E | --serial S", Short: "search the public directory of certificates whose holders consented (L-21-2)",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var by, value string
			for _, q := range []struct{ by, v string }{{"name", name}, {"email", email}, {"serial", serial}} {
				if cmd.Flags().Changed(q.by) {
					if by != "" {
						return errors.New("search by exactly one of --name, --email or --serial")
					}
					by, value = q.by, q.v
				}
			}
			if by == "" {
				return errors.New("search by exactly one of --name, --email or --serial")
			}
			es, err := r.public().Directory(cmd.Context(), by, value)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if len(es) == 0 {
				fmt.Fprintln(w, "no listed certificate matches")
				return nil
			}
			for _, e := range es {
				if pemOut {
					fmt.Fprint(w, e.PEM)
					continue
				}
				fmt.Fprintf(w, "%s  %-7s  until %s  %s\n", e.Serial, e.Status, e.NotAfter, e.Subject)
			}
			return nil
		}}
	c.Flags().StringVar(&name, "name", "", "part of the holder's name (at least 3 characters)")
	c.Flags().StringVar(&email, "email", "", "the holder's e-mail, exactly")
	c.Flags().StringVar(&serial, "serial", "", "the certificate's serial (hex)")
	c.Flags().BoolVar(&pemOut, "pem", false, "print the certificates in PEM")
	return c
}

func noticesCmd(r *remote) *cobra.Command {
	return &cobra.Command{Use: "notices", Short: "your notices: expiry (L-21-3-5) and revocation (L-21-3-7)", Args: cobra.NoArgs,
		RunE: run(r, func(cmd *cobra.Command, c *client.Client, _ []string) error {
			ns, err := c.Notices(cmd.Context())
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if len(ns) == 0 {
				fmt.Fprintln(w, "no notices")
				return nil
			}
			for _, n := range ns {
				fmt.Fprintf(w, "%s  %-10s  %-7s  %-7s  %s  %s\n", n.CreatedAt, n.Kind, n.Channel, n.State, n.Serial, n.Subject)
			}
			return nil
		})}
}
