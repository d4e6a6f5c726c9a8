-- The national authority's register (L-15): CSPs, their trust services and each
-- service's status history, insurance (L-21-3-6), audits and findings, sanctions,
-- cryptography declarations and authorisations (L-13), and the mutual-recognition
-- agreements with the foreign trusted lists they point to (L-22).
-- Every row is written once: a CSP's update is a new version, a status change a new
-- history entry. Nothing is updated, and nothing is deleted inside the retention period.

CREATE TABLE authority_agreements (
	id         TEXT PRIMARY KEY CHECK (id <> ''),
	reference  TEXT NOT NULL UNIQUE CHECK (reference <> ''),
	kind       TEXT NOT NULL CHECK (kind IN ('bilateral', 'multilateral')),
	title      TEXT NOT NULL,
	signed_ms  INTEGER NOT NULL,
	created_ms INTEGER NOT NULL
);

CREATE TABLE authority_agreement_countries (
	agreement_id TEXT NOT NULL REFERENCES authority_agreements (id),
	country      TEXT NOT NULL CHECK (length(country) = 2 AND country <> 'MA'),
	created_ms   INTEGER NOT NULL,
	PRIMARY KEY (agreement_id, country)
);

-- A foreign trusted list the agreement recognises: where it is, its territory.
CREATE TABLE authority_agreement_lists (
	agreement_id  TEXT NOT NULL REFERENCES authority_agreements (id),
	idx           INTEGER NOT NULL CHECK (idx >= 0),
	location      TEXT NOT NULL CHECK (location <> ''),
	territory     TEXT NOT NULL,
	operator_name TEXT NOT NULL,
	created_ms    INTEGER NOT NULL,
	PRIMARY KEY (agreement_id, idx),
	FOREIGN KEY (agreement_id, territory) REFERENCES authority_agreement_countries (agreement_id, country)
);

-- The certificates that may sign that list.
CREATE TABLE authority_agreement_list_certs (
	agreement_id TEXT NOT NULL,
	list_idx     INTEGER NOT NULL,
	idx          INTEGER NOT NULL CHECK (idx >= 0),
	der          BLOB NOT NULL CHECK (length(der) > 0),
	created_ms   INTEGER NOT NULL,
	PRIMARY KEY (agreement_id, list_idx, idx),
	FOREIGN KEY (agreement_id, list_idx) REFERENCES authority_agreement_lists (agreement_id, idx)
);

CREATE TABLE authority_csps (
	id         TEXT PRIMARY KEY CHECK (id <> ''),
	created_ms INTEGER NOT NULL
);

-- Each version of a CSP's record; the highest version is the current one.
CREATE TABLE authority_csp_versions (
	csp_id          TEXT NOT NULL REFERENCES authority_csps (id),
	version         INTEGER NOT NULL CHECK (version >= 1),
	name            TEXT NOT NULL CHECK (name <> ''),
	country         TEXT NOT NULL CHECK (length(country) = 2),
	id_kind         TEXT NOT NULL CHECK (id_kind IN ('ice', 'rc', 'foreign')),
	id_number       TEXT NOT NULL CHECK (id_number <> ''),
	seat            TEXT NOT NULL CHECK (seat <> ''),
	information_uri TEXT NOT NULL,
	agreement_id    TEXT REFERENCES authority_agreements (id),
	created_ms      INTEGER NOT NULL,
	PRIMARY KEY (csp_id, version),
	-- L-22: a CSP established abroad is approved only under an agreement with its State.
	CHECK ((country = 'MA') = (agreement_id IS NULL))
);

CREATE TABLE authority_services (
	id         TEXT PRIMARY KEY CHECK (id <> ''),
	csp_id     TEXT NOT NULL REFERENCES authority_csps (id),
	type       TEXT NOT NULL CHECK (type LIKE 'http://uri.etsi.org/TrstSvc/Svctype/%'),
	name       TEXT NOT NULL CHECK (name <> ''),
	created_ms INTEGER NOT NULL
);
CREATE INDEX authority_services_csp ON authority_services (csp_id);

CREATE TABLE authority_service_qualifiers (
	service_id TEXT NOT NULL REFERENCES authority_services (id),
	qualifier  TEXT NOT NULL CHECK (qualifier IN ('esig', 'eseal')),
	created_ms INTEGER NOT NULL,
	PRIMARY KEY (service_id, qualifier)
);

-- The service's digital identity: certificates of one key.
CREATE TABLE authority_service_certs (
	service_id TEXT NOT NULL REFERENCES authority_services (id),
	idx        INTEGER NOT NULL CHECK (idx >= 0),
	der        BLOB NOT NULL CHECK (length(der) > 0),
	created_ms INTEGER NOT NULL,
	PRIMARY KEY (service_id, idx)
);

-- A service's status history: seq 1, 2, ... each in force from from_ms.
CREATE TABLE authority_status_changes (
	service_id TEXT NOT NULL REFERENCES authority_services (id),
	seq        INTEGER NOT NULL CHECK (seq >= 1),
	status     TEXT NOT NULL CHECK (status IN ('granted', 'suspended', 'withdrawn')),
	from_ms    INTEGER NOT NULL,
	decision   TEXT NOT NULL CHECK (decision <> ''),
	note       TEXT NOT NULL,
	created_ms INTEGER NOT NULL,
	PRIMARY KEY (service_id, seq)
);

CREATE TABLE authority_insurances (
	id             TEXT PRIMARY KEY CHECK (id <> ''),
	csp_id         TEXT NOT NULL REFERENCES authority_csps (id),
	insurer        TEXT NOT NULL CHECK (insurer <> ''),
	policy         TEXT NOT NULL CHECK (policy <> ''),
	cover_mad      INTEGER NOT NULL CHECK (cover_mad > 0),
	valid_from_ms  INTEGER NOT NULL,
	valid_until_ms INTEGER NOT NULL,
	created_ms     INTEGER NOT NULL,
	CHECK (valid_until_ms > valid_from_ms)
);
CREATE INDEX authority_insurances_csp ON authority_insurances (csp_id);

CREATE TABLE authority_audits (
	id         TEXT PRIMARY KEY CHECK (id <> ''),
	csp_id     TEXT NOT NULL REFERENCES authority_csps (id),
	service_id TEXT REFERENCES authority_services (id),
	kind       TEXT NOT NULL CHECK (kind IN ('approval', 'periodic', 'ad-hoc')),
	auditor    TEXT NOT NULL CHECK (auditor <> ''),
	date_ms    INTEGER NOT NULL,
	report_ref TEXT NOT NULL CHECK (report_ref <> ''),
	outcome    TEXT NOT NULL CHECK (outcome IN ('pass', 'pass-with-findings', 'fail')),
	created_ms INTEGER NOT NULL
);
CREATE INDEX authority_audits_csp ON authority_audits (csp_id);

CREATE TABLE authority_audit_findings (
	audit_id   TEXT NOT NULL REFERENCES authority_audits (id),
	idx        INTEGER NOT NULL CHECK (idx >= 0),
	severity   TEXT NOT NULL CHECK (severity IN ('major', 'minor', 'observation')),
	finding    TEXT NOT NULL CHECK (finding <> ''),
	created_ms INTEGER NOT NULL,
	PRIMARY KEY (audit_id, idx)
);

CREATE TABLE authority_sanctions (
	id         TEXT PRIMARY KEY CHECK (id <> ''),
	csp_id     TEXT NOT NULL REFERENCES authority_csps (id),
	service_id TEXT REFERENCES authority_services (id),
	kind       TEXT NOT NULL CHECK (kind IN ('warning', 'fine', 'suspension', 'withdrawal')),
	decision   TEXT NOT NULL CHECK (decision <> ''),
	decided_ms INTEGER NOT NULL,
	amount_mad INTEGER NOT NULL CHECK (amount_mad >= 0),
	note       TEXT NOT NULL,
	created_ms INTEGER NOT NULL,
	CHECK ((kind = 'fine') = (amount_mad > 0)),
	CHECK (kind NOT IN ('suspension', 'withdrawal') OR service_id IS NOT NULL)
);
CREATE INDEX authority_sanctions_csp ON authority_sanctions (csp_id);

CREATE TABLE authority_crypto (
	id             TEXT PRIMARY KEY CHECK (id <> ''),
	csp_id         TEXT NOT NULL REFERENCES authority_csps (id),
	kind           TEXT NOT NULL CHECK (kind IN ('declaration', 'authorisation')),
	purpose        TEXT NOT NULL CHECK (purpose IN ('authentication-integrity', 'confidentiality')),
	means          TEXT NOT NULL CHECK (means <> ''),
	reference      TEXT NOT NULL CHECK (reference <> ''),
	decided_ms     INTEGER NOT NULL,
	valid_until_ms INTEGER,
	created_ms     INTEGER NOT NULL,
	-- L-13: only means of authentication and integrity may be merely declared.
	CHECK (kind = 'authorisation' OR purpose = 'authentication-integrity')
);
CREATE INDEX authority_crypto_csp ON authority_crypto (csp_id);

-- L-15: a status follows the one in force: the first grants, each starts no earlier
-- than the previous, differs from it, and only a new grant follows a withdrawal.
CREATE TRIGGER authority_status_follows BEFORE INSERT ON authority_status_changes
WHEN NEW.seq <> 1 + COALESCE((SELECT MAX(seq) FROM authority_status_changes WHERE service_id = NEW.service_id), 0)
	OR (NEW.seq = 1 AND NEW.status <> 'granted')
	OR EXISTS (SELECT 1 FROM authority_status_changes p WHERE p.service_id = NEW.service_id AND p.seq = NEW.seq - 1
		AND (NEW.from_ms < p.from_ms OR NEW.status = p.status OR (p.status = 'withdrawn' AND NEW.status <> 'granted')))
BEGIN
	SELECT RAISE(ABORT, 'L-15: a status follows the one in force: no earlier, not the same, and only a grant after a withdrawal');
END;

-- L-21-2: the register's records are never changed, nor deleted inside the retention period.
CREATE TRIGGER authority_agreements_retained BEFORE DELETE ON authority_agreements
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: authority_agreements records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER authority_agreements_immutable BEFORE UPDATE ON authority_agreements
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: authority_agreements records are never changed');
END;
CREATE TRIGGER authority_agreement_countries_retained BEFORE DELETE ON authority_agreement_countries
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: authority_agreement_countries records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER authority_agreement_countries_immutable BEFORE UPDATE ON authority_agreement_countries
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: authority_agreement_countries records are never changed');
END;
CREATE TRIGGER authority_agreement_lists_retained BEFORE DELETE ON authority_agreement_lists
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: authority_agreement_lists records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER authority_agreement_lists_immutable BEFORE UPDATE ON authority_agreement_lists
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: authority_agreement_lists records are never changed');
END;
CREATE TRIGGER authority_agreement_list_certs_retained BEFORE DELETE ON authority_agreement_list_certs
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: authority_agreement_list_certs records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER authority_agreement_list_certs_immutable BEFORE UPDATE ON authority_agreement_list_certs
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: authority_agreement_list_certs records are never changed');
END;
CREATE TRIGGER authority_csps_retained BEFORE DELETE ON authority_csps
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: authority_csps records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER authority_csps_immutable BEFORE UPDATE ON authority_csps
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: authority_csps records are never changed');
END;
CREATE TRIGGER authority_csp_versions_retained BEFORE DELETE ON authority_csp_versions
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: authority_csp_versions records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER authority_csp_versions_immutable BEFORE UPDATE ON authority_csp_versions
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: authority_csp_versions records are never changed');
END;
CREATE TRIGGER authority_services_retained BEFORE DELETE ON authority_services
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: authority_services records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER authority_services_immutable BEFORE UPDATE ON authority_services
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: authority_services records are never changed');
END;
CREATE TRIGGER authority_service_qualifiers_retained BEFORE DELETE ON authority_service_qualifiers
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: authority_service_qualifiers records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER authority_service_qualifiers_immutable BEFORE UPDATE ON authority_service_qualifiers
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: authority_service_qualifiers records are never changed');
END;
CREATE TRIGGER authority_service_certs_retained BEFORE DELETE ON authority_service_certs
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: authority_service_certs records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER authority_service_certs_immutable BEFORE UPDATE ON authority_service_certs
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: authority_service_certs records are never changed');
END;
CREATE TRIGGER authority_status_changes_retained BEFORE DELETE ON authority_status_changes
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: authority_status_changes records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER authority_status_changes_immutable BEFORE UPDATE ON authority_status_changes
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: authority_status_changes records are never changed');
END;
CREATE TRIGGER authority_insurances_retained BEFORE DELETE ON authority_insurances
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: authority_insurances records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER authority_insurances_immutable BEFORE UPDATE ON authority_insurances
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: authority_insurances records are never changed');
END;
CREATE TRIGGER authority_audits_retained BEFORE DELETE ON authority_audits
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: authority_audits records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER authority_audits_immutable BEFORE UPDATE ON authority_audits
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: authority_audits records are never changed');
END;
CREATE TRIGGER authority_audit_findings_retained BEFORE DELETE ON authority_audit_findings
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: authority_audit_findings records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER authority_audit_findings_immutable BEFORE UPDATE ON authority_audit_findings
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: authority_audit_findings records are never changed');
END;
CREATE TRIGGER authority_sanctions_retained BEFORE DELETE ON authority_sanctions
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: authority_sanctions records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER authority_sanctions_immutable BEFORE UPDATE ON authority_sanctions
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: authority_sanctions records are never changed');
END;
CREATE TRIGGER authority_crypto_retained BEFORE DELETE ON authority_crypto
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: authority_crypto records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER authority_crypto_immutable BEFORE UPDATE ON authority_crypto
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: authority_crypto records are never changed');
END;
