-- tally schema, version 6: several keys per sensor, each with its times.
--
-- `sensor_keys` already holds one row per key hash (unique across tenants, with row-level
-- security, the index by sensor and the cascade from `sensors`); a sensor may now have several
-- rows. Existing keys keep working: they get no creation time and no expiry.

ALTER TABLE {schema}.sensor_keys
    ADD COLUMN created_at bigint,
    ADD COLUMN expires_at bigint;

-- The lookup now also answers the key's expiry, which the caller compares with its clock.
DROP FUNCTION {schema}.sensor_by_key_hash(bytea);
CREATE FUNCTION {schema}.sensor_by_key_hash(hash bytea)
RETURNS TABLE (tenant_id text, sensor_id text, expires_at bigint)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT k.tenant_id, k.sensor_id, k.expires_at FROM {schema}.sensor_keys k
    WHERE k.key_hash = hash
      AND NOT EXISTS (SELECT 1 FROM {schema}.erasures e WHERE e.tenant_id = k.tenant_id)
$$;
REVOKE ALL ON FUNCTION {schema}.sensor_by_key_hash(bytea) FROM PUBLIC;
