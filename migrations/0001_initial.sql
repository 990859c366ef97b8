-- Confer's core: accounts, conferences and their programme, memberships, threads and posts.
-- Later capabilities add their own numbered migrations.

CREATE TABLE users (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email           text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    title           text NOT NULL DEFAULT '' CHECK (length(title) <= 100),
    organisation    text NOT NULL DEFAULT '' CHECK (length(organisation) <= 200),
    bio             text NOT NULL DEFAULT '' CHECK (length(bio) <= 2000),
    password_hash   text,
    is_admin        boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    password_changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- Server-side sign-in sessions: the cookie holds a random token, the table its SHA-256.
CREATE TABLE logins (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash      bytea NOT NULL UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_seen_at    timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL
);
CREATE INDEX logins_user_idx ON logins (user_id);

-- Failed sign-ins, for throttling per account and per address.
CREATE TABLE login_failures (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email           text NOT NULL,
    address         text NOT NULL,
    at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_email_idx ON login_failures (email, at);
CREATE INDEX login_failures_address_idx ON login_failures (address, at);

CREATE TABLE api_tokens (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    token_hash      bytea NOT NULL UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_used_at    timestamptz,
    revoked_at      timestamptz
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);

CREATE TABLE conferences (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug            text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    title           text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    summary_md      text NOT NULL DEFAULT '',
    summary_html    text NOT NULL DEFAULT '',
    code_of_conduct_md   text NOT NULL DEFAULT '',
    code_of_conduct_html text NOT NULL DEFAULT '',
    timezone        text NOT NULL DEFAULT 'Europe/London',
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz NOT NULL,
    visibility      text NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'members')),
    registration    text NOT NULL DEFAULT 'open' CHECK (registration IN ('open', 'approval', 'invite')),
    capacity        integer CHECK (capacity > 0),
    published_at    timestamptz,
    created_by      bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at)
);

CREATE TABLE memberships (
    conference_id   bigint NOT NULL REFERENCES conferences (id) ON DELETE CASCADE,
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role            text NOT NULL CHECK (role IN ('organiser', 'facilitator', 'speaker', 'participant', 'observer')),
    -- A facilitator acts on the whole conference, or only on the sessions in session_facilitators.
    facilitates     text NOT NULL DEFAULT 'conference' CHECK (facilitates IN ('conference', 'sessions')),
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'pending', 'waitlisted', 'declined', 'removed')),
    waitlist_position integer,
    muted_until     timestamptz,
    premoderated    boolean NOT NULL DEFAULT false,
    coc_accepted_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (conference_id, user_id)
);
CREATE INDEX memberships_user_idx ON memberships (user_id);

CREATE TABLE sessions (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conference_id   bigint NOT NULL REFERENCES conferences (id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('discussion', 'panel', 'keynote', 'break')),
    title           text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description_md  text NOT NULL DEFAULT '',
    description_html text NOT NULL DEFAULT '',
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz NOT NULL,
    -- 'session': threads take posts while the session is open; 'conference': while the conference is live.
    posting_window  text NOT NULL DEFAULT 'session' CHECK (posting_window IN ('session', 'conference')),
    participants_start_threads boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at)
);
CREATE INDEX sessions_conference_idx ON sessions (conference_id, starts_at);

CREATE TABLE session_facilitators (
    session_id      bigint NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (session_id, user_id)
);

CREATE TABLE session_speakers (
    session_id      bigint NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    position        integer NOT NULL DEFAULT 0,
    PRIMARY KEY (session_id, user_id)
);

CREATE TABLE threads (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conference_id   bigint NOT NULL REFERENCES conferences (id) ON DELETE CASCADE,
    session_id      bigint NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    title           text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    author_id       bigint REFERENCES users (id) ON DELETE SET NULL,
    -- The last seq handed out; posts take seq = last_seq + 1 under this row's lock.
    last_seq        integer NOT NULL DEFAULT 0,
    post_count      integer NOT NULL DEFAULT 0,
    last_post_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX threads_session_idx ON threads (session_id, last_post_at DESC);
CREATE INDEX threads_conference_idx ON threads (conference_id);

CREATE TABLE posts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    thread_id       bigint NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    conference_id   bigint NOT NULL REFERENCES conferences (id) ON DELETE CASCADE,
    seq             integer NOT NULL,
    author_id       bigint REFERENCES users (id) ON DELETE SET NULL,
    reply_to_id     bigint REFERENCES posts (id) ON DELETE SET NULL,
    body_md         text NOT NULL,
    body_html       text NOT NULL,
    status          text NOT NULL DEFAULT 'visible' CHECK (status IN ('visible', 'pending', 'hidden', 'deleted')),
    hidden_reason   text,
    idempotency_key text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    edited_at       timestamptz,
    search          tsvector GENERATED ALWAYS AS (to_tsvector('english', body_md)) STORED,
    UNIQUE (thread_id, seq),
    UNIQUE (author_id, idempotency_key)
);
CREATE INDEX posts_conference_idx ON posts (conference_id, created_at DESC);
CREATE INDEX posts_search_idx ON posts USING gin (search);

CREATE TABLE post_revisions (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    post_id         bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    body_md         text NOT NULL,
    body_html       text NOT NULL,
    replaced_at     timestamptz NOT NULL DEFAULT now(),
    replaced_by     bigint REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX post_revisions_post_idx ON post_revisions (post_id);

-- What each member has read of each thread: posts after last_seq are new to them.
CREATE TABLE read_state (
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    thread_id       bigint NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    last_seq        integer NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, thread_id)
);
