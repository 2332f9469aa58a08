-- tally schema, version 4: revoked tenant JWTs.
--
-- Runs as the owner role, like the earlier versions, with `{schema}` replaced by the quoted
-- schema name.

-- A tenant's mark: its tokens issued (`iat`, seconds) before `issued_before` are invalid.
CREATE TABLE {schema}.token_revocations (
    tenant_id text COLLATE "C" PRIMARY KEY,
    issued_before bigint NOT NULL CHECK (issued_before >= 0),
    CONSTRAINT token_revocations_tenant_fkey FOREIGN KEY (tenant_id)
        REFERENCES {schema}.tenants (tenant_id) ON DELETE CASCADE
);

-- Tokens revoked by id (`jti`), kept until they expire (seconds).
CREATE TABLE {schema}.revoked_tokens (
    tenant_id text COLLATE "C" NOT NULL,
    token_id text COLLATE "C" NOT NULL,
    expires_at bigint NOT NULL,
    CONSTRAINT revoked_tokens_pkey PRIMARY KEY (tenant_id, token_id),
    CONSTRAINT revoked_tokens_tenant_fkey FOREIGN KEY (tenant_id)
        REFERENCES {schema}.tenants (tenant_id) ON DELETE CASCADE
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['token_revocations', 'revoked_tokens'] LOOP
        EXECUTE format('ALTER TABLE {schema}.%I ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON {schema}.%I '
                       'USING (tenant_id = current_setting(''app.tenant'', true)) '
                       'WITH CHECK (tenant_id = current_setting(''app.tenant'', true))', t);
        EXECUTE format('REVOKE ALL ON {schema}.%I FROM PUBLIC', t);
    END LOOP;
END
$$;
