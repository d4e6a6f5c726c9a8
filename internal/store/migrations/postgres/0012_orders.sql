-- Judicial orders (L-21-3-7 b) and disclosures on the King's prosecutor's order (L-24).
-- Both are written once, kept at least the retention period, and never changed.

CREATE TABLE judicial_orders (
	ref           TEXT PRIMARY KEY CHECK (ref <> ''),
	court         TEXT NOT NULL CHECK (court <> ''),
	order_date_ms BIGINT NOT NULL,
	kind          TEXT NOT NULL CHECK (kind IN ('revoke', 'notify-only')),
	note          TEXT NOT NULL,
	recorded_by   TEXT NOT NULL,
	created_ms    BIGINT NOT NULL
);

-- What an order names: holders (user IDs) and certificates (serials).
CREATE TABLE judicial_order_scope (
	ref        TEXT NOT NULL REFERENCES judicial_orders (ref),
	item_kind  TEXT NOT NULL CHECK (item_kind IN ('holder', 'certificate')),
	item       TEXT NOT NULL CHECK (item <> ''),
	created_ms BIGINT NOT NULL,
	PRIMARY KEY (ref, item_kind, item)
);

-- The end of an order's execution, recorded once.
CREATE TABLE judicial_order_completions (
	ref          TEXT PRIMARY KEY REFERENCES judicial_orders (ref),
	certificates BIGINT NOT NULL,
	revoked      BIGINT NOT NULL,
	holders      BIGINT NOT NULL,
	created_ms   BIGINT NOT NULL
);
CREATE INDEX revocations_order_ref ON revocations (order_ref);

CREATE TABLE disclosures (
	ref           TEXT PRIMARY KEY CHECK (ref <> ''),
	office        TEXT NOT NULL CHECK (office <> ''),
	order_date_ms BIGINT NOT NULL,
	recorded_by   TEXT NOT NULL,
	export        BYTEA NOT NULL,   -- the signed, time-stamped CMS handed over
	export_sha256 BYTEA NOT NULL CHECK (length(export_sha256) = 32),
	created_ms    BIGINT NOT NULL
);

CREATE TABLE disclosure_holders (
	ref        TEXT NOT NULL REFERENCES disclosures (ref),
	holder_id  TEXT NOT NULL CHECK (holder_id <> ''),
	created_ms BIGINT NOT NULL,
	PRIMARY KEY (ref, holder_id)
);

-- L-21-2: kept at least the retention period, never changed.
CREATE TRIGGER judicial_orders_retained BEFORE DELETE ON judicial_orders FOR EACH ROW EXECUTE FUNCTION tawthiq_retained();
CREATE TRIGGER judicial_orders_no_truncate BEFORE TRUNCATE ON judicial_orders FOR EACH STATEMENT EXECUTE FUNCTION tawthiq_refused();
CREATE TRIGGER judicial_orders_immutable BEFORE UPDATE ON judicial_orders FOR EACH ROW EXECUTE FUNCTION tawthiq_refused();
CREATE TRIGGER judicial_order_scope_retained BEFORE DELETE ON judicial_order_scope FOR EACH ROW EXECUTE FUNCTION tawthiq_retained();
CREATE TRIGGER judicial_order_scope_no_truncate BEFORE TRUNCATE ON judicial_order_scope FOR EACH STATEMENT EXECUTE FUNCTION tawthiq_refused();
CREATE TRIGGER judicial_order_scope_immutable BEFORE UPDATE ON judicial_order_scope FOR EACH ROW EXECUTE FUNCTION tawthiq_refused();
CREATE TRIGGER judicial_order_completions_retained BEFORE DELETE ON judicial_order_completions FOR EACH ROW EXECUTE FUNCTION tawthiq_retained();
CREATE TRIGGER judicial_order_completions_no_truncate BEFORE TRUNCATE ON judicial_order_completions FOR EACH STATEMENT EXECUTE FUNCTION tawthiq_refused();
CREATE TRIGGER judicial_order_completions_immutable BEFORE UPDATE ON judicial_order_completions FOR EACH ROW EXECUTE FUNCTION tawthiq_refused();
CREATE TRIGGER disclosures_retained BEFORE DELETE ON disclosures FOR EACH ROW EXECUTE FUNCTION tawthiq_retained();
CREATE TRIGGER disclosures_no_truncate BEFORE TRUNCATE ON disclosures FOR EACH STATEMENT EXECUTE FUNCTION tawthiq_refused();
CREATE TRIGGER disclosures_immutable BEFORE UPDATE ON disclosures FOR EACH ROW EXECUTE FUNCTION tawthiq_refused();
CREATE TRIGGER disclosure_holders_retained BEFORE DELETE ON disclosure_holders FOR EACH ROW EXECUTE FUNCTION tawthiq_retained();
CREATE TRIGGER disclosure_holders_no_truncate BEFORE TRUNCATE ON disclosure_holders FOR EACH STATEMENT EXECUTE FUNCTION tawthiq_refused();
CREATE TRIGGER disclosure_holders_immutable BEFORE UPDATE ON disclosure_holders FOR EACH ROW EXECUTE FUNCTION tawthiq_refused();

-- Holder notices of a judicial order (L-21-3-7 b) and of a disclosure (L-24).
ALTER TABLE notices DROP CONSTRAINT notices_kind_check;
ALTER TABLE notices ADD CONSTRAINT notices_kind_check CHECK (kind IN ('expiry', 'revocation', 'judicial-order', 'disclosure'));
