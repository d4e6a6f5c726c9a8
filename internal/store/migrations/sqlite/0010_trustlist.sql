-- The national trusted lists as published (L-15): every signed list is kept, never
-- changed, not deleted inside the retention period. seq is the TSLSequenceNumber:
-- the primary key, so a number is never used twice; a concurrent publisher that
-- takes a number already taken gets a conflict and publishes under the next one.

CREATE TABLE trustlists (
	seq            INTEGER PRIMARY KEY CHECK (seq >= 1),
	issued_ms      INTEGER NOT NULL,
	next_update_ms INTEGER NOT NULL CHECK (next_update_ms > issued_ms),
	sha256         TEXT NOT NULL CHECK (length(sha256) = 64),
	source_sha256  TEXT NOT NULL CHECK (length(source_sha256) = 64),
	xml            BLOB NOT NULL CHECK (length(xml) > 0),
	created_ms     INTEGER NOT NULL
);

-- L-15: the numbers follow each other without a gap, and a list is issued no earlier than the one before.
CREATE TRIGGER trustlists_follow BEFORE INSERT ON trustlists
WHEN NEW.seq > 1 + COALESCE((SELECT MAX(seq) FROM trustlists), 0)
	OR EXISTS (SELECT 1 FROM trustlists p WHERE p.seq = NEW.seq - 1 AND NEW.issued_ms < p.issued_ms)
BEGIN
	SELECT RAISE(ABORT, 'L-15: a trusted list follows the one before: the next number, issued no earlier');
END;

-- L-21-2: published lists are never changed, nor deleted inside the retention period.
CREATE TRIGGER trustlists_retained BEFORE DELETE ON trustlists
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: trustlists records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER trustlists_immutable BEFORE UPDATE ON trustlists
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: trustlists records are never changed');
END;
