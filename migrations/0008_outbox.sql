-- Email goes through the outbox: a row is written in the same transaction as what causes the
-- email, and the sender (confer.mail.sender) delivers it afterwards.

CREATE TABLE outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- What the email is about, for the development page and the logs: 'password_reset',
    -- 'invitation', 'waitlist_promoted', 'notification', 'digest', ...
    kind            text NOT NULL,
    -- Emails that must go at most once per cause (a daily digest, a promotion) carry a key.
    dedupe_key      text UNIQUE,
    user_id         bigint REFERENCES users (id) ON DELETE SET NULL,
    to_address      text NOT NULL CHECK (length(to_address) BETWEEN 3 AND 254),
    to_name         text NOT NULL DEFAULT '',
    subject         text NOT NULL CHECK (length(subject) BETWEEN 1 AND 300),
    body_text       text NOT NULL,
    body_html       text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    send_after      timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text,
    -- The sender claims a row before it talks to the SMTP server; a claim that outlives the
    -- sender (a crash mid-send) is not retried blindly: see confer.mail.sender.
    claimed_at      timestamptz,
    sent_at         timestamptz,
    failed_at       timestamptz
);
CREATE INDEX outbox_due_idx ON outbox (send_after) WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX outbox_created_idx ON outbox (created_at DESC);
