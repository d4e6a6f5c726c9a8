-- tawthiq schema, SQLite. Times are milliseconds since the epoch, UTC (L-21-1).
-- Rendered through text/template: the retention period comes from law.RetentionYears (L-21-2).

CREATE TABLE audit_head (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	size INTEGER NOT NULL CHECK (size >= 0)
);
INSERT INTO audit_head (id, size) VALUES (1, 0);

CREATE TABLE audit_entries (
	seq        INTEGER PRIMARY KEY CHECK (seq >= 0),
	created_ms INTEGER NOT NULL,
	actor      TEXT NOT NULL,
	action     TEXT NOT NULL,
	subject    TEXT NOT NULL,
	ground     TEXT NOT NULL,
	data       BLOB
);

CREATE TABLE audit_hashes (
	idx        INTEGER PRIMARY KEY CHECK (idx >= 0),
	hash       BLOB NOT NULL CHECK (length(hash) = 32),
	created_ms INTEGER NOT NULL
);

CREATE TABLE checkpoints (
	size       INTEGER PRIMARY KEY CHECK (size >= 0),
	root       BLOB NOT NULL,
	created_ms INTEGER NOT NULL,
	signed     BLOB NOT NULL
);

CREATE TABLE terms (
	version    TEXT PRIMARY KEY CHECK (version <> ''),
	sha256     BLOB NOT NULL,
	text       TEXT NOT NULL,
	created_ms INTEGER NOT NULL
);
CREATE INDEX terms_created ON terms (created_ms);

CREATE TABLE users (
	id         TEXT PRIMARY KEY CHECK (id <> ''),
	name       TEXT NOT NULL,
	role       TEXT NOT NULL,
	id_number  TEXT NOT NULL,
	email      TEXT NOT NULL,
	created_ms INTEGER NOT NULL
);

CREATE TABLE tokens (
	sha256     BLOB PRIMARY KEY CHECK (length(sha256) = 32),
	user_id    TEXT NOT NULL REFERENCES users (id),
	created_ms INTEGER NOT NULL,
	expires_ms INTEGER
);

CREATE TABLE applications (
	id                 TEXT PRIMARY KEY CHECK (id <> ''),
	profile            TEXT NOT NULL,
	subject            TEXT NOT NULL,
	identity           TEXT NOT NULL,
	capacity           TEXT,
	id_number          TEXT NOT NULL,
	terms_version      TEXT NOT NULL REFERENCES terms (version),
	terms_accepted_ms  INTEGER NOT NULL,
	consent_directory  INTEGER NOT NULL,
	consent_email      INTEGER NOT NULL,
	contact_email      TEXT NOT NULL,
	contact_phone      TEXT NOT NULL,
	language           TEXT NOT NULL,
	csr                BLOB NOT NULL,
	spki_sha256        BLOB NOT NULL,
	key_in_qscd        INTEGER NOT NULL,
	limit_mad          INTEGER NOT NULL,
	submitted_by       TEXT NOT NULL,
	status             TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'issued', 'rejected')),
	created_ms         INTEGER NOT NULL,
	certificate_serial TEXT
);
CREATE INDEX applications_id_number ON applications (id_number);
CREATE INDEX applications_spki ON applications (spki_sha256);

CREATE TABLE approvals (
	application_id TEXT NOT NULL REFERENCES applications (id),
	officer        TEXT NOT NULL,
	created_ms     INTEGER NOT NULL,
	note           TEXT NOT NULL,
	UNIQUE (application_id, officer)
);

CREATE TABLE certificates (
	serial         TEXT PRIMARY KEY CHECK (serial <> ''),
	ca             TEXT NOT NULL,
	application_id TEXT NOT NULL REFERENCES applications (id),
	profile        TEXT NOT NULL,
	spki_sha256    BLOB NOT NULL,
	subject        TEXT NOT NULL,
	not_before_ms  INTEGER NOT NULL,
	not_after_ms   INTEGER NOT NULL,
	tbs            BLOB NOT NULL,
	der            BLOB,
	status         TEXT NOT NULL CHECK (status IN ('reserved', 'issued', 'abandoned')),
	created_ms     INTEGER NOT NULL,
	issued_ms      INTEGER,
	CHECK ((status = 'issued') = (der IS NOT NULL AND issued_ms IS NOT NULL))
);
CREATE INDEX certificates_spki ON certificates (spki_sha256);
CREATE INDEX certificates_application ON certificates (application_id);
CREATE INDEX certificates_status ON certificates (status);

CREATE TABLE authorities (
	name       TEXT PRIMARY KEY CHECK (name <> ''),
	role       TEXT NOT NULL,
	parent     TEXT NOT NULL,
	key_uri    TEXT NOT NULL,
	der        BLOB NOT NULL,
	created_ms INTEGER NOT NULL
);

CREATE TABLE compromised_keys (
	spki_sha256 BLOB PRIMARY KEY,
	reason      TEXT NOT NULL,
	created_ms  INTEGER NOT NULL
);

-- L-21-2: no record is deleted inside the retention period.
{{range .Retained}}
CREATE TRIGGER {{.}}_retained BEFORE DELETE ON {{.}}
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{$.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: {{.}} records are kept at least {{$.RetentionYears}} years');
END;
{{end}}

-- L-21-2: these records are written once and never changed.
{{range .Immutable}}
CREATE TRIGGER {{.}}_immutable BEFORE UPDATE ON {{.}}
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: {{.}} records are never changed');
END;
{{end}}

-- L-21-2: the log only grows, and its head is never removed.
CREATE TRIGGER audit_head_grows BEFORE UPDATE ON audit_head
WHEN NEW.id IS NOT OLD.id OR NEW.size < OLD.size
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: the audit log only grows');
END;
CREATE TRIGGER audit_head_kept BEFORE DELETE ON audit_head
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: the audit log head is never removed');
END;

-- L-21-2: a certificate only moves reserved -> issued (der, issued_ms set) or reserved -> abandoned.
CREATE TRIGGER certificates_moves BEFORE UPDATE ON certificates
WHEN NOT (
	OLD.status = 'reserved' AND (
		(NEW.status = 'issued' AND NEW.der IS NOT NULL AND NEW.issued_ms IS NOT NULL) OR
		(NEW.status = 'abandoned' AND NEW.der IS NULL AND NEW.issued_ms IS NULL))
	AND NEW.serial IS OLD.serial AND NEW.ca IS OLD.ca AND NEW.application_id IS OLD.application_id
	AND NEW.profile IS OLD.profile AND NEW.spki_sha256 IS OLD.spki_sha256 AND NEW.subject IS OLD.subject
	AND NEW.not_before_ms IS OLD.not_before_ms AND NEW.not_after_ms IS OLD.not_after_ms
	AND NEW.tbs IS OLD.tbs AND NEW.created_ms IS OLD.created_ms)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: a certificate only moves from reserved to issued or abandoned');
END;

-- L-21-2: an application only moves pending -> approved -> issued (with its certificate) or pending -> rejected.
CREATE TRIGGER applications_moves BEFORE UPDATE ON applications
WHEN NOT (
	OLD.certificate_serial IS NULL AND (
		(OLD.status = 'pending' AND NEW.status IN ('approved', 'rejected') AND NEW.certificate_serial IS NULL) OR
		(OLD.status = 'approved' AND NEW.status = 'issued' AND EXISTS (
			SELECT 1 FROM certificates c
			WHERE c.serial = NEW.certificate_serial AND c.application_id = NEW.id AND c.status = 'issued')))
	AND NEW.id IS OLD.id AND NEW.profile IS OLD.profile AND NEW.subject IS OLD.subject
	AND NEW.identity IS OLD.identity AND NEW.capacity IS OLD.capacity AND NEW.id_number IS OLD.id_number
	AND NEW.terms_version IS OLD.terms_version AND NEW.terms_accepted_ms IS OLD.terms_accepted_ms
	AND NEW.consent_directory IS OLD.consent_directory AND NEW.consent_email IS OLD.consent_email
	AND NEW.contact_email IS OLD.contact_email AND NEW.contact_phone IS OLD.contact_phone
	AND NEW.language IS OLD.language AND NEW.csr IS OLD.csr AND NEW.spki_sha256 IS OLD.spki_sha256
	AND NEW.key_in_qscd IS OLD.key_in_qscd AND NEW.limit_mad IS OLD.limit_mad
	AND NEW.submitted_by IS OLD.submitted_by AND NEW.created_ms IS OLD.created_ms)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: an application only moves pending -> approved -> issued, or pending -> rejected');
END;
