-- Electronic contracts (DOC 65-3 to 65-7, 443): offers in immutable versions (L-65-4),
-- orders as a chain of write-once facts: each version the customer entered, each
-- review the server showed him, the one confirmation with the offeror's sealed
-- acknowledgement (L-65-5), the parties' signatures and the conclusion (L-443), and
-- when each message became accessible to its addressee. Nothing is updated, and
-- nothing is deleted inside the retention period (L-21-2, L-417-1).

CREATE TABLE contract_offers (
	id             TEXT NOT NULL CHECK (id <> ''),
	version        INTEGER NOT NULL CHECK (version >= 1),
	offeror_id     TEXT NOT NULL CHECK (offeror_id <> ''),
	seal           TEXT NOT NULL,
	category       TEXT NOT NULL CHECK (category IN ('sale', 'service', 'business-transfer', 'personal-security', 'real-security')),
	binding        BOOLEAN NOT NULL,
	missing        TEXT NOT NULL, -- the L-65-4 items left out, comma-separated
	valid_until_ms BIGINT,
	document       BYTEA NOT NULL CHECK (length(document) > 0), -- the canonical JSON, as published
	sha256         BYTEA NOT NULL CHECK (length(sha256) = 32),
	created_ms     BIGINT NOT NULL,
	PRIMARY KEY (id, version)
);

CREATE TABLE contract_orders (
	id            TEXT PRIMARY KEY CHECK (id <> ''),
	offer_id      TEXT NOT NULL,
	offer_version INTEGER NOT NULL,
	customer_id   TEXT NOT NULL CHECK (customer_id <> ''),
	offeror_id    TEXT NOT NULL CHECK (offeror_id <> ''),
	email         TEXT NOT NULL,
	consent_email BOOLEAN NOT NULL, -- L-65-3: express acceptance of e-mail
	language      TEXT NOT NULL,
	created_ms    BIGINT NOT NULL,
	CHECK (customer_id <> offeror_id),
	FOREIGN KEY (offer_id, offer_version) REFERENCES contract_offers (id, version)
);
CREATE INDEX contract_orders_customer ON contract_orders (customer_id);
CREATE INDEX contract_orders_offeror ON contract_orders (offeror_id);

-- Each version of the order the customer entered: the draft, then each correction.
CREATE TABLE contract_order_revisions (
	order_id   TEXT NOT NULL REFERENCES contract_orders (id),
	revision   INTEGER NOT NULL CHECK (revision >= 1),
	lines      TEXT NOT NULL,
	form       TEXT NOT NULL,
	created_ms BIGINT NOT NULL,
	PRIMARY KEY (order_id, revision)
);

-- What the server showed the customer: details and total computed from the offer.
CREATE TABLE contract_order_reviews (
	order_id      TEXT NOT NULL,
	revision      INTEGER NOT NULL,
	document      BYTEA NOT NULL CHECK (length(document) > 0),
	sha256        BYTEA NOT NULL CHECK (length(sha256) = 32),
	total_centimes BIGINT NOT NULL CHECK (total_centimes > 0),
	created_ms    BIGINT NOT NULL,
	PRIMARY KEY (order_id, revision),
	FOREIGN KEY (order_id, revision) REFERENCES contract_order_revisions (order_id, revision)
);

-- The one confirmation, of a reviewed version, with the acknowledgement of receipt.
CREATE TABLE contract_confirmations (
	order_id         TEXT PRIMARY KEY,
	revision         INTEGER NOT NULL,
	document         BYTEA NOT NULL CHECK (length(document) > 0),
	sha256           BYTEA NOT NULL CHECK (length(sha256) = 32),
	ack              BYTEA NOT NULL CHECK (length(ack) > 0),
	ack_sha256       BYTEA NOT NULL CHECK (length(ack_sha256) = 32),
	deed_required    BOOLEAN NOT NULL, -- L-443
	deed_requirement TEXT NOT NULL,
	created_ms       BIGINT NOT NULL,
	FOREIGN KEY (order_id, revision) REFERENCES contract_order_reviews (order_id, revision)
);

CREATE TABLE contract_signatures (
	order_id   TEXT NOT NULL REFERENCES contract_confirmations (order_id),
	party      TEXT NOT NULL CHECK (party IN ('customer', 'offeror')),
	signer_id  TEXT NOT NULL CHECK (signer_id <> ''),
	cms        BYTEA NOT NULL CHECK (length(cms) > 0),
	sha256     BYTEA NOT NULL CHECK (length(sha256) = 32),
	qualified  BOOLEAN NOT NULL,
	indication TEXT NOT NULL,
	report     TEXT NOT NULL,
	created_ms BIGINT NOT NULL,
	PRIMARY KEY (order_id, party)
);

CREATE TABLE contract_conclusions (
	order_id   TEXT PRIMARY KEY REFERENCES contract_confirmations (order_id),
	created_ms BIGINT NOT NULL
);

-- When each message became accessible to its addressee (L-65-5), and by which channel (L-65-3).
CREATE TABLE contract_messages (
	order_id   TEXT NOT NULL REFERENCES contract_orders (id),
	kind       TEXT NOT NULL CHECK (kind IN ('confirmation', 'acknowledgement', 'conclusion')),
	addressee  TEXT NOT NULL CHECK (addressee <> ''),
	channel    TEXT NOT NULL CHECK (channel IN ('account', 'email')),
	recipient  TEXT NOT NULL CHECK (recipient <> ''),
	created_ms BIGINT NOT NULL, -- accessible from
	PRIMARY KEY (order_id, kind, addressee)
);

CREATE FUNCTION tawthiq_contract_offer_follows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.version <> 1 + COALESCE((SELECT MAX(version) FROM contract_offers WHERE id = NEW.id), 0) THEN
		RAISE EXCEPTION 'L-65-4: the versions of an offer follow one another from 1';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER contract_offers_follow BEFORE INSERT ON contract_offers
	FOR EACH ROW EXECUTE FUNCTION tawthiq_contract_offer_follows();

CREATE FUNCTION tawthiq_contract_revision_follows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM contract_confirmations WHERE order_id = NEW.order_id)
		OR NEW.revision <> 1 + COALESCE((SELECT MAX(revision) FROM contract_order_revisions WHERE order_id = NEW.order_id), 0) THEN
		RAISE EXCEPTION 'L-65-5: a confirmed order is not changed, and its versions follow one another';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER contract_revisions_follow BEFORE INSERT ON contract_order_revisions
	FOR EACH ROW EXECUTE FUNCTION tawthiq_contract_revision_follows();

CREATE FUNCTION tawthiq_contract_review_latest() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM contract_confirmations WHERE order_id = NEW.order_id)
		OR NEW.revision IS DISTINCT FROM (SELECT MAX(revision) FROM contract_order_revisions WHERE order_id = NEW.order_id) THEN
		RAISE EXCEPTION 'L-65-5: only the latest version of an unconfirmed order is reviewed';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER contract_reviews_latest BEFORE INSERT ON contract_order_reviews
	FOR EACH ROW EXECUTE FUNCTION tawthiq_contract_review_latest();

CREATE FUNCTION tawthiq_contract_confirmation_latest() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.revision IS DISTINCT FROM (SELECT MAX(revision) FROM contract_order_revisions WHERE order_id = NEW.order_id) THEN
		RAISE EXCEPTION 'L-65-5: only the latest version of the order, reviewed, is confirmed';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER contract_confirmations_latest BEFORE INSERT ON contract_confirmations
	FOR EACH ROW EXECUTE FUNCTION tawthiq_contract_confirmation_latest();

CREATE FUNCTION tawthiq_contract_conclusion_deed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF (SELECT deed_required FROM contract_confirmations WHERE order_id = NEW.order_id)
		AND (SELECT COUNT(*) FROM contract_signatures WHERE order_id = NEW.order_id AND qualified) < 2 THEN
		RAISE EXCEPTION 'L-443: a contract that needs a written deed is concluded only with the qualified signatures of both parties';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER contract_conclusions_deed BEFORE INSERT ON contract_conclusions
	FOR EACH ROW EXECUTE FUNCTION tawthiq_contract_conclusion_deed();

-- L-21-2: contract records are never changed, nor deleted inside the retention
-- period; TRUNCATE skips row triggers, so it is refused on its own.
DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY[
		'contract_offers', 'contract_orders', 'contract_order_revisions', 'contract_order_reviews', 'contract_confirmations', 'contract_signatures', 'contract_conclusions', 'contract_messages'
	] LOOP
		EXECUTE format('CREATE TRIGGER %I BEFORE DELETE ON %I FOR EACH ROW EXECUTE FUNCTION tawthiq_retained()', t || '_retained', t);
		EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION tawthiq_refused()', t || '_no_truncate', t);
		EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE ON %I FOR EACH ROW EXECUTE FUNCTION tawthiq_refused()', t || '_immutable', t);
	END LOOP;
END $$;
