-- Revocation (L-21-1, L-21-3-7, L-21-rev). A revocation is never undone: no update
-- but the first publication times, no delete inside the retention period.

CREATE TABLE revocations (
	serial            TEXT PRIMARY KEY REFERENCES certificates (serial),
	ca                TEXT NOT NULL,
	ground            TEXT NOT NULL,
	reason            INTEGER NOT NULL,
	requested_ms      BIGINT NOT NULL,
	revoked_ms        BIGINT NOT NULL,
	invalidity_ms     BIGINT,
	requested_by      TEXT NOT NULL,
	note              TEXT NOT NULL,
	order_ref         TEXT NOT NULL,
	crl_published_ms  BIGINT,
	ocsp_published_ms BIGINT,
	created_ms        BIGINT NOT NULL
);
CREATE INDEX revocations_ca ON revocations (ca, revoked_ms);

CREATE TABLE revocation_secrets (
	application_id TEXT PRIMARY KEY REFERENCES applications (id),
	sha256         BYTEA NOT NULL CHECK (length(sha256) = 32),
	created_ms     BIGINT NOT NULL
);

CREATE TABLE leases (
	name       TEXT PRIMARY KEY,
	holder     TEXT NOT NULL,
	expires_ms BIGINT NOT NULL
);

CREATE TRIGGER revocations_retained BEFORE DELETE ON revocations FOR EACH ROW EXECUTE FUNCTION tawthiq_retained();
CREATE TRIGGER revocations_no_truncate BEFORE TRUNCATE ON revocations FOR EACH STATEMENT EXECUTE FUNCTION tawthiq_refused();
CREATE TRIGGER revocation_secrets_retained BEFORE DELETE ON revocation_secrets FOR EACH ROW EXECUTE FUNCTION tawthiq_retained();
CREATE TRIGGER revocation_secrets_no_truncate BEFORE TRUNCATE ON revocation_secrets FOR EACH STATEMENT EXECUTE FUNCTION tawthiq_refused();
CREATE TRIGGER revocation_secrets_immutable BEFORE UPDATE ON revocation_secrets FOR EACH ROW EXECUTE FUNCTION tawthiq_refused();

CREATE FUNCTION tawthiq_revocation_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NOT (
		NEW.serial IS NOT DISTINCT FROM OLD.serial AND NEW.ca IS NOT DISTINCT FROM OLD.ca
		AND NEW.ground IS NOT DISTINCT FROM OLD.ground AND NEW.reason IS NOT DISTINCT FROM OLD.reason
		AND NEW.requested_ms IS NOT DISTINCT FROM OLD.requested_ms AND NEW.revoked_ms IS NOT DISTINCT FROM OLD.revoked_ms
		AND NEW.invalidity_ms IS NOT DISTINCT FROM OLD.invalidity_ms AND NEW.requested_by IS NOT DISTINCT FROM OLD.requested_by
		AND NEW.note IS NOT DISTINCT FROM OLD.note AND NEW.order_ref IS NOT DISTINCT FROM OLD.order_ref
		AND NEW.created_ms IS NOT DISTINCT FROM OLD.created_ms
		AND (OLD.crl_published_ms IS NULL OR NEW.crl_published_ms IS NOT DISTINCT FROM OLD.crl_published_ms)
		AND (OLD.ocsp_published_ms IS NULL OR NEW.ocsp_published_ms IS NOT DISTINCT FROM OLD.ocsp_published_ms))
	THEN
		RAISE EXCEPTION 'L-21-rev: a revocation is final: only its first publication times are recorded';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER revocations_final BEFORE UPDATE ON revocations FOR EACH ROW EXECUTE FUNCTION tawthiq_revocation_final();

CREATE FUNCTION tawthiq_revocation_issued() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM certificates c WHERE c.serial = NEW.serial AND c.status = 'issued' AND c.ca = NEW.ca) THEN
		RAISE EXCEPTION 'L-21-3-7: only an issued certificate of this CA can be revoked';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER revocations_issued BEFORE INSERT ON revocations FOR EACH ROW EXECUTE FUNCTION tawthiq_revocation_issued();
