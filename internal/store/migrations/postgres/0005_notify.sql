-- Holder notices (L-21-3-5, L-21-3-7, L-65-3) and the directory's indexes (L-21-2).
-- A notice is a durable outbox row: queued once per dedup key, claimed with a lease
-- for delivery, recorded as sent; its content never changes once written.

CREATE TABLE notices (
	id              TEXT PRIMARY KEY CHECK (id <> ''),
	dedup_key       TEXT NOT NULL UNIQUE CHECK (dedup_key <> ''),
	application_id  TEXT NOT NULL REFERENCES applications (id),
	serial          TEXT NOT NULL REFERENCES certificates (serial),
	kind            TEXT NOT NULL CHECK (kind IN ('expiry', 'revocation')),
	channel         TEXT NOT NULL CHECK (channel IN ('email', 'account')),
	recipient       TEXT NOT NULL,
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
	CHECK ((state = 'sending') = (lease_until_ms IS NOT NULL)),
	CHECK (recipient <> '')
);
CREATE INDEX notices_due ON notices (state, next_attempt_ms);
CREATE INDEX notices_application ON notices (application_id);

CREATE INDEX notify_certificates_not_after ON certificates (status, not_after_ms);
CREATE INDEX notify_applications_holder ON applications (submitted_by);
CREATE INDEX directory_applications_email ON applications (lower(contact_email));

CREATE TRIGGER notices_retained BEFORE DELETE ON notices FOR EACH ROW EXECUTE FUNCTION tawthiq_retained();
CREATE TRIGGER notices_no_truncate BEFORE TRUNCATE ON notices FOR EACH STATEMENT EXECUTE FUNCTION tawthiq_refused();

-- L-21-3-5: what a notice says never changes; it only moves queued <-> sending -> sent, and a sent one stays sent.
CREATE FUNCTION tawthiq_notice_moves() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NOT (
		OLD.state IN ('queued', 'sending') AND NEW.state IN ('queued', 'sending', 'sent')
		AND NEW.attempts >= OLD.attempts
		AND NEW.id IS NOT DISTINCT FROM OLD.id AND NEW.dedup_key IS NOT DISTINCT FROM OLD.dedup_key
		AND NEW.application_id IS NOT DISTINCT FROM OLD.application_id AND NEW.serial IS NOT DISTINCT FROM OLD.serial
		AND NEW.kind IS NOT DISTINCT FROM OLD.kind AND NEW.channel IS NOT DISTINCT FROM OLD.channel
		AND NEW.recipient IS NOT DISTINCT FROM OLD.recipient AND NEW.language IS NOT DISTINCT FROM OLD.language
		AND NEW.subject IS NOT DISTINCT FROM OLD.subject AND NEW.body IS NOT DISTINCT FROM OLD.body
		AND NEW.message_id IS NOT DISTINCT FROM OLD.message_id AND NEW.created_ms IS NOT DISTINCT FROM OLD.created_ms)
	THEN
		RAISE EXCEPTION 'L-21-3-5: a notice is never changed, and a sent notice stays sent';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER notices_moves BEFORE UPDATE ON notices FOR EACH ROW EXECUTE FUNCTION tawthiq_notice_moves();
