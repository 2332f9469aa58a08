-- tally schema, version 1: registry, room state, raw readings partitioned by day, rollups.
--
-- Runs as the owner role (the one that runs migrations), inside one transaction, with
-- `{schema}` replaced by the quoted schema name. Every table has `tenant_id`, row-level security
-- enabled and forced (so the owner is held to the policies too), and the policy
-- `tenant_isolation`, which compares `tenant_id` with the transaction's `app.tenant`.
-- Ids are compared byte-wise (`COLLATE "C"`), as the embedded store orders them.

CREATE TABLE {schema}.tenants (
    tenant_id text COLLATE "C" PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE {schema}.offices (
    tenant_id text COLLATE "C" NOT NULL,
    office_id text COLLATE "C" NOT NULL,
    name text NOT NULL,
    CONSTRAINT offices_pkey PRIMARY KEY (tenant_id, office_id),
    CONSTRAINT offices_tenant_fkey FOREIGN KEY (tenant_id)
        REFERENCES {schema}.tenants (tenant_id) ON DELETE CASCADE
);

CREATE TABLE {schema}.rooms (
    tenant_id text COLLATE "C" NOT NULL,
    room_id text COLLATE "C" NOT NULL,
    office_id text COLLATE "C" NOT NULL,
    name text NOT NULL,
    capacity bigint NOT NULL CHECK (capacity BETWEEN 0 AND 4294967295),
    count_mode text NOT NULL CHECK (count_mode IN ('sum', 'max')),
    CONSTRAINT rooms_pkey PRIMARY KEY (tenant_id, room_id),
    -- The target of the sensors' foreign key: a sensor's room must be in the sensor's office.
    CONSTRAINT rooms_office_key UNIQUE (tenant_id, office_id, room_id),
    CONSTRAINT rooms_office_fkey FOREIGN KEY (tenant_id, office_id)
        REFERENCES {schema}.offices (tenant_id, office_id) ON DELETE CASCADE
);

CREATE TABLE {schema}.sensors (
    tenant_id text COLLATE "C" NOT NULL,
    sensor_id text COLLATE "C" NOT NULL,
    office_id text COLLATE "C" NOT NULL,
    room_id text COLLATE "C" NOT NULL,
    CONSTRAINT sensors_pkey PRIMARY KEY (tenant_id, sensor_id),
    CONSTRAINT sensors_room_fkey FOREIGN KEY (tenant_id, office_id, room_id)
        REFERENCES {schema}.rooms (tenant_id, office_id, room_id) ON DELETE CASCADE
);
CREATE INDEX sensors_by_room ON {schema}.sensors (tenant_id, room_id, sensor_id);

-- Authentication index: SHA-256 of a sensor key → its sensor. Unique across every tenant, read
-- across tenants only through `sensor_by_key_hash()`.
CREATE TABLE {schema}.sensor_keys (
    key_hash bytea PRIMARY KEY CHECK (length(key_hash) = 32),
    tenant_id text COLLATE "C" NOT NULL,
    sensor_id text COLLATE "C" NOT NULL,
    CONSTRAINT sensor_keys_sensor_fkey FOREIGN KEY (tenant_id, sensor_id)
        REFERENCES {schema}.sensors (tenant_id, sensor_id) ON DELETE CASCADE
);
CREATE INDEX sensor_keys_by_sensor ON {schema}.sensor_keys (tenant_id, sensor_id);

-- A room's `RoomState` (live count, per-sensor dedup marks, open minute), MessagePack with field
-- names (the embedded store's encoding). Replaced whole by every batch that touches the room.
CREATE TABLE {schema}.room_state (
    tenant_id text COLLATE "C" NOT NULL,
    room_id text COLLATE "C" NOT NULL,
    state bytea NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT room_state_pkey PRIMARY KEY (tenant_id, room_id)
);

-- Raw readings, partitioned by sensor time (ms since the epoch) into UTC days; tally creates the
-- day partitions (`readings_pYYYYMMDD`) ahead of time and on demand through
-- `create_readings_partition()`. Rows of days without a partition land in `readings_default`.
CREATE TABLE {schema}.readings (
    tenant_id text COLLATE "C" NOT NULL,
    room_id text COLLATE "C" NOT NULL,
    ts bigint NOT NULL,
    sensor_id text COLLATE "C" NOT NULL,
    seq bigint NOT NULL,
    count bigint NOT NULL,
    received_at bigint NOT NULL,
    CONSTRAINT readings_pkey PRIMARY KEY (tenant_id, room_id, ts, sensor_id, seq)
) PARTITION BY RANGE (ts);
CREATE TABLE {schema}.readings_default PARTITION OF {schema}.readings DEFAULT;

CREATE TABLE {schema}.rollups (
    tenant_id text COLLATE "C" NOT NULL,
    room_id text COLLATE "C" NOT NULL,
    resolution text NOT NULL CHECK (resolution IN ('minute', 'fifteen_minutes', 'hour', 'day')),
    bucket_start bigint NOT NULL,
    avg double precision NOT NULL,
    peak bigint NOT NULL,
    occupied_s double precision NOT NULL,
    samples bigint NOT NULL,
    CONSTRAINT rollups_pkey PRIMARY KEY (tenant_id, room_id, resolution, bucket_start)
);

-- Row-level security on every tenant table (and on the default partition, which the owner could
-- otherwise read by name). `current_setting(…, true)` is NULL when no tenant is set, and NULL
-- matches nothing.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['tenants', 'offices', 'rooms', 'sensors', 'sensor_keys',
                             'room_state', 'readings', 'readings_default', 'rollups'] LOOP
        EXECUTE format('ALTER TABLE {schema}.%I ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON {schema}.%I '
                       'USING (tenant_id = current_setting(''app.tenant'', true)) '
                       'WITH CHECK (tenant_id = current_setting(''app.tenant'', true))', t);
        EXECUTE format('REVOKE ALL ON {schema}.%I FROM PUBLIC', t);
    END LOOP;
END
$$;

-- The owner role (and only it: policies are per role) reads every tenant and every key hash, so
-- that the SECURITY DEFINER functions below, which run as the owner, can answer platform-wide
-- questions. The runtime role reaches these rows only through those functions.
CREATE POLICY platform_read ON {schema}.tenants FOR SELECT TO CURRENT_USER USING (true);
CREATE POLICY platform_read ON {schema}.sensor_keys FOR SELECT TO CURRENT_USER USING (true);

-- Every tenant, ordered by id.
CREATE FUNCTION {schema}.list_tenants()
RETURNS TABLE (tenant_id text, name text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT t.tenant_id, t.name FROM {schema}.tenants t ORDER BY t.tenant_id
$$;

-- The tenant and sensor a key hash belongs to (at most one row).
CREATE FUNCTION {schema}.sensor_by_key_hash(hash bytea)
RETURNS TABLE (tenant_id text, sensor_id text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT k.tenant_id, k.sensor_id FROM {schema}.sensor_keys k WHERE k.key_hash = hash
$$;

-- Creates the readings partition of the UTC day that starts at `day_start` (ms since the epoch,
-- a multiple of 86 400 000, between 2000 and 3000), with the same row-level security as the
-- parent and no privileges for anyone but its owner. Returns true when the partition exists
-- afterwards, false when rows of that day already sit in the default partition (they stay there,
-- and so do later rows of that day).
CREATE FUNCTION {schema}.create_readings_partition(day_start bigint)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    part text;
BEGIN
    IF day_start % 86400000 <> 0 OR day_start NOT BETWEEN 946684800000 AND 32503680000000 THEN
        RAISE EXCEPTION 'not the start of a UTC day between 2000 and 3000: %', day_start
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    part := 'readings_p' || to_char(to_timestamp(day_start / 1000) AT TIME ZONE 'UTC', 'YYYYMMDD');
    IF to_regclass(format('{schema}.%I', part)) IS NOT NULL THEN
        RETURN true;
    END IF;
    -- Nodes creating the same day at once: the one that loses the race finds it made (its
    -- catalog snapshot may predate the winner's commit, hence the exception, not a re-check).
    BEGIN
        EXECUTE format('CREATE TABLE {schema}.%I PARTITION OF {schema}.readings FOR VALUES FROM (%s) TO (%s)',
                       part, day_start, day_start + 86400000);
    EXCEPTION
        WHEN duplicate_table OR unique_violation THEN  -- name taken in pg_class meanwhile
            RETURN true;
        WHEN check_violation THEN
            RETURN false;
    END;
    EXECUTE format('ALTER TABLE {schema}.%I ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', part);
    EXECUTE format('CREATE POLICY tenant_isolation ON {schema}.%I '
                   'USING (tenant_id = current_setting(''app.tenant'', true)) '
                   'WITH CHECK (tenant_id = current_setting(''app.tenant'', true))', part);
    EXECUTE format('REVOKE ALL ON {schema}.%I FROM PUBLIC', part);
    RETURN true;
END
$$;

REVOKE ALL ON FUNCTION {schema}.list_tenants() FROM PUBLIC;
REVOKE ALL ON FUNCTION {schema}.sensor_by_key_hash(bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION {schema}.create_readings_partition(bigint) FROM PUBLIC;
