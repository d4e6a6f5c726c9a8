-- Token revocation: an admin withdraws every token of a user at once (a lost laptop,
-- a departure). A token row changes once, when it is revoked, and stays revoked.

ALTER TABLE tokens ADD COLUMN revoked_ms BIGINT;
CREATE INDEX tokens_user ON tokens (user_id);

CREATE FUNCTION tawthiq_token_revoked_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NOT (
		OLD.revoked_ms IS NULL AND NEW.revoked_ms IS NOT NULL
		AND NEW.sha256 IS NOT DISTINCT FROM OLD.sha256 AND NEW.user_id IS NOT DISTINCT FROM OLD.user_id
		AND NEW.created_ms IS NOT DISTINCT FROM OLD.created_ms AND NEW.expires_ms IS NOT DISTINCT FROM OLD.expires_ms)
	THEN
		RAISE EXCEPTION 'L-21-2: a token changes only once, when it is revoked';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER tokens_revoked_once BEFORE UPDATE ON tokens FOR EACH ROW EXECUTE FUNCTION tawthiq_token_revoked_once();
