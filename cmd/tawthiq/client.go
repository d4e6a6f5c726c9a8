package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/tawthiq/tawthiq/client"
)

// remote holds the flags of commands that talk to a running server.
type remote struct{ server string }

func (r *remote) client() (*client.Client, error) {
	tok := os.Getenv("TAWTHIQ_TOKEN")
	if tok == "" {
		return nil, fmt.Errorf("no token: export TAWTHIQ_TOKEN=tw_... (never on the command line, where ps shows it)")
	}
	return client.New(r.server, tok, nil), nil
}

func addClientCommands(root *cobra.Command) {
	r := &remote{}
	def := os.Getenv("TAWTHIQ_SERVER")
	if def == "" {
		def = "http://127.0.0.1:8080"
	}
	root.PersistentFlags().StringVar(&r.server, "server", def, "tawthiq server URL (env TAWTHIQ_SERVER); the token comes from env TAWTHIQ_TOKEN")
	root.AddCommand(loginCmd(r), userCmd(r), termsCmd(r), profilesCmd(r), applyCmd(r), applicationCmd(r),
		approveCmd(r), rejectCmd(r), issueCmd(r), certCmd(r))
	addRevocationCommands(root, r)
	for _, c := range root.Commands() {
		if c.Name() == "audit" {
			c.AddCommand(auditEntriesCmd(r))
		}
	}
}

// run wraps a command body that needs a client.
func run(r *remote, f func(cmd *cobra.Command, c *client.Client, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		c, err := r.client()
		if err != nil {
			return err
		}
		return f(cmd, c, args)
	}
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func loginCmd(r *remote) *cobra.Command {
	return &cobra.Command{Use: "login", Short: "check the token and record the login in the audit log", Args: cobra.NoArgs,
		RunE: run(r, func(cmd *cobra.Command, c *client.Client, _ []string) error {
			u, err := c.Login(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "logged in as %s (%s, %s)\n", u.Name, u.Role, u.ID)
			return nil
		})}
}

func userCmd(r *remote) *cobra.Command {
	u := &cobra.Command{Use: "user", Short: "users and their tokens (admin)"}
	var in client.CreateUser
	var ttl time.Duration
	add := &cobra.Command{Use: "add", Short: "create a user and a token for him", Args: cobra.NoArgs,
		RunE: run(r, func(cmd *cobra.Command, c *client.Client, _ []string) error {
			user, err := c.CreateUser(cmd.Context(), in)
			if err != nil {
				return err
			}
			tok, err := c.IssueToken(cmd.Context(), user.ID, ttl)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "user %s (%s)\ntoken %s\n", user.ID, user.Role, tok.Token)
			return nil
		})}
	add.Flags().StringVar(&in.Name, "name", "", "full name")
	add.Flags().StringVar(&in.Role, "role", "", "admin, ra-officer, auditor or holder")
	add.Flags().StringVar(&in.IDNumber, "id-number", "", "the person's own ID document number (an officer may not approve himself)")
	add.Flags().StringVar(&in.Email, "email", "", "e-mail")
	add.Flags().DurationVar(&ttl, "ttl", 0, "token lifetime (0: the server's default, 90 days)")
	tok := &cobra.Command{Use: "token USER_ID", Short: "issue another token for a user", Args: cobra.ExactArgs(1),
		RunE: run(r, func(cmd *cobra.Command, c *client.Client, args []string) error {
			t, err := c.IssueToken(cmd.Context(), args[0], ttl)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), t.Token)
			return nil
		})}
	tok.Flags().DurationVar(&ttl, "ttl", 0, "token lifetime (0: the server's default, 90 days)")
	revoke := &cobra.Command{Use: "revoke-tokens USER_ID", Short: "revoke every token of a user (a lost device, a departure)", Args: cobra.ExactArgs(1),
		RunE: run(r, func(cmd *cobra.Command, c *client.Client, args []string) error {
			n, err := c.RevokeTokens(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked %d token(s) of %s\n", n, args[0])
			return nil
		})}
	list := &cobra.Command{Use: "list", Short: "list users", Args: cobra.NoArgs,
		RunE: run(r, func(cmd *cobra.Command, c *client.Client, _ []string) error {
			us, err := c.Users(cmd.Context())
			if err != nil {
				return err
			}
			for _, x := range us {
				fmt.Fprintf(cmd.OutOrStdout(), "%s  %-10s  %s\n", x.ID, x.Role, x.Name)
			}
			return nil
		})}
	u.AddCommand(add, tok, revoke, list)
	return u
}

func termsCmd(r *remote) *cobra.Command {
	t := &cobra.Command{Use: "terms", Short: "show the current subscriber terms (L-21-3-3)", Args: cobra.NoArgs,
		RunE: run(r, func(cmd *cobra.Command, c *client.Client, _ []string) error {
			tm, err := c.Terms(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "version %s (published %s, sha256 %s)\n\n%s", tm.Version, tm.PublishedAt, tm.SHA256, tm.Text)
			return nil
		})}
	var in client.PublishTerms
	var file string
	pub := &cobra.Command{Use: "publish", Short: "publish a new version of the terms (admin)", Args: cobra.NoArgs,
		RunE: run(r, func(cmd *cobra.Command, c *client.Client, _ []string) error {
			b, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			in.Text = string(b)
			tm, err := c.PublishTerms(cmd.Context(), in)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "published terms %s\n", tm.Version)
			return nil
		})}
	pub.Flags().StringVar(&in.Version, "version", "", "version label")
	pub.Flags().StringVar(&file, "file", "", "text file of the terms")
	t.AddCommand(pub)
	return t
}

func profilesCmd(r *remote) *cobra.Command {
	return &cobra.Command{Use: "profiles", Short: "list the certificate profiles", Args: cobra.NoArgs,
		RunE: run(r, func(cmd *cobra.Command, c *client.Client, _ []string) error {
			ps, err := c.Profiles(cmd.Context())
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), ps)
		})}
}

// fileSHA256 hashes an evidence file; the file itself stays with the RA.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func applyCmd(r *remote) *cobra.Command {
	var in client.ApplicationRequest
	var csr, expiry, evidence, proof, accept string
	c := &cobra.Command{Use: "apply", Short: "submit an application for a certificate", Args: cobra.NoArgs,
		RunE: run(r, func(cmd *cobra.Command, c *client.Client, _ []string) error {
			b, err := os.ReadFile(csr)
			if err != nil {
				return err
			}
			if blk, _ := pem.Decode(b); blk == nil {
				b = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: b})
			}
			in.CSR = string(b)
			if in.Identity.Expiry, err = time.Parse("2006-01-02", expiry); err != nil {
				return fmt.Errorf("--id-expiry %q: want YYYY-MM-DD", expiry)
			}
			if in.Identity.EvidenceSHA256, err = fileSHA256(evidence); err != nil {
				return fmt.Errorf("--evidence: %w", err)
			}
			if in.Subject.Title != "" {
				h, err := fileSHA256(proof)
				if err != nil {
					return fmt.Errorf("--capacity-proof: %w", err)
				}
				in.Capacity = &client.Capacity{Title: in.Subject.Title, ProofKind: "document", ProofSHA256: h}
			}
			if accept != "" {
				in.TermsVersion, in.TermsAcceptedAt = accept, time.Now().UTC()
			}
			if in.Subject.Email != "" && in.ContactEmail == "" {
				in.ContactEmail = in.Subject.Email
			}
			a, err := c.SubmitApplication(cmd.Context(), in)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "application %s (%s)\n", a.ID, a.Status)
			if a.RevocationSecret != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "revocation secret %s\n"+
					"keep this secret safe and apart from your key: it is shown only this once, and with it you can revoke\n"+
					"your certificate at any hour without your account (tawthiq revoke-with-secret SERIAL, L-21-1)\n", a.RevocationSecret)
			}
			return nil
		})}
	f := c.Flags()
	f.StringVar(&in.Profile, "profile", "natural-qualified", "certificate profile (see `tawthiq profiles`)")
	f.StringVar(&csr, "csr", "", "the certificate signing request (PEM or DER)")
	f.StringVar(&in.Subject.GivenName, "given-name", "", "given name")
	f.StringVar(&in.Subject.Surname, "surname", "", "surname")
	f.StringVar(&in.Subject.Pseudonym, "pseudonym", "", "pseudonym instead of the name (L-11 c)")
	f.StringVar(&in.Subject.CommonName, "common-name", "", "common name (default: given name and surname)")
	f.StringVar(&in.Subject.Title, "title", "", "capacity (qualité) claimed, with --capacity-proof (L-11 d)")
	f.StringVar(&proof, "capacity-proof", "", "file proving the capacity (only its SHA-256 is sent)")
	f.StringVar(&in.Subject.Organization, "organization", "", "organization (seals)")
	f.StringVar(&in.Subject.Email, "email", "", "e-mail written into the certificate")
	f.StringVar(&in.Identity.Type, "id-type", "national-id-card", "national-id-card, passport, residence-card, trade-register, ice")
	f.StringVar(&in.Identity.Number, "id-number", "", "ID document number")
	f.StringVar(&in.Identity.Issuer, "id-issuer", "", "authority that issued the ID document")
	f.StringVar(&in.Identity.Country, "id-country", "MA", "country of the ID document")
	f.StringVar(&expiry, "id-expiry", "", "ID document expiry, YYYY-MM-DD")
	f.StringVar(&in.Identity.Method, "id-method", "face-to-face", "face-to-face, remote-national-eid, qualified-certificate, equivalent")
	f.StringVar(&evidence, "evidence", "", "scan of the ID document (only its SHA-256 is sent)")
	f.StringVar(&accept, "accept-terms", "", "version of the subscriber terms the applicant accepts now (L-21-3-3)")
	f.BoolVar(&in.ConsentDirectory, "consent-directory", false, "publish the certificate in the directory (L-21-2)")
	f.BoolVar(&in.ConsentEmail, "consent-email", false, "accept notices by e-mail (L-65-3)")
	f.StringVar(&in.ContactEmail, "contact-email", "", "e-mail for notices (default --email)")
	f.StringVar(&in.Language, "language", "fr", "ar, fr or en")
	f.BoolVar(&in.KeyInQSCD, "qscd", false, "the key is in a qualified signature creation device")
	f.Int64Var(&in.LimitMAD, "limit-mad", 0, "maximum transaction value in dirhams (L-11 i)")
	for _, name := range []string{"csr", "id-expiry", "evidence"} {
		_ = c.MarkFlagRequired(name) // else the error is a bare "open : no such file or directory"
	}
	return c
}

func applicationCmd(r *remote) *cobra.Command {
	return &cobra.Command{Use: "application ID", Short: "show an application", Args: cobra.ExactArgs(1),
		RunE: run(r, func(cmd *cobra.Command, c *client.Client, args []string) error {
			a, err := c.Application(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), a)
		})}
}

func printIssued(w io.Writer, res *client.ApprovalResult) {
	if res.Certificate != nil {
		fmt.Fprintf(w, "issued certificate %s (CA %s, until %s)\n", res.Certificate.Serial, res.Certificate.CA, res.Certificate.NotAfter)
		return
	}
	fmt.Fprintf(w, "application %s: %s, %d approval(s)\n", res.Application.ID, res.Application.Status, len(res.Application.Approvals))
}

func approveCmd(r *remote) *cobra.Command {
	var note string
	c := &cobra.Command{Use: "approve ID", Short: "approve an application (RA officer; two distinct officers issue it)", Args: cobra.ExactArgs(1),
		RunE: run(r, func(cmd *cobra.Command, c *client.Client, args []string) error {
			res, err := c.Approve(cmd.Context(), args[0], note)
			if err != nil {
				return err
			}
			printIssued(cmd.OutOrStdout(), res)
			return nil
		})}
	c.Flags().StringVar(&note, "note", "", "the officer's note")
	return c
}

func issueCmd(r *remote) *cobra.Command {
	return &cobra.Command{Use: "issue ID", Short: "retry issuance of an approved application", Args: cobra.ExactArgs(1),
		RunE: run(r, func(cmd *cobra.Command, c *client.Client, args []string) error {
			res, err := c.Issue(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			printIssued(cmd.OutOrStdout(), res)
			return nil
		})}
}

func rejectCmd(r *remote) *cobra.Command {
	var reason string
	c := &cobra.Command{Use: "reject ID", Short: "reject an application", Args: cobra.ExactArgs(1),
		RunE: run(r, func(cmd *cobra.Command, c *client.Client, args []string) error {
			if err := c.Reject(cmd.Context(), args[0], reason); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "rejected")
			return nil
		})}
	c.Flags().StringVar(&reason, "reason", "", "why")
	return c
}

func certCmd(r *remote) *cobra.Command {
	cc := &cobra.Command{Use: "cert", Short: "certificates"}
	var der bool
	get := &cobra.Command{Use: "get SERIAL", Short: "download a certificate (PEM; --der for DER)", Args: cobra.ExactArgs(1),
		RunE: run(r, func(cmd *cobra.Command, c *client.Client, args []string) error {
			if der {
				b, err := c.CertificateDER(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				_, err = cmd.OutOrStdout().Write(b)
				return err
			}
			ct, err := c.Certificate(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), ct.PEM)
			return nil
		})}
	get.Flags().BoolVar(&der, "der", false, "write DER instead of PEM")
	cc.AddCommand(get)
	return cc
}

func auditEntriesCmd(r *remote) *cobra.Command {
	var from, to int64
	c := &cobra.Command{Use: "entries", Short: "list audit log entries from a running server (auditor)", Args: cobra.NoArgs,
		RunE: run(r, func(cmd *cobra.Command, c *client.Client, _ []string) error {
			es, err := c.AuditEntries(cmd.Context(), from, to)
			if err != nil {
				return err
			}
			for _, e := range es.Entries {
				g := ""
				if e.Ground != "" {
					g = " ground=" + e.Ground
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%6d %s %-22s %-26s %s%s\n", e.Seq, e.Time, e.Action, e.Subject, e.Actor, g)
			}
			return nil
		})}
	c.Flags().Int64Var(&from, "from", 0, "first entry")
	c.Flags().Int64Var(&to, "to", 0, "end (exclusive; 0: the end of the log)")
	return c
}
