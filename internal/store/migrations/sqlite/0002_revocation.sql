-- Revocation (L-21-1, L-21-3-7, L-21-rev). A revocation is never undone: no update
-- but the first publication times, no delete inside the retention period.

CREATE TABLE revocations (
	serial            TEXT PRIMARY KEY REFERENCES certificates (serial),
	ca                TEXT NOT NULL,
	ground            TEXT NOT NULL,
	reason            INTEGER NOT NULL,  -- RFC 5280 CRLReason
	requested_ms      INTEGER NOT NULL,  -- when the request arrived
	revoked_ms        INTEGER NOT NULL,  -- the decision: the revocationDate (L-21-1)
	invalidity_ms     INTEGER,           -- key compromise: since when the key is unsafe
	requested_by      TEXT NOT NULL,     -- user ID, or "revocation-secret"
	note              TEXT NOT NULL,
	order_ref         TEXT NOT NULL,     -- judicial order reference (L-21-3-7 b)
	crl_published_ms  INTEGER,           -- first CRL that lists it
	ocsp_published_ms INTEGER,           -- first OCSP response that says revoked
	created_ms        INTEGER NOT NULL
);
CREATE INDEX revocations_ca ON revocations (ca, revoked_ms);

-- A revocation secret handed to the holder at registration; only its hash is kept.
CREATE TABLE revocation_secrets (
	application_id TEXT PRIMARY KEY REFERENCES applications (id),
	sha256         BLOB NOT NULL CHECK (length(sha256) = 32),
	created_ms     INTEGER NOT NULL
);

-- Periodic jobs (CRL, OCSP refresh, notices) take a lease so one node runs each.
CREATE TABLE leases (
	name       TEXT PRIMARY KEY,
	holder     TEXT NOT NULL,
	expires_ms INTEGER NOT NULL
);

CREATE TRIGGER revocations_retained BEFORE DELETE ON revocations
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: revocations records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER revocation_secrets_retained BEFORE DELETE ON revocation_secrets
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: revocation_secrets records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER revocation_secrets_immutable BEFORE UPDATE ON revocation_secrets
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: revocation_secrets records are never changed');
END;

-- L-21-rev: a revocation is final; only its first publication times are filled in, once.
CREATE TRIGGER revocations_final BEFORE UPDATE ON revocations
WHEN NOT (
	NEW.serial IS OLD.serial AND NEW.ca IS OLD.ca AND NEW.ground IS OLD.ground AND NEW.reason IS OLD.reason
	AND NEW.requested_ms IS OLD.requested_ms AND NEW.revoked_ms IS OLD.revoked_ms
	AND NEW.invalidity_ms IS OLD.invalidity_ms AND NEW.requested_by IS OLD.requested_by
	AND NEW.note IS OLD.note AND NEW.order_ref IS OLD.order_ref AND NEW.created_ms IS OLD.created_ms
	AND (OLD.crl_published_ms IS NULL OR NEW.crl_published_ms IS OLD.crl_published_ms)
	AND (OLD.ocsp_published_ms IS NULL OR NEW.ocsp_published_ms IS OLD.ocsp_published_ms))
BEGIN
	SELECT RAISE(ABORT, 'L-21-rev: a revocation is final: only its first publication times are recorded');
END;

-- Only issued certificates are revoked.
CREATE TRIGGER revocations_issued BEFORE INSERT ON revocations
WHEN NOT EXISTS (SELECT 1 FROM certificates c WHERE c.serial = NEW.serial AND c.status = 'issued' AND c.ca = NEW.ca)
BEGIN
	SELECT RAISE(ABORT, 'L-21-3-7: only an issued certificate of this CA can be revoked');
END;
