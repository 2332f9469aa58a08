-- tally schema, version 2: owner tokens (fencing), retention overrides, erasure of tenants.
--
-- Runs as the owner role, like version 1, with `{schema}` replaced by the quoted schema name.

-- The owner token of each office: raised by one by every `acquire_office`, checked by every
-- batch write (which locks the rows it checks `FOR SHARE`, so an increment waits for writes in
-- flight and every write after it sees the new token).
CREATE TABLE {schema}.office_owners (
    tenant_id text COLLATE "C" NOT NULL,
    office_id text COLLATE "C" NOT NULL,
    token bigint NOT NULL CHECK (token >= 0),
    CONSTRAINT office_owners_pkey PRIMARY KEY (tenant_id, office_id)
);

-- A tenant's own retention policy, in milliseconds per kind of row.
CREATE TABLE {schema}.retention_overrides (
    tenant_id text COLLATE "C" PRIMARY KEY,
    readings_ms bigint NOT NULL CHECK (readings_ms >= 0),
    minute_ms bigint NOT NULL CHECK (minute_ms >= 0),
    fifteen_minutes_ms bigint NOT NULL CHECK (fifteen_minutes_ms >= 0),
    hour_ms bigint NOT NULL CHECK (hour_ms >= 0),
    day_ms bigint NOT NULL CHECK (day_ms >= 0),
    CONSTRAINT retention_overrides_tenant_fkey FOREIGN KEY (tenant_id)
        REFERENCES {schema}.tenants (tenant_id) ON DELETE CASCADE
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['office_owners', 'retention_overrides'] LOOP
        EXECUTE format('ALTER TABLE {schema}.%I ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON {schema}.%I '
                       'USING (tenant_id = current_setting(''app.tenant'', true)) '
                       'WITH CHECK (tenant_id = current_setting(''app.tenant'', true))', t);
        EXECUTE format('REVOKE ALL ON {schema}.%I FROM PUBLIC', t);
    END LOOP;
END
$$;

-- Audit records of erased tenants: platform data, not tenant data. It outlives the tenant's
-- rows, so it is not a tenant table: no `tenant_isolation`, no privilege for the runtime role,
-- only the owner role (through the SECURITY DEFINER functions below) reads and writes it.
CREATE TABLE {schema}.erasures (
    tenant_id text COLLATE "C" PRIMARY KEY,
    requested_by text NOT NULL,
    requested_at bigint NOT NULL,
    finished_at bigint,
    readings bigint NOT NULL DEFAULT 0,
    rollups bigint NOT NULL DEFAULT 0,
    room_states bigint NOT NULL DEFAULT 0,
    registry bigint NOT NULL DEFAULT 0
);
ALTER TABLE {schema}.erasures ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY platform_all ON {schema}.erasures TO CURRENT_USER USING (true) WITH CHECK (true);
REVOKE ALL ON {schema}.erasures FROM PUBLIC;

-- Whether a tenant is erased (or being erased).
CREATE FUNCTION {schema}.tenant_erased(p_tenant text)
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT 1 FROM {schema}.erasures e WHERE e.tenant_id = p_tenant)
$$;

-- Sets the transaction's tenant (`SET LOCAL app.tenant`) and answers whether it is erased. A
-- writer (`p_writing`) first takes the tenant's advisory lock in shared mode until the end of
-- the transaction; `begin_erasure` takes it exclusively, so marking a tenant waits for its
-- writes in flight and every later write sees the mark. Runs as the caller (row-level security
-- applies as usual) and has no SET clause, so the setting outlives the call.
CREATE FUNCTION {schema}.enter_tenant(p_tenant text, p_writing boolean)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    PERFORM pg_catalog.set_config('app.tenant', p_tenant, true);
    IF p_writing THEN
        PERFORM pg_catalog.pg_advisory_xact_lock_shared(1952541805, pg_catalog.hashtext(p_tenant));
    END IF;
    RETURN {schema}.tenant_erased(p_tenant);
END
$$;

-- Marks a tenant erased (once) and returns its audit record.
CREATE FUNCTION {schema}.begin_erasure(p_tenant text, p_requested_by text, p_requested_at bigint)
RETURNS SETOF {schema}.erasures
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(1952541805, hashtext(p_tenant));
    INSERT INTO {schema}.erasures (tenant_id, requested_by, requested_at)
        VALUES (p_tenant, p_requested_by, p_requested_at)
        ON CONFLICT (tenant_id) DO NOTHING;
    RETURN QUERY SELECT * FROM {schema}.erasures e WHERE e.tenant_id = p_tenant;
END
$$;

-- Adds deleted-row counts to a tenant's audit record and, with `p_finished_at`, finishes it
-- (the first finish time stays).
CREATE FUNCTION {schema}.record_erasure(p_tenant text, p_readings bigint, p_rollups bigint,
                                        p_room_states bigint, p_registry bigint,
                                        p_finished_at bigint)
RETURNS SETOF {schema}.erasures
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE {schema}.erasures e SET
        readings = e.readings + p_readings,
        rollups = e.rollups + p_rollups,
        room_states = e.room_states + p_room_states,
        registry = e.registry + p_registry,
        finished_at = coalesce(e.finished_at, p_finished_at)
    WHERE e.tenant_id = p_tenant
    RETURNING e.*
$$;

-- The audit record of a tenant's erasure (platform read).
CREATE FUNCTION {schema}.erasure(p_tenant text)
RETURNS SETOF {schema}.erasures
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT * FROM {schema}.erasures e WHERE e.tenant_id = p_tenant
$$;

-- Erased tenants are no longer listed, and their key hashes no longer authenticate.
CREATE OR REPLACE FUNCTION {schema}.list_tenants()
RETURNS TABLE (tenant_id text, name text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT t.tenant_id, t.name FROM {schema}.tenants t
    WHERE NOT EXISTS (SELECT 1 FROM {schema}.erasures e WHERE e.tenant_id = t.tenant_id)
    ORDER BY t.tenant_id
$$;

CREATE OR REPLACE FUNCTION {schema}.sensor_by_key_hash(hash bytea)
RETURNS TABLE (tenant_id text, sensor_id text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT k.tenant_id, k.sensor_id FROM {schema}.sensor_keys k
    WHERE k.key_hash = hash
      AND NOT EXISTS (SELECT 1 FROM {schema}.erasures e WHERE e.tenant_id = k.tenant_id)
$$;

-- The start (ms since the epoch) of the UTC day of every readings day partition.
CREATE FUNCTION {schema}.readings_partition_days()
RETURNS SETOF bigint
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT (extract(epoch FROM to_date(substr(c.relname::text, 11), 'YYYYMMDD')::timestamp) * 1000)::bigint
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = '{schema}.readings'::regclass
      AND c.relname::text ~ '^readings_p[0-9]{8}$'
    ORDER BY 1
$$;

-- Drops the readings partition of the UTC day starting at `p_day_start` (retention) and
-- returns how many rows it held (NULL if there was no such partition). The count needs the
-- owner to see every tenant's rows, so the partition stops forcing row-level security first,
-- inside this transaction, just before it is dropped.
CREATE FUNCTION {schema}.drop_readings_partition(p_day_start bigint)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    part text;
    n bigint;
BEGIN
    IF p_day_start % 86400000 <> 0 THEN
        RAISE EXCEPTION 'not the start of a UTC day: %', p_day_start
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    part := 'readings_p' || to_char(to_timestamp(p_day_start / 1000) AT TIME ZONE 'UTC', 'YYYYMMDD');
    IF to_regclass(format('{schema}.%I', part)) IS NULL THEN
        RETURN NULL;
    END IF;
    EXECUTE format('ALTER TABLE {schema}.%I NO FORCE ROW LEVEL SECURITY', part);
    EXECUTE format('SELECT count(*) FROM {schema}.%I', part) INTO n;
    EXECUTE format('DROP TABLE {schema}.%I', part);
    RETURN n;
END
$$;

REVOKE ALL ON FUNCTION {schema}.tenant_erased(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION {schema}.enter_tenant(text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION {schema}.begin_erasure(text, text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION {schema}.record_erasure(text, bigint, bigint, bigint, bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION {schema}.erasure(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION {schema}.readings_partition_days() FROM PUBLIC;
REVOKE ALL ON FUNCTION {schema}.drop_readings_partition(bigint) FROM PUBLIC;
