-- Pre-signed OCSP responses (RFC 6960/5019). These are regenerated, not records: a row
-- is replaced at each re-signing and may be deleted. der carries a SHA-1 CertID (what
-- RFC 5019 clients send), der_sha256 a SHA-256 one. this_update_ms is also the change
-- cursor every serving node polls.

CREATE TABLE ocsp_responses (
	serial         TEXT PRIMARY KEY REFERENCES certificates (serial),
	ca             TEXT NOT NULL,
	status         TEXT NOT NULL CHECK (status IN ('good', 'revoked')),
	der            BYTEA NOT NULL,
	der_sha256     BYTEA NOT NULL,
	this_update_ms BIGINT NOT NULL,
	next_update_ms BIGINT NOT NULL CHECK (next_update_ms > this_update_ms)
);
CREATE INDEX ocsp_responses_this_update ON ocsp_responses (this_update_ms);

-- L-21-rev: once revoked, a certificate is never again said to be good.
CREATE FUNCTION tawthiq_ocsp_revoked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.status <> 'revoked' AND EXISTS (SELECT 1 FROM revocations r WHERE r.serial = NEW.serial) THEN
		RAISE EXCEPTION 'L-21-rev: a revoked certificate is never answered good';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER ocsp_responses_revoked BEFORE INSERT OR UPDATE ON ocsp_responses FOR EACH ROW EXECUTE FUNCTION tawthiq_ocsp_revoked();

-- The signer looks for newly issued certificates and for revocations no OCSP response shows yet.
CREATE INDEX certificates_issued ON certificates (issued_ms);
CREATE INDEX revocations_ocsp_unpublished ON revocations (serial) WHERE ocsp_published_ms IS NULL;
