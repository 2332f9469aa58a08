-- tally schema, version 5: rollups keep their full bucket statistics (how long each count was
-- held, the bucket's end and span), from which every analytics figure follows (mean, median,
-- peak, minimum, occupied time, time above a target, coverage). `stats` is the MessagePack of
-- `tally_protocol::analytics::BucketStats`; the summary columns stay, derived from it, for
-- reading with SQL. Rows written before this version have no `stats`; no answer uses them.
--
-- Runs as the owner role, like the versions before it, with `{schema}` replaced by the quoted
-- schema name. The table keeps its row-level security.

ALTER TABLE {schema}.rollups ADD COLUMN stats bytea;
