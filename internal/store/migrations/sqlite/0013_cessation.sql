-- Cessation of activity (L-23): the plan, its steps done once each, the outbox of
-- its notices, and, on a successor, the records taken over from a ceding CSP.

CREATE TABLE cessation_plans (
	one            INTEGER PRIMARY KEY CHECK (one = 1), -- a CSP ceases once
	mode           TEXT NOT NULL CHECK (mode IN ('takeover', 'revoke-all', 'judicial-liquidation')),
	end_ms         INTEGER NOT NULL,
	successor_name TEXT NOT NULL,
	successor_id   TEXT NOT NULL,
	planned_by     TEXT NOT NULL,
	note           TEXT NOT NULL,
	created_ms     INTEGER NOT NULL
);

CREATE TABLE cessation_steps (
	step       TEXT PRIMARY KEY CHECK (step IN ('authority-notice', 'holders-warned', 'revoke-all', 'takeover-export')),
	done_ms    INTEGER NOT NULL,
	created_ms INTEGER NOT NULL
);

CREATE TABLE cessation_notices (
	dedup_key  TEXT PRIMARY KEY CHECK (dedup_key <> ''), -- "authority", "holder:<user ID>"
	kind       TEXT NOT NULL CHECK (kind IN ('authority', 'holder')),
	channel    TEXT NOT NULL CHECK (channel IN ('email', 'account')),
	recipient  TEXT NOT NULL CHECK (recipient <> ''),
	subject    TEXT NOT NULL,
	body       TEXT NOT NULL,
	created_ms INTEGER NOT NULL
);

-- The signed archive as received: the evidence the normalised rows below come from.
CREATE TABLE takeover_imports (
	id          TEXT PRIMARY KEY CHECK (id <> ''),
	origin_name TEXT NOT NULL,
	origin_id   TEXT NOT NULL,
	sha256      TEXT NOT NULL UNIQUE,
	archive     BLOB NOT NULL,
	created_ms  INTEGER NOT NULL
);

-- A ceding CSP's CA this CSP answers status for, with the delegated responder
-- certificate that CA issued for this CSP's key (RFC 6960 §4.2.2.2).
CREATE TABLE transferred_issuers (
	name          TEXT PRIMARY KEY CHECK (name <> ''), -- "<origin id>/<ca>"
	import_id     TEXT NOT NULL REFERENCES takeover_imports (id),
	origin_id     TEXT NOT NULL,
	ca            TEXT NOT NULL,
	ca_der        BLOB NOT NULL,
	responder_der BLOB NOT NULL,
	key_uri       TEXT NOT NULL,
	created_ms    INTEGER NOT NULL
);

CREATE TABLE transferred_certificates (
	issuer       TEXT NOT NULL REFERENCES transferred_issuers (name),
	serial       TEXT NOT NULL CHECK (serial <> ''),
	der          BLOB NOT NULL,
	registration TEXT NOT NULL, -- the ceding CSP's registration record (L-21-2)
	created_ms   INTEGER NOT NULL,
	PRIMARY KEY (issuer, serial)
);
CREATE INDEX transferred_certificates_serial ON transferred_certificates (serial);

CREATE TABLE transferred_revocations (
	issuer       TEXT NOT NULL,
	serial       TEXT NOT NULL,
	ground       TEXT NOT NULL,
	reason       INTEGER NOT NULL,
	requested_ms INTEGER NOT NULL,
	revoked_ms   INTEGER NOT NULL,
	order_ref    TEXT NOT NULL,
	created_ms   INTEGER NOT NULL,
	PRIMARY KEY (issuer, serial),
	FOREIGN KEY (issuer, serial) REFERENCES transferred_certificates (issuer, serial)
);

-- L-21-2: these records are written once, never changed nor removed inside the retention period.
CREATE TRIGGER cessation_plans_immutable BEFORE UPDATE ON cessation_plans
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: cessation_plans records are never changed');
END;
CREATE TRIGGER cessation_plans_retained BEFORE DELETE ON cessation_plans
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: cessation_plans records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER cessation_steps_immutable BEFORE UPDATE ON cessation_steps
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: cessation_steps records are never changed');
END;
CREATE TRIGGER cessation_steps_retained BEFORE DELETE ON cessation_steps
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: cessation_steps records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER cessation_notices_immutable BEFORE UPDATE ON cessation_notices
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: cessation_notices records are never changed');
END;
CREATE TRIGGER cessation_notices_retained BEFORE DELETE ON cessation_notices
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: cessation_notices records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER takeover_imports_immutable BEFORE UPDATE ON takeover_imports
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: takeover_imports records are never changed');
END;
CREATE TRIGGER takeover_imports_retained BEFORE DELETE ON takeover_imports
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: takeover_imports records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER transferred_issuers_immutable BEFORE UPDATE ON transferred_issuers
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: transferred_issuers records are never changed');
END;
CREATE TRIGGER transferred_issuers_retained BEFORE DELETE ON transferred_issuers
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: transferred_issuers records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER transferred_certificates_immutable BEFORE UPDATE ON transferred_certificates
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: transferred_certificates records are never changed');
END;
CREATE TRIGGER transferred_certificates_retained BEFORE DELETE ON transferred_certificates
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: transferred_certificates records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER transferred_revocations_immutable BEFORE UPDATE ON transferred_revocations
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: transferred_revocations records are never changed');
END;
CREATE TRIGGER transferred_revocations_retained BEFORE DELETE ON transferred_revocations
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: transferred_revocations records are kept at least {{.RetentionYears}} years');
END;
