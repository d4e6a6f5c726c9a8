-- The CSP's duties beside issuance: its professional liability insurance (L-21-3-6),
-- security breaches reported to the authority and to harmed holders (L-24, 43-20
-- art. 40), holders' reports of changed data (L-25), and the outbox of the notices
-- they cause (to the authority, holders and operators), which the deliverer drains.

CREATE TABLE insurance_policies (
	id             TEXT PRIMARY KEY CHECK (id <> ''),
	insurer        TEXT NOT NULL CHECK (insurer <> ''),
	policy_number  TEXT NOT NULL CHECK (policy_number <> ''),
	cover_mad      BIGINT NOT NULL CHECK (cover_mad > 0),
	valid_from_ms  BIGINT NOT NULL,
	valid_until_ms BIGINT NOT NULL,
	recorded_by    TEXT NOT NULL,
	created_ms     BIGINT NOT NULL,
	CHECK (valid_until_ms > valid_from_ms),
	UNIQUE (insurer, policy_number)
);

CREATE TABLE breaches (
	id          TEXT PRIMARY KEY CHECK (id <> ''),
	kind        TEXT NOT NULL CHECK (kind IN ('key-compromise', 'data-leak', 'service-outage', 'other')),
	description TEXT NOT NULL CHECK (description <> ''),
	detected_ms BIGINT NOT NULL,
	recorded_by TEXT NOT NULL,
	created_ms  BIGINT NOT NULL
);
CREATE INDEX breaches_created ON breaches (created_ms);

CREATE TABLE breach_cas (
	breach_id  TEXT NOT NULL REFERENCES breaches (id),
	ca         TEXT NOT NULL REFERENCES authorities (name),
	created_ms BIGINT NOT NULL,
	PRIMARY KEY (breach_id, ca)
);

CREATE TABLE breach_certificates (
	breach_id  TEXT NOT NULL REFERENCES breaches (id),
	serial     TEXT NOT NULL REFERENCES certificates (serial),
	created_ms BIGINT NOT NULL,
	PRIMARY KEY (breach_id, serial)
);

-- The harm assessment of each holder the breach touches: he is told when harm is set.
CREATE TABLE breach_holders (
	breach_id  TEXT NOT NULL REFERENCES breaches (id),
	holder_id  TEXT NOT NULL REFERENCES users (id),
	harm       BOOLEAN NOT NULL,
	assessment TEXT NOT NULL CHECK (assessment <> ''),
	created_ms BIGINT NOT NULL,
	PRIMARY KEY (breach_id, holder_id)
);

CREATE TABLE data_changes (
	id              TEXT PRIMARY KEY CHECK (id <> ''),
	serial          TEXT NOT NULL REFERENCES certificates (serial),
	holder_id       TEXT NOT NULL CHECK (holder_id <> ''),
	field           TEXT NOT NULL CHECK (field <> ''),
	new_value       TEXT NOT NULL CHECK (new_value <> ''),
	evidence_sha256 BYTEA NOT NULL CHECK (length(evidence_sha256) = 32),
	status          TEXT NOT NULL CHECK (status IN ('pending', 'revoked', 'closed')),
	decided_by      TEXT NOT NULL,
	decided_ms      BIGINT,
	note            TEXT NOT NULL,
	created_ms      BIGINT NOT NULL,
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
	next_attempt_ms BIGINT NOT NULL,
	lease_until_ms  BIGINT,
	lease_holder    TEXT NOT NULL,
	message_id      TEXT NOT NULL UNIQUE,
	last_error      TEXT NOT NULL,
	created_ms      BIGINT NOT NULL,
	sent_ms         BIGINT,
	CHECK ((channel = 'account') = (state = 'held')),
	CHECK ((state = 'sent') = (sent_ms IS NOT NULL)),
	CHECK ((state = 'sending') = (lease_until_ms IS NOT NULL))
);
CREATE INDEX duty_notices_due ON duty_notices (state, next_attempt_ms);
CREATE INDEX duty_notices_ref ON duty_notices (ref);

-- L-21-2: none of these records is deleted inside the retention period; the
-- write-once ones are never updated. TRUNCATE skips row triggers, so it is refused on its own.
DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['insurance_policies', 'breaches', 'breach_cas', 'breach_certificates',
		'breach_holders', 'data_changes', 'duty_notices'] LOOP
		EXECUTE format('CREATE TRIGGER %I BEFORE DELETE ON %I FOR EACH ROW EXECUTE FUNCTION tawthiq_retained()', t || '_retained', t);
		EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION tawthiq_refused()', t || '_no_truncate', t);
	END LOOP;
	FOREACH t IN ARRAY ARRAY['insurance_policies', 'breaches', 'breach_cas', 'breach_certificates', 'breach_holders'] LOOP
		EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE ON %I FOR EACH ROW EXECUTE FUNCTION tawthiq_refused()', t || '_immutable', t);
	END LOOP;
END $$;

-- L-25: a report is decided once; what the holder reported never changes.
CREATE FUNCTION tawthiq_data_change_moves() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NOT (
		OLD.status = 'pending' AND NEW.status IN ('revoked', 'closed')
		AND NEW.id IS NOT DISTINCT FROM OLD.id AND NEW.serial IS NOT DISTINCT FROM OLD.serial
		AND NEW.holder_id IS NOT DISTINCT FROM OLD.holder_id AND NEW.field IS NOT DISTINCT FROM OLD.field
		AND NEW.new_value IS NOT DISTINCT FROM OLD.new_value
		AND NEW.evidence_sha256 IS NOT DISTINCT FROM OLD.evidence_sha256
		AND NEW.created_ms IS NOT DISTINCT FROM OLD.created_ms)
	THEN
		RAISE EXCEPTION 'L-25: a data change report is decided once and never altered';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER data_changes_moves BEFORE UPDATE ON data_changes FOR EACH ROW EXECUTE FUNCTION tawthiq_data_change_moves();

-- L-24: what a notice says never changes; it only moves queued <-> sending -> sent.
CREATE FUNCTION tawthiq_duty_notice_moves() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NOT (
		OLD.state IN ('queued', 'sending') AND NEW.state IN ('queued', 'sending', 'sent')
		AND NEW.attempts >= OLD.attempts
		AND NEW.id IS NOT DISTINCT FROM OLD.id AND NEW.dedup_key IS NOT DISTINCT FROM OLD.dedup_key
		AND NEW.ref IS NOT DISTINCT FROM OLD.ref AND NEW.kind IS NOT DISTINCT FROM OLD.kind
		AND NEW.channel IS NOT DISTINCT FROM OLD.channel AND NEW.recipient IS NOT DISTINCT FROM OLD.recipient
		AND NEW.language IS NOT DISTINCT FROM OLD.language AND NEW.subject IS NOT DISTINCT FROM OLD.subject
		AND NEW.body IS NOT DISTINCT FROM OLD.body AND NEW.message_id IS NOT DISTINCT FROM OLD.message_id
		AND NEW.created_ms IS NOT DISTINCT FROM OLD.created_ms)
	THEN
		RAISE EXCEPTION 'L-24: a notice is never changed, and a sent notice stays sent';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER duty_notices_moves BEFORE UPDATE ON duty_notices FOR EACH ROW EXECUTE FUNCTION tawthiq_duty_notice_moves();
