-- Emailed links (password reset, sign-in by link), their request throttle, and what the
-- outbox sender (confer/mail/sender.py) needs: a wake-up on insert and a DATA marker.

-- A link's token is random; only its SHA-256 is stored. A link works once (used_at), until
-- expires_at, and only if it was made after the account's last password change.
CREATE TABLE email_tokens (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose         text NOT NULL CHECK (purpose IN ('password_reset', 'sign_in')),
    token_hash      bytea NOT NULL UNIQUE,
    -- Where a sign-in link leads afterwards: a same-site path, checked when it is made.
    next_path       text NOT NULL DEFAULT '/' CHECK (length(next_path) BETWEEN 1 AND 2000),
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz,
    CHECK (expires_at > created_at)
);
CREATE INDEX email_tokens_user_idx ON email_tokens (user_id, purpose) WHERE used_at IS NULL;

-- Requests for emailed links, whether or not the address has an account (so the throttle
-- does not tell either). Rows older than the window are deleted as new ones arrive.
CREATE TABLE email_link_requests (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    purpose         text NOT NULL CHECK (purpose IN ('password_reset', 'sign_in')),
    email           text NOT NULL,
    address         text NOT NULL,
    at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX email_link_requests_email_idx ON email_link_requests (email, at);
CREATE INDEX email_link_requests_address_idx ON email_link_requests (address, at);

-- The sender records the moment it starts the SMTP DATA command, in a committed
-- transaction: a claim without it provably never reached the mail server.
ALTER TABLE outbox ADD COLUMN data_started_at timestamptz;

-- Wake the sender when email is queued. NOTIFY is delivered on commit, so email written in
-- a transaction that rolls back wakes nobody (and is never sent).
CREATE FUNCTION confer_outbox_queued() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('confer_outbox', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER outbox_queued
AFTER INSERT ON outbox
FOR EACH STATEMENT EXECUTE FUNCTION confer_outbox_queued();
