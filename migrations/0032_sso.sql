-- Sign-in with an OpenID Connect provider (issue #26; confer/sso).

-- A provider identity linked to an account: (issuer, subject) is the identity, unique
-- across Confer. `email` and `tenant` are what the provider vouched for when it was linked
-- or last used (a verified email; Entra ID's `tid`): a conference's join rules read them.
CREATE TABLE sso_identities (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider        text NOT NULL CHECK (length(provider) BETWEEN 1 AND 32),
    issuer          text NOT NULL CHECK (length(issuer) BETWEEN 1 AND 500),
    subject         text NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
    email           text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    tenant          text NOT NULL DEFAULT '' CHECK (length(tenant) <= 100),
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_used_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (issuer, subject)
);
CREATE INDEX sso_identities_user ON sso_identities (user_id);

-- A sign-in started in a browser and not yet finished: the random `state` sent to the
-- provider (its SHA-256 here), bound to the browser that started it (the SHA-256 of a
-- random value in an HttpOnly cookie), with the nonce and PKCE verifier it needs. Used
-- once (deleted when the provider sends the browser back), and only until it expires.
CREATE TABLE sso_flows (
    state_hash      bytea PRIMARY KEY,
    browser_hash    bytea NOT NULL,
    provider        text NOT NULL,
    nonce           text NOT NULL,
    code_verifier   text NOT NULL,
    next_path       text NOT NULL DEFAULT '/',
    -- Set when a signed-in member links a provider from their account page.
    link_user_id    bigint REFERENCES users (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL
);
CREATE INDEX sso_flows_expires ON sso_flows (expires_at);

-- A provider identity whose verified email belongs to an existing account that has not yet
-- proved itself: it is linked only once that account signs in (by password or emailed link)
-- in the same browser (the SHA-256 of a random value in an HttpOnly cookie) and confirms.
CREATE TABLE sso_pending_links (
    token_hash      bytea PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider        text NOT NULL,
    issuer          text NOT NULL,
    subject         text NOT NULL,
    email           text NOT NULL,
    tenant          text NOT NULL DEFAULT '',
    next_path       text NOT NULL DEFAULT '/',
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL
);
CREATE INDEX sso_pending_links_user ON sso_pending_links (user_id);
