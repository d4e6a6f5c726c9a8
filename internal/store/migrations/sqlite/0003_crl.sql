-- CRLs as published (L-21-rev): every CRL is kept, never changed, not deleted inside
-- the retention period. number is the cRLNumber, strictly increasing per CA across its
-- full CRL and its shards; name is what /crl/{name}.crl serves ("signature", "signature-3").

CREATE TABLE crls (
	ca             TEXT NOT NULL,
	number         INTEGER NOT NULL CHECK (number >= 0),
	name           TEXT NOT NULL,
	der            BLOB NOT NULL,
	entries        INTEGER NOT NULL,
	this_update_ms INTEGER NOT NULL,
	next_update_ms INTEGER NOT NULL CHECK (next_update_ms > this_update_ms),
	created_ms     INTEGER NOT NULL,
	PRIMARY KEY (ca, number)
);
CREATE INDEX crls_name ON crls (name, number);

CREATE TRIGGER crls_retained BEFORE DELETE ON crls
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: crls records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER crls_immutable BEFORE UPDATE ON crls
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: crls records are never changed');
END;

-- The publisher looks for revocations no CRL lists yet.
CREATE INDEX revocations_unpublished ON revocations (ca) WHERE crl_published_ms IS NULL;
