-- Pre-signed OCSP responses (RFC 6960/5019). These are regenerated, not records: a row
-- is replaced at each re-signing and may be deleted. der carries a SHA-1 CertID (what
-- RFC 5019 clients send), der_sha256 a SHA-256 one. this_update_ms is also the change
-- cursor every serving node polls.

CREATE TABLE ocsp_responses (
	serial         TEXT PRIMARY KEY REFERENCES certificates (serial),
	ca             TEXT NOT NULL,
	status         TEXT NOT NULL CHECK (status IN ('good', 'revoked')),
	der            BLOB NOT NULL,
	der_sha256     BLOB NOT NULL,
	this_update_ms INTEGER NOT NULL,
	next_update_ms INTEGER NOT NULL CHECK (next_update_ms > this_update_ms)
);
CREATE INDEX ocsp_responses_this_update ON ocsp_responses (this_update_ms);

-- L-21-rev: once revoked, a certificate is never again said to be good.
CREATE TRIGGER ocsp_responses_revoked_insert BEFORE INSERT ON ocsp_responses
WHEN NEW.status <> 'revoked' AND EXISTS (SELECT 1 FROM revocations r WHERE r.serial = NEW.serial)
BEGIN
	SELECT RAISE(ABORT, 'L-21-rev: a revoked certificate is never answered good');
END;
CREATE TRIGGER ocsp_responses_revoked_update BEFORE UPDATE ON ocsp_responses
WHEN NEW.status <> 'revoked' AND EXISTS (SELECT 1 FROM revocations r WHERE r.serial = NEW.serial)
BEGIN
	SELECT RAISE(ABORT, 'L-21-rev: a revoked certificate is never answered good');
END;

-- The signer looks for newly issued certificates and for revocations no OCSP response shows yet.
CREATE INDEX certificates_issued ON certificates (issued_ms);
CREATE INDEX revocations_ocsp_unpublished ON revocations (serial) WHERE ocsp_published_ms IS NULL;
