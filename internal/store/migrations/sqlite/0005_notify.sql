-- Holder notices (L-21-3-5, L-21-3-7, L-65-3) and the directory's indexes (L-21-2).
-- A notice is a durable outbox row: queued once per dedup key, claimed with a lease
-- for delivery, recorded as sent; its content never changes once written.

CREATE TABLE notices (
	id              TEXT PRIMARY KEY CHECK (id <> ''),
	dedup_key       TEXT NOT NULL UNIQUE CHECK (dedup_key <> ''), -- "expiry:<serial>", "revocation:<serial>"
	application_id  TEXT NOT NULL REFERENCES applications (id),
	serial          TEXT NOT NULL REFERENCES certificates (serial),
	kind            TEXT NOT NULL CHECK (kind IN ('expiry', 'revocation')),
	channel         TEXT NOT NULL CHECK (channel IN ('email', 'account')),
	recipient       TEXT NOT NULL,     -- e-mail address, or the holder's user ID for 'account'
	language        TEXT NOT NULL CHECK (language IN ('ar', 'fr', 'en')),
	subject         TEXT NOT NULL,
	body            TEXT NOT NULL,
	state           TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'held')),
	attempts        INTEGER NOT NULL CHECK (attempts >= 0),
	next_attempt_ms INTEGER NOT NULL,  -- due time; while sending, the end of the claim's lease
	lease_until_ms  INTEGER,
	lease_holder    TEXT NOT NULL,     -- the claim that is sending it
	message_id      TEXT NOT NULL UNIQUE,
	last_error      TEXT NOT NULL,
	created_ms      INTEGER NOT NULL,
	sent_ms         INTEGER,
	CHECK ((channel = 'account') = (state = 'held')),
	CHECK ((state = 'sent') = (sent_ms IS NOT NULL)),
	CHECK ((state = 'sending') = (lease_until_ms IS NOT NULL)),
	CHECK (recipient <> '')
);
CREATE INDEX notices_due ON notices (state, next_attempt_ms);
CREATE INDEX notices_application ON notices (application_id);

-- The scanners, the holder's account and the directory search by these.
CREATE INDEX notify_certificates_not_after ON certificates (status, not_after_ms);
CREATE INDEX notify_applications_holder ON applications (submitted_by);
CREATE INDEX directory_applications_email ON applications (lower(contact_email));

-- L-21-2: no notice is deleted inside the retention period.
CREATE TRIGGER notices_retained BEFORE DELETE ON notices
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: notices records are kept at least {{.RetentionYears}} years');
END;

-- L-21-3-5: what a notice says never changes; it only moves queued <-> sending -> sent, and a sent one stays sent.
CREATE TRIGGER notices_moves BEFORE UPDATE ON notices
WHEN NOT (
	OLD.state IN ('queued', 'sending') AND NEW.state IN ('queued', 'sending', 'sent')
	AND NEW.attempts >= OLD.attempts
	AND NEW.id IS OLD.id AND NEW.dedup_key IS OLD.dedup_key AND NEW.application_id IS OLD.application_id
	AND NEW.serial IS OLD.serial AND NEW.kind IS OLD.kind AND NEW.channel IS OLD.channel
	AND NEW.recipient IS OLD.recipient AND NEW.language IS OLD.language AND NEW.subject IS OLD.subject
	AND NEW.body IS OLD.body AND NEW.message_id IS OLD.message_id AND NEW.created_ms IS OLD.created_ms)
BEGIN
	SELECT RAISE(ABORT, 'L-21-3-5: a notice is never changed, and a sent notice stays sent');
END;
