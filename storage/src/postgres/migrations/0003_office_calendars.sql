-- tally schema, version 3: office calendars (time zone and working hours of an office, which
-- its analytics follow).
--
-- Runs as the owner role, like versions 1 and 2, with `{schema}` replaced by the quoted schema name.

CREATE TABLE {schema}.office_calendars (
    tenant_id text COLLATE "C" NOT NULL,
    office_id text COLLATE "C" NOT NULL,
    time_zone text NOT NULL,
    work_days smallint[] NOT NULL,
    work_start text NOT NULL,
    work_end text NOT NULL,
    CONSTRAINT office_calendars_pkey PRIMARY KEY (tenant_id, office_id),
    CONSTRAINT office_calendars_office_fkey FOREIGN KEY (tenant_id, office_id)
        REFERENCES {schema}.offices (tenant_id, office_id) ON DELETE CASCADE
);

ALTER TABLE {schema}.office_calendars ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON {schema}.office_calendars
    USING (tenant_id = current_setting('app.tenant', true))
    WITH CHECK (tenant_id = current_setting('app.tenant', true));
REVOKE ALL ON {schema}.office_calendars FROM PUBLIC;
