-- The archive (L-417-1): each document or message once, under its SHA-256, with the
-- audit entry that put its hash in the Merkle log. Never changed, not deleted inside
-- the retention period. audit_seq is unique: one entry records one item.

CREATE TABLE archive_items (
	sha256     TEXT PRIMARY KEY CHECK (length(sha256) = 64),
	kind       TEXT NOT NULL,
	name       TEXT NOT NULL,
	media_type TEXT NOT NULL,
	size       BIGINT NOT NULL CHECK (size > 0),
	content    BYTEA NOT NULL,
	token      BYTEA,
	audit_seq  BIGINT NOT NULL UNIQUE CHECK (audit_seq >= 0),
	created_ms BIGINT NOT NULL
);

CREATE TRIGGER archive_items_retained BEFORE DELETE ON archive_items FOR EACH ROW EXECUTE FUNCTION tawthiq_retained();
CREATE TRIGGER archive_items_no_truncate BEFORE TRUNCATE ON archive_items FOR EACH STATEMENT EXECUTE FUNCTION tawthiq_refused();
CREATE TRIGGER archive_items_immutable BEFORE UPDATE ON archive_items FOR EACH ROW EXECUTE FUNCTION tawthiq_refused();
