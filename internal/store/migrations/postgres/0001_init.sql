-- tawthiq schema, PostgreSQL. Times are milliseconds since the epoch, UTC (L-21-1).

CREATE TABLE audit_head (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	size BIGINT NOT NULL CHECK (size >= 0)
);
INSERT INTO audit_head (id, size) VALUES (1, 0);

CREATE TABLE audit_entries (
	seq        BIGINT PRIMARY KEY CHECK (seq >= 0),
	created_ms BIGINT NOT NULL,
	actor      TEXT NOT NULL,
	action     TEXT NOT NULL,
	subject    TEXT NOT NULL,
	ground     TEXT NOT NULL,
	data       BYTEA
);

CREATE TABLE audit_hashes (
	idx        BIGINT PRIMARY KEY CHECK (idx >= 0),
	hash       BYTEA NOT NULL CHECK (length(hash) = 32),
	created_ms BIGINT NOT NULL
);

CREATE TABLE checkpoints (
	size       BIGINT PRIMARY KEY CHECK (size >= 0),
	root       BYTEA NOT NULL,
	created_ms BIGINT NOT NULL,
	signed     BYTEA NOT NULL
);

CREATE TABLE terms (
	version    TEXT PRIMARY KEY CHECK (version <> ''),
	sha256     BYTEA NOT NULL,
	text       TEXT NOT NULL,
	created_ms BIGINT NOT NULL
);
CREATE INDEX terms_created ON terms (created_ms);

CREATE TABLE users (
	id         TEXT PRIMARY KEY CHECK (id <> ''),
	name       TEXT NOT NULL,
	role       TEXT NOT NULL,
	id_number  TEXT NOT NULL,
	email      TEXT NOT NULL,
	created_ms BIGINT NOT NULL
);

CREATE TABLE tokens (
	sha256     BYTEA PRIMARY KEY CHECK (length(sha256) = 32),
	user_id    TEXT NOT NULL REFERENCES users (id),
	created_ms BIGINT NOT NULL,
	expires_ms BIGINT
);

CREATE TABLE applications (
	id                 TEXT PRIMARY KEY CHECK (id <> ''),
	profile            TEXT NOT NULL,
	subject            TEXT NOT NULL,
	identity           TEXT NOT NULL,
	capacity           TEXT,
	id_number          TEXT NOT NULL,
	terms_version      TEXT NOT NULL REFERENCES terms (version),
	terms_accepted_ms  BIGINT NOT NULL,
	consent_directory  BOOLEAN NOT NULL,
	consent_email      BOOLEAN NOT NULL,
	contact_email      TEXT NOT NULL,
	contact_phone      TEXT NOT NULL,
	language           TEXT NOT NULL,
	csr                BYTEA NOT NULL,
	spki_sha256        BYTEA NOT NULL,
	key_in_qscd        BOOLEAN NOT NULL,
	limit_mad          BIGINT NOT NULL,
	submitted_by       TEXT NOT NULL,
	status             TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'issued', 'rejected')),
	created_ms         BIGINT NOT NULL,
	certificate_serial TEXT
);
CREATE INDEX applications_id_number ON applications (id_number);
CREATE INDEX applications_spki ON applications (spki_sha256);

CREATE TABLE approvals (
	application_id TEXT NOT NULL REFERENCES applications (id),
	officer        TEXT NOT NULL,
	created_ms     BIGINT NOT NULL,
	note           TEXT NOT NULL,
	UNIQUE (application_id, officer)
);

CREATE TABLE certificates (
	serial         TEXT PRIMARY KEY CHECK (serial <> ''),
	ca             TEXT NOT NULL,
	application_id TEXT NOT NULL REFERENCES applications (id),
	profile        TEXT NOT NULL,
	spki_sha256    BYTEA NOT NULL,
	subject        TEXT NOT NULL,
	not_before_ms  BIGINT NOT NULL,
	not_after_ms   BIGINT NOT NULL,
	tbs            BYTEA NOT NULL,
	der            BYTEA,
	status         TEXT NOT NULL CHECK (status IN ('reserved', 'issued', 'abandoned')),
	created_ms     BIGINT NOT NULL,
	issued_ms      BIGINT,
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
	der        BYTEA NOT NULL,
	created_ms BIGINT NOT NULL
);

CREATE TABLE compromised_keys (
	spki_sha256 BYTEA PRIMARY KEY,
	reason      TEXT NOT NULL,
	created_ms  BIGINT NOT NULL
);

-- L-21-2: no record is deleted inside the retention period, computed by the database's clock.
CREATE FUNCTION tawthiq_retained() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF OLD.created_ms > (extract(epoch FROM now() - interval '{{.RetentionYears}} years') * 1000)::bigint THEN
		RAISE EXCEPTION 'L-21-2: % records are kept at least {{.RetentionYears}} years', TG_TABLE_NAME;
	END IF;
	RETURN OLD;
END $$;

-- L-21-2: refuses the change outright (updates of write-once records, TRUNCATE).
CREATE FUNCTION tawthiq_refused() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'L-21-2: % records are never changed or emptied', TG_TABLE_NAME;
END $$;

{{range .Retained}}
CREATE TRIGGER {{.}}_retained BEFORE DELETE ON {{.}} FOR EACH ROW EXECUTE FUNCTION tawthiq_retained();
-- TRUNCATE skips row triggers, so it is refused on its own.
CREATE TRIGGER {{.}}_no_truncate BEFORE TRUNCATE ON {{.}} FOR EACH STATEMENT EXECUTE FUNCTION tawthiq_refused();
{{end}}
{{range .Immutable}}
CREATE TRIGGER {{.}}_immutable BEFORE UPDATE ON {{.}} FOR EACH ROW EXECUTE FUNCTION tawthiq_refused();
{{end}}

-- L-21-2: the log only grows, and its head is never removed.
CREATE FUNCTION tawthiq_audit_head() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' OR NEW.id IS DISTINCT FROM OLD.id OR NEW.size < OLD.size THEN
		RAISE EXCEPTION 'L-21-2: the audit log only grows';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER audit_head_grows BEFORE UPDATE OR DELETE ON audit_head FOR EACH ROW EXECUTE FUNCTION tawthiq_audit_head();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head FOR EACH STATEMENT EXECUTE FUNCTION tawthiq_refused();

-- L-21-2: a certificate only moves reserved -> issued (der, issued_ms set) or reserved -> abandoned.
CREATE FUNCTION tawthiq_certificate_moves() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NOT (
		OLD.status = 'reserved' AND (
			(NEW.status = 'issued' AND NEW.der IS NOT NULL AND NEW.issued_ms IS NOT NULL) OR
			(NEW.status = 'abandoned' AND NEW.der IS NULL AND NEW.issued_ms IS NULL))
		AND NEW.serial IS NOT DISTINCT FROM OLD.serial AND NEW.ca IS NOT DISTINCT FROM OLD.ca
		AND NEW.application_id IS NOT DISTINCT FROM OLD.application_id
		AND NEW.profile IS NOT DISTINCT FROM OLD.profile AND NEW.spki_sha256 IS NOT DISTINCT FROM OLD.spki_sha256
		AND NEW.subject IS NOT DISTINCT FROM OLD.subject AND NEW.not_before_ms IS NOT DISTINCT FROM OLD.not_before_ms
		AND NEW.not_after_ms IS NOT DISTINCT FROM OLD.not_after_ms AND NEW.tbs IS NOT DISTINCT FROM OLD.tbs
		AND NEW.created_ms IS NOT DISTINCT FROM OLD.created_ms)
	THEN
		RAISE EXCEPTION 'L-21-2: a certificate only moves from reserved to issued or abandoned';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER certificates_moves BEFORE UPDATE ON certificates FOR EACH ROW EXECUTE FUNCTION tawthiq_certificate_moves();

-- L-21-2: an application only moves pending -> approved -> issued (with its certificate) or pending -> rejected.
CREATE FUNCTION tawthiq_application_moves() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NOT (
		OLD.certificate_serial IS NULL AND (
			(OLD.status = 'pending' AND NEW.status IN ('approved', 'rejected') AND NEW.certificate_serial IS NULL) OR
			(OLD.status = 'approved' AND NEW.status = 'issued' AND EXISTS (
				SELECT 1 FROM certificates c
				WHERE c.serial = NEW.certificate_serial AND c.application_id = NEW.id AND c.status = 'issued')))
		AND NEW.id IS NOT DISTINCT FROM OLD.id AND NEW.profile IS NOT DISTINCT FROM OLD.profile
		AND NEW.subject IS NOT DISTINCT FROM OLD.subject AND NEW.identity IS NOT DISTINCT FROM OLD.identity
		AND NEW.capacity IS NOT DISTINCT FROM OLD.capacity AND NEW.id_number IS NOT DISTINCT FROM OLD.id_number
		AND NEW.terms_version IS NOT DISTINCT FROM OLD.terms_version
		AND NEW.terms_accepted_ms IS NOT DISTINCT FROM OLD.terms_accepted_ms
		AND NEW.consent_directory IS NOT DISTINCT FROM OLD.consent_directory
		AND NEW.consent_email IS NOT DISTINCT FROM OLD.consent_email
		AND NEW.contact_email IS NOT DISTINCT FROM OLD.contact_email
		AND NEW.contact_phone IS NOT DISTINCT FROM OLD.contact_phone
		AND NEW.language IS NOT DISTINCT FROM OLD.language AND NEW.csr IS NOT DISTINCT FROM OLD.csr
		AND NEW.spki_sha256 IS NOT DISTINCT FROM OLD.spki_sha256 AND NEW.key_in_qscd IS NOT DISTINCT FROM OLD.key_in_qscd
		AND NEW.limit_mad IS NOT DISTINCT FROM OLD.limit_mad AND NEW.submitted_by IS NOT DISTINCT FROM OLD.submitted_by
		AND NEW.created_ms IS NOT DISTINCT FROM OLD.created_ms)
	THEN
		RAISE EXCEPTION 'L-21-2: an application only moves pending -> approved -> issued, or pending -> rejected';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER applications_moves BEFORE UPDATE ON applications FOR EACH ROW EXECUTE FUNCTION tawthiq_application_moves();
