-- The serial of a time-stamp token begins with its genTime in milliseconds (48 bits,
-- then 78 random bits; internal/tsa newSerial), so the primary key already orders the
-- tokens by time: a range of genTime is a range of serials. The second index only
-- cost every token a b-tree insert (about a fifth of recording it).
DROP INDEX tsa_tokens_gen_time;
