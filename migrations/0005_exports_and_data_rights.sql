-- Transcripts, data rights and their audit trail.

ALTER TABLE conferences
    ADD COLUMN facilitators_may_export boolean NOT NULL DEFAULT false;

-- Append-only record of exports, data downloads and erasures: who, what, when.
CREATE TABLE audit_log (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id        bigint REFERENCES users (id),
    actor_label     text NOT NULL DEFAULT '',
    conference_id   bigint REFERENCES conferences (id) ON DELETE SET NULL,
    subject_user_id bigint REFERENCES users (id),
    action          text NOT NULL,
    details         jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_conference_idx ON audit_log (conference_id, created_at DESC);

CREATE TRIGGER audit_log_append_only
BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION moderation_log_is_append_only();

ALTER TABLE users ADD COLUMN erased_at timestamptz;
