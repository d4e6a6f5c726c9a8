-- Judicial orders (L-21-3-7 b) and disclosures on the King's prosecutor's order (L-24).
-- Both are written once, kept at least the retention period, and never changed.

CREATE TABLE judicial_orders (
	ref           TEXT PRIMARY KEY CHECK (ref <> ''),
	court         TEXT NOT NULL CHECK (court <> ''),
	order_date_ms INTEGER NOT NULL,
	kind          TEXT NOT NULL CHECK (kind IN ('revoke', 'notify-only')),
	note          TEXT NOT NULL,
	recorded_by   TEXT NOT NULL,
	created_ms    INTEGER NOT NULL
);

-- What an order names: holders (user IDs) and certificates (serials).
CREATE TABLE judicial_order_scope (
	ref        TEXT NOT NULL REFERENCES judicial_orders (ref),
	item_kind  TEXT NOT NULL CHECK (item_kind IN ('holder', 'certificate')),
	item       TEXT NOT NULL CHECK (item <> ''),
	created_ms INTEGER NOT NULL,
	PRIMARY KEY (ref, item_kind, item)
);

-- The end of an order's execution, recorded once.
CREATE TABLE judicial_order_completions (
	ref          TEXT PRIMARY KEY REFERENCES judicial_orders (ref),
	certificates INTEGER NOT NULL,
	revoked      INTEGER NOT NULL,
	holders      INTEGER NOT NULL,
	created_ms   INTEGER NOT NULL
);
CREATE INDEX revocations_order_ref ON revocations (order_ref);

CREATE TABLE disclosures (
	ref           TEXT PRIMARY KEY CHECK (ref <> ''),
	office        TEXT NOT NULL CHECK (office <> ''),
	order_date_ms INTEGER NOT NULL,
	recorded_by   TEXT NOT NULL,
	export        BLOB NOT NULL,   -- the signed, time-stamped CMS handed over
	export_sha256 BLOB NOT NULL CHECK (length(export_sha256) = 32),
	created_ms    INTEGER NOT NULL
);

CREATE TABLE disclosure_holders (
	ref        TEXT NOT NULL REFERENCES disclosures (ref),
	holder_id  TEXT NOT NULL CHECK (holder_id <> ''),
	created_ms INTEGER NOT NULL,
	PRIMARY KEY (ref, holder_id)
);

-- L-21-2: kept at least the retention period, never changed.
CREATE TRIGGER judicial_orders_retained BEFORE DELETE ON judicial_orders
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: judicial_orders records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER judicial_orders_immutable BEFORE UPDATE ON judicial_orders
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: judicial_orders records are never changed');
END;
CREATE TRIGGER judicial_order_scope_retained BEFORE DELETE ON judicial_order_scope
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: judicial_order_scope records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER judicial_order_scope_immutable BEFORE UPDATE ON judicial_order_scope
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: judicial_order_scope records are never changed');
END;
CREATE TRIGGER judicial_order_completions_retained BEFORE DELETE ON judicial_order_completions
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: judicial_order_completions records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER judicial_order_completions_immutable BEFORE UPDATE ON judicial_order_completions
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: judicial_order_completions records are never changed');
END;
CREATE TRIGGER disclosures_retained BEFORE DELETE ON disclosures
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: disclosures records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER disclosures_immutable BEFORE UPDATE ON disclosures
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: disclosures records are never changed');
END;
CREATE TRIGGER disclosure_holders_retained BEFORE DELETE ON disclosure_holders
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: disclosure_holders records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER disclosure_holders_immutable BEFORE UPDATE ON disclosure_holders
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: disclosure_holders records are never changed');
END;

-- Holder notices of a judicial order (L-21-3-7 b) and of a disclosure (L-24): the
-- kind's CHECK grows, which SQLite does only by rebuilding the table.
DROP TRIGGER notices_retained;
DROP TRIGGER notices_moves;
CREATE TABLE notices_new (
	id              TEXT PRIMARY KEY CHECK (id <> ''),
	dedup_key       TEXT NOT NULL UNIQUE CHECK (dedup_key <> ''),
	application_id  TEXT NOT NULL REFERENCES applications (id),
	serial          TEXT NOT NULL REFERENCES certificates (serial),
	kind            TEXT NOT NULL CHECK (kind IN ('expiry', 'revocation', 'judicial-order', 'disclosure')),
	channel         TEXT NOT NULL CHECK (channel IN ('email', 'account')),
	recipient       TEXT NOT NULL,
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
	CHECK ((state = 'sending') = (lease_until_ms IS NOT NULL)),
	CHECK (recipient <> '')
);
INSERT INTO notices_new SELECT id, dedup_key, application_id, serial, kind, channel, recipient, language, subject, body,
	state, attempts, next_attempt_ms, lease_until_ms, lease_holder, message_id, last_error, created_ms, sent_ms FROM notices;
DROP TABLE notices;
ALTER TABLE notices_new RENAME TO notices;
CREATE INDEX notices_due ON notices (state, next_attempt_ms);
CREATE INDEX notices_application ON notices (application_id);

CREATE TRIGGER notices_retained BEFORE DELETE ON notices
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: notices records are kept at least {{.RetentionYears}} years');
END;
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
