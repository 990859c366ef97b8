-- A conference may let people vouched for by a sign-in provider join without approval
-- (issue #26): those whose linked identity has a verified email at one of these domains, or
-- (Microsoft Entra ID) belongs to one of these tenants. Lower-case domains; tenant ids as
-- the provider writes them.
ALTER TABLE conferences
    ADD COLUMN sso_join_domains text[] NOT NULL DEFAULT '{}',
    ADD COLUMN sso_join_tenants text[] NOT NULL DEFAULT '{}';
