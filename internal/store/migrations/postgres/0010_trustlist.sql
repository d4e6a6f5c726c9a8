-- The national trusted lists as published (L-15): every signed list is kept, never
-- changed, not deleted inside the retention period. seq is the TSLSequenceNumber:
-- the primary key, so a number is never used twice; a concurrent publisher that
-- takes a number already taken gets a conflict and publishes under the next one.

CREATE TABLE trustlists (
	seq            BIGINT PRIMARY KEY CHECK (seq >= 1),
	issued_ms      BIGINT NOT NULL,
	next_update_ms BIGINT NOT NULL CHECK (next_update_ms > issued_ms),
	sha256         TEXT NOT NULL CHECK (length(sha256) = 64),
	source_sha256  TEXT NOT NULL CHECK (length(source_sha256) = 64),
	xml            BYTEA NOT NULL CHECK (length(xml) > 0),
	created_ms     BIGINT NOT NULL
);

-- L-15: the numbers follow each other without a gap, and a list is issued no earlier
-- than the one before. A number already taken is left to the primary key (a conflict).
CREATE FUNCTION tawthiq_trustlists_follow() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	p trustlists%ROWTYPE;
BEGIN
	SELECT * INTO p FROM trustlists ORDER BY seq DESC LIMIT 1;
	IF (NOT FOUND AND NEW.seq <> 1)
		OR (FOUND AND (NEW.seq > p.seq + 1 OR (NEW.seq = p.seq + 1 AND NEW.issued_ms < p.issued_ms)))
	THEN
		RAISE EXCEPTION 'L-15: a trusted list follows the one before: the next number, issued no earlier';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER trustlists_follow BEFORE INSERT ON trustlists
	FOR EACH ROW EXECUTE FUNCTION tawthiq_trustlists_follow();

-- L-21-2: published lists are never changed, nor deleted inside the retention period.
CREATE TRIGGER trustlists_retained BEFORE DELETE ON trustlists FOR EACH ROW EXECUTE FUNCTION tawthiq_retained();
CREATE TRIGGER trustlists_no_truncate BEFORE TRUNCATE ON trustlists FOR EACH STATEMENT EXECUTE FUNCTION tawthiq_refused();
CREATE TRIGGER trustlists_immutable BEFORE UPDATE ON trustlists FOR EACH ROW EXECUTE FUNCTION tawthiq_refused();
