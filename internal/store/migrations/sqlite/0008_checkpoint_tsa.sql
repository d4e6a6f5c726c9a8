-- The RFC 3161 time-stamp token of each audit checkpoint (DESIGN: signed, time-stamped
-- checkpoints; L-21-2): a TimeStampToken over SHA-256 of the signed note, from the
-- CSP's TSA. NULL when there is no TSA or it refused (its clock unsynchronised).
-- Written in the checkpoint's own INSERT: checkpoints are never updated.
ALTER TABLE checkpoints ADD COLUMN timestamp_token BLOB;
