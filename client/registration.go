package client

// RegistrationFile is what a CSP hands the authority to be registered (issue 7,
// L-15): who it is, its services with their certificates, and its policy
// documents. `tawthiq registration-file` writes it; `tawthiq authority csp
// import` reads it.
type RegistrationFile struct {
	CSP         CSPRequest        `json:"csp"`
	Services    []ServiceRequest  `json:"services"` // csp_id and grant are the authority's to fill
	PolicyOID   string            `json:"policy_oid"`
	PDS         map[string]string `json:"pds"`           // language -> URL of the PKI disclosure statement (L-21-3-4)
	Terms       string            `json:"terms_version"` // the subscriber terms in force (L-21-3-3)
	GeneratedAt Timestamp         `json:"generated_at"`
}
