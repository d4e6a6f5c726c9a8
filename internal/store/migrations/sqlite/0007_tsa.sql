-- Time-stamp tokens as issued (RFC 3161; L-21-2, L-425): one row per token, written
-- before the reply leaves, never changed, not deleted inside the retention period.
-- serial is the hex of the token's serialNumber; the primary key refuses a repeat.

CREATE TABLE tsa_tokens (
	serial          TEXT PRIMARY KEY,
	gen_time_ms     INTEGER NOT NULL,
	hash_alg        TEXT NOT NULL CHECK (hash_alg IN ('sha256', 'sha384', 'sha512')),
	message_imprint BLOB NOT NULL,
	policy          TEXT NOT NULL,
	created_ms      INTEGER NOT NULL
);
CREATE INDEX tsa_tokens_gen_time ON tsa_tokens (gen_time_ms);

CREATE TRIGGER tsa_tokens_retained BEFORE DELETE ON tsa_tokens
WHEN OLD.created_ms > (CAST(strftime('%s', 'now', '-{{.RetentionYears}} years') AS INTEGER) * 1000)
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: tsa_tokens records are kept at least {{.RetentionYears}} years');
END;
CREATE TRIGGER tsa_tokens_immutable BEFORE UPDATE ON tsa_tokens
BEGIN
	SELECT RAISE(ABORT, 'L-21-2: tsa_tokens records are never changed');
END;
