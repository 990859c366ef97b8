-- Registration: open, by approval or by invitation; capacity and the waitlist; invitations.
--
-- Every change to who holds a place runs under the conference row's lock
-- (SELECT ... FROM conferences WHERE id = $1 FOR UPDATE): see confer/registration/service.py.

-- 'left': the member cancelled (left the conference, left the waitlist, or withdrew a
-- request). Unlike 'removed' (a moderation decision) they may register again.
ALTER TABLE memberships DROP CONSTRAINT memberships_status_check;
ALTER TABLE memberships ADD CONSTRAINT memberships_status_check
    CHECK (status IN ('active', 'pending', 'waitlisted', 'declined', 'removed', 'left'));

-- When they last registered, read from clock_timestamp() under the conference's lock: the
-- order in which registrations were served.
ALTER TABLE memberships ADD COLUMN registered_at timestamptz;
-- An organiser's decision on a request (approve or decline), and who made it.
ALTER TABLE memberships ADD COLUMN decided_at timestamptz;
ALTER TABLE memberships ADD COLUMN decided_by bigint REFERENCES users (id) ON DELETE SET NULL;

CREATE INDEX memberships_waitlist_idx ON memberships (conference_id, waitlist_position)
    WHERE status = 'waitlisted';
CREATE INDEX memberships_pending_idx ON memberships (conference_id, registered_at)
    WHERE status = 'pending';

CREATE TABLE invitations (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conference_id   bigint NOT NULL REFERENCES conferences (id) ON DELETE CASCADE,
    email           text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    name            text NOT NULL DEFAULT '' CHECK (length(name) <= 100),
    role            text NOT NULL
        CHECK (role IN ('organiser', 'facilitator', 'speaker', 'participant', 'observer')),
    -- SHA-256 of the random token in the emailed link; a resend replaces it, so the old
    -- link stops working.
    token_hash      bytea NOT NULL UNIQUE,
    -- 'expired' is not stored: a pending invitation whose expires_at has passed is expired.
    status          text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'accepted', 'revoked')),
    invited_by      bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz NOT NULL DEFAULT now(),
    send_count      integer NOT NULL DEFAULT 1,
    expires_at      timestamptz NOT NULL,
    accepted_at     timestamptz,
    accepted_by     bigint REFERENCES users (id) ON DELETE SET NULL,
    revoked_at      timestamptz
);
-- One live invitation per address and conference: inviting again renews it.
CREATE UNIQUE INDEX invitations_pending_key ON invitations (conference_id, lower(email))
    WHERE status = 'pending';
CREATE INDEX invitations_conference_idx ON invitations (conference_id, created_at DESC);
