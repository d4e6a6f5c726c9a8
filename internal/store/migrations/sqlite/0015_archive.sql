-- The archive (L-417-1): each document or message once, under its SHA-256, with the
-- audit entry that put its hash in the Merkle log. Never changed, not deleted inside
-- the retention period. audit_seq is unique: one entry records one item.

CREATE TABLE archive_items (
	sha256     TEXT PRIMARY KEY CHECK (length(sha256) = 64),
	kind       TEXT NOT NULL,
	name       TEXT NOT NULL,
	media_type TEXT NOT NULL,
	size       INTEGER NOT NULL CHECK (size > 0),
	content    BLOB NOT NULL,
	token      BLOB,
	audit_seq  INTEGER NOT NULL UNIQUE CHECK (audit_seq >= 0),
	created_ms INTEGER NOT NULL
);

CREATE TRIGGER archive_items_retained BEFORE DELETE ON archive_items
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: archive_items records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER archive_items_immutable BEFORE UPDATE ON archive_items
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: archive_items records are never changed');
END;
