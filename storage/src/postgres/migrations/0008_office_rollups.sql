-- tally schema, version 8: office rollups (an office's rooms' counts summed at the same
-- instants, finalised by the office's owner) and how far they reach.
--
-- Runs as the owner role, like the versions before it, with `{schema}` replaced by the quoted
-- schema name.
--
-- `area` holds the office id. It has no foreign key to `offices`: an aggregate area is an office
-- today, and may later be an area that is no office (the whole tenant), kept by these same
-- tables. Its rows go with the tenant's erasure, like `rollups`.

CREATE TABLE {schema}.office_rollups (
    tenant_id text COLLATE "C" NOT NULL,
    area text COLLATE "C" NOT NULL,
    resolution text NOT NULL CHECK (resolution IN ('minute', 'fifteen_minutes', 'hour', 'day')),
    bucket_start bigint NOT NULL,
    avg double precision NOT NULL,
    peak bigint NOT NULL,
    occupied_s double precision NOT NULL,
    samples bigint NOT NULL,
    stats bytea,
    CONSTRAINT office_rollups_pkey PRIMARY KEY (tenant_id, area, resolution, bucket_start)
);

-- How far an area's stored rollups reach (`RollupFrontier`): replaced in the transaction that
-- writes the buckets it covers.
CREATE TABLE {schema}.office_rollup_frontiers (
    tenant_id text COLLATE "C" NOT NULL,
    area text COLLATE "C" NOT NULL,
    from_ms bigint NOT NULL,
    to_ms bigint NOT NULL,
    CONSTRAINT office_rollup_frontiers_pkey PRIMARY KEY (tenant_id, area)
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['office_rollups', 'office_rollup_frontiers'] LOOP
        EXECUTE format('ALTER TABLE {schema}.%I ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON {schema}.%I '
                       'USING (tenant_id = current_setting(''app.tenant'', true)) '
                       'WITH CHECK (tenant_id = current_setting(''app.tenant'', true))', t);
        EXECUTE format('REVOKE ALL ON {schema}.%I FROM PUBLIC', t);
    END LOOP;
END
$$;
