-- tally schema, version 7: the audit log.
--
-- Runs as the owner role, like the earlier versions, with `{schema}` replaced by the quoted
-- schema name.

-- Append-only entries of a tenant's log (`scope` = its id) or the platform's (`@platform`, never
-- a tenant id). No foreign key to `tenants`: an entry outlives an erased tenant until its
-- `keep_until`. The id starts with the time in hex, so the primary key orders a scope's entries
-- by time; `audit_log_expiry` serves the retention sweep.
CREATE TABLE {schema}.audit_log (
    scope text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    tenant_id text COLLATE "C",
    at bigint NOT NULL,
    kind text NOT NULL,
    principal text NOT NULL,
    source text,
    request_id text,
    outcome text NOT NULL,
    detail text NOT NULL,
    keep_until bigint NOT NULL,
    CONSTRAINT audit_log_pkey PRIMARY KEY (scope, id)
);
CREATE INDEX audit_log_expiry ON {schema}.audit_log (keep_until);

-- Row-level security: a session set to a tenant (or to `@platform`) sees and appends only that
-- scope's entries. The runtime role gets SELECT and INSERT only (see `schema.rs`): it can
-- neither change nor delete an entry; expired ones go through `expire_audit()`, as the owner.
ALTER TABLE {schema}.audit_log ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON {schema}.audit_log
    USING (scope = current_setting('app.tenant', true))
    WITH CHECK (scope = current_setting('app.tenant', true));
CREATE POLICY owner_expiry ON {schema}.audit_log TO CURRENT_USER USING (true);
REVOKE ALL ON {schema}.audit_log FROM PUBLIC;

-- Deletes every entry whose `keep_until` is not after `p_now`; returns how many.
CREATE FUNCTION {schema}.expire_audit(p_now bigint)
RETURNS bigint
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH gone AS (DELETE FROM {schema}.audit_log WHERE keep_until <= p_now RETURNING 1)
    SELECT count(*) FROM gone
$$;
REVOKE ALL ON FUNCTION {schema}.expire_audit(bigint) FROM PUBLIC;
