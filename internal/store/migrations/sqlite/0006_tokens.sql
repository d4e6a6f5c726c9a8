-- Token revocation: an admin withdraws every token of a user at once (a lost laptop,
-- a departure). A token row changes once, when it is revoked, and stays revoked.

ALTER TABLE tokens ADD COLUMN revoked_ms INTEGER;
CREATE INDEX tokens_user ON tokens (user_id);

CREATE TRIGGER tokens_revoked_once BEFORE UPDATE ON tokens
WHEN NOT (
	OLD.revoked_ms IS NULL AND NEW.revoked_ms IS NOT NULL
	AND NEW.sha256 IS OLD.sha256 AND NEW.user_id IS OLD.user_id
	AND NEW.created_ms IS OLD.created_ms AND NEW.expires_ms IS OLD.expires_ms)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: a token changes only once, when it is revoked');
END;
