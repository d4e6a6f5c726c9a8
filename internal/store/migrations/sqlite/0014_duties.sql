-- The CSP's duties beside issuance: its professional liability insurance (L-21-3-6),
-- security breaches reported to the authority and to harmed holders (L-24, 43-20
-- art. 40), holders' reports of changed data (L-25), and the outbox of the notices
-- they cause (to the authority, holders and operators), which the deliverer drains.

CREATE TABLE insurance_policies (
	id             TEXT PRIMARY KEY CHECK (id <> ''),
	insurer        TEXT NOT NULL CHECK (insurer <> ''),
	policy_number  TEXT NOT NULL CHECK (policy_number <> ''),
	cover_mad      INTEGER NOT NULL CHECK (cover_mad > 0),
	valid_from_ms  INTEGER NOT NULL,
	valid_until_ms INTEGER NOT NULL,
	recorded_by    TEXT NOT NULL,
	created_ms     INTEGER NOT NULL,
	CHECK (valid_until_ms > valid_from_ms),
	UNIQUE (insurer, policy_number)
);

CREATE TABLE breaches (
	id          TEXT PRIMARY KEY CHECK (id <> ''),
	kind        TEXT NOT NULL CHECK (kind IN ('key-compromise', 'data-leak', 'service-outage', 'other')),
	description TEXT NOT NULL CHECK (description <> ''),
	detected_ms INTEGER NOT NULL,
	recorded_by TEXT NOT NULL,
	created_ms  INTEGER NOT NULL
);
CREATE INDEX breaches_created ON breaches (created_ms);

CREATE TABLE breach_cas (
	breach_id  TEXT NOT NULL REFERENCES breaches (id),
	ca         TEXT NOT NULL REFERENCES authorities (name),
	created_ms INTEGER NOT NULL,
	PRIMARY KEY (breach_id, ca)
);

CREATE TABLE breach_certificates (
	breach_id  TEXT NOT NULL REFERENCES breaches (id),
	serial     TEXT NOT NULL REFERENCES certificates (serial),
	created_ms INTEGER NOT NULL,
	PRIMARY KEY (breach_id, serial)
);

-- The harm assessment of each holder the breach touches: he is told when harm is set.
CREATE TABLE breach_holders (
	breach_id  TEXT NOT NULL REFERENCES breaches (id),
	holder_id  TEXT NOT NULL REFERENCES users (id),
	harm       INTEGER NOT NULL CHECK (harm IN (0, 1)),
	assessment TEXT NOT NULL CHECK (assessment <> ''),
	created_ms INTEGER NOT NULL,
	PRIMARY KEY (breach_id, holder_id)
);

CREATE TABLE data_changes (
	id              TEXT PRIMARY KEY CHECK (id <> ''),
	serial          TEXT NOT NULL REFERENCES certificates (serial),
	holder_id       TEXT NOT NULL CHECK (holder_id <> ''),
	field           TEXT NOT NULL CHECK (field <> ''),
	new_value       TEXT NOT NULL CHECK (new_value <> ''),
	evidence_sha256 BLOB NOT NULL CHECK (length(evidence_sha256) = 32),
	status          TEXT NOT NULL CHECK (status IN ('pending', 'revoked', 'closed')),
	decided_by      TEXT NOT NULL,
	decided_ms      INTEGER,
	note            TEXT NOT NULL,
	created_ms      INTEGER NOT NULL,
	CHECK ((status = 'pending') = (decided_ms IS NULL))
);
CREATE INDEX data_changes_status ON data_changes (status, created_ms);

CREATE TABLE duty_notices (
	id              TEXT PRIMARY KEY CHECK (id <> ''),
	dedup_key       TEXT NOT NULL UNIQUE CHECK (dedup_key <> ''),
	ref             TEXT NOT NULL CHECK (ref <> ''), -- the breach or the insurance cover it is about
	kind            TEXT NOT NULL CHECK (kind IN ('breach-authority', 'breach-holder', 'insurance-lapse')),
	channel         TEXT NOT NULL CHECK (channel IN ('email', 'account')),
	recipient       TEXT NOT NULL CHECK (recipient <> ''),
	language        TEXT NOT NULL CHECK (language IN ('ar', 'fr', 'en')),
	subject         TEXT NOT NULL,
	body            TEXT NOT NULL,
	state           TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'held')),
	attempts        INTEGER NOT NULL CHECK (attempts >= 0),
	next_attempt_ms INTEGER NOT NULL,
	lease_until_ms  INTEGER,
	lease_holder    TEXT NOT NULL,
	message_id      TEXT NOT NULL UNIQUE,
	last_error      TEXT NOT NULL,
	created_ms      INTEGER NOT NULL,
	sent_ms         INTEGER,
	CHECK ((channel = 'account') = (state = 'held')),
	CHECK ((state = 'sent') = (sent_ms IS NOT NULL)),
	CHECK ((state = 'sending') = (lease_until_ms IS NOT NULL))
);
CREATE INDEX duty_notices_due ON duty_notices (state, next_attempt_ms);
CREATE INDEX duty_notices_ref ON duty_notices (ref);

-- L-21-2: none of these records is deleted inside the retention period.
CREATE TRIGGER insurance_policies_retained BEFORE DELETE ON insurance_policies
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: insurance_policies records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER breaches_retained BEFORE DELETE ON breaches
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: breaches records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER breach_cas_retained BEFORE DELETE ON breach_cas
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: breach_cas records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER breach_certificates_retained BEFORE DELETE ON breach_certificates
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: breach_certificates records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER breach_holders_retained BEFORE DELETE ON breach_holders
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: breach_holders records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER data_changes_retained BEFORE DELETE ON data_changes
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: data_changes records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER duty_notices_retained BEFORE DELETE ON duty_notices
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: duty_notices records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER insurance_policies_immutable BEFORE UPDATE ON insurance_policies
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: insurance_policies records are never changed');
END;
CREATE TRIGGER breaches_immutable BEFORE UPDATE ON breaches
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: breaches records are never changed');
END;
CREATE TRIGGER breach_cas_immutable BEFORE UPDATE ON breach_cas
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: breach_cas records are never changed');
END;
CREATE TRIGGER breach_certificates_immutable BEFORE UPDATE ON breach_certificates
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: breach_certificates records are never changed');
END;
CREATE TRIGGER breach_holders_immutable BEFORE UPDATE ON breach_holders
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: breach_holders records are never changed');
END;

-- L-25: a report is decided once; what the holder reported never changes.
CREATE TRIGGER data_changes_moves BEFORE UPDATE ON data_changes
WHEN NOT (
	OLD.status = 'pending' AND NEW.status IN ('revoked', 'closed')
	AND NEW.id IS OLD.id AND NEW.serial IS OLD.serial AND NEW.holder_id IS OLD.holder_id
	AND NEW.field IS OLD.field AND NEW.new_value IS OLD.new_value
	AND NEW.evidence_sha256 IS OLD.evidence_sha256 AND NEW.created_ms IS OLD.created_ms)
BEGIN
	SELECT RAISE(ABORT, 'L-25: a data change report is decided once and never altered');
END;

-- L-24: what a notice says never changes; it only moves queued <-> sending -> sent.
CREATE TRIGGER duty_notices_moves BEFORE UPDATE ON duty_notices
WHEN NOT (
	OLD.state IN ('queued', 'sending') AND NEW.state IN ('queued', 'sending', 'sent')
	AND NEW.attempts >= OLD.attempts
	AND NEW.id IS OLD.id AND NEW.dedup_key IS OLD.dedup_key AND NEW.ref IS OLD.ref
	AND NEW.kind IS OLD.kind AND NEW.channel IS OLD.channel
	AND NEW.recipient IS OLD.recipient AND NEW.language IS OLD.language AND NEW.subject IS OLD.subject
	AND NEW.body IS OLD.body AND NEW.message_id IS OLD.message_id AND NEW.created_ms IS OLD.created_ms)
BEGIN
	SELECT RAISE(ABORT, 'L-24: a notice is never changed, and a sent notice stays sent');
END;
