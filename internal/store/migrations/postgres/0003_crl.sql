-- CRLs as published (L-21-rev): every CRL is kept, never changed, not deleted inside
-- the retention period. number is the cRLNumber, strictly increasing per CA across its
-- full CRL and its shards; name is what /crl/{name}.crl serves ("signature", "signature-3").

CREATE TABLE crls (
	ca             TEXT NOT NULL,
	number         BIGINT NOT NULL CHECK (number >= 0),
	name           TEXT NOT NULL,
	der            BYTEA NOT NULL,
	entries        BIGINT NOT NULL,
	this_update_ms BIGINT NOT NULL,
	next_update_ms BIGINT NOT NULL CHECK (next_update_ms > this_update_ms),
	created_ms     BIGINT NOT NULL,
	PRIMARY KEY (ca, number)
);
CREATE INDEX crls_name ON crls (name, number);

CREATE TRIGGER crls_retained BEFORE DELETE ON crls FOR EACH ROW EXECUTE FUNCTION tawthiq_retained();
CREATE TRIGGER crls_no_truncate BEFORE TRUNCATE ON crls FOR EACH STATEMENT EXECUTE FUNCTION tawthiq_refused();
CREATE TRIGGER crls_immutable BEFORE UPDATE ON crls FOR EACH ROW EXECUTE FUNCTION tawthiq_refused();

CREATE INDEX revocations_unpublished ON revocations (ca) WHERE crl_published_ms IS NULL;
