-- Deleting a session sets moderation_log.session_id to NULL (ON DELETE SET NULL). The
-- append-only trigger refused that UPDATE, so a session with moderation history could not be
-- deleted. Allow exactly that change, and nothing else.
CREATE FUNCTION moderation_log_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.session_id IS NOT NULL AND NEW.session_id IS NULL
       AND (NEW.id, NEW.conference_id, NEW.actor_id, NEW.action, NEW.target_type, NEW.target_id,
            NEW.reason, NEW.details, NEW.created_at)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.conference_id, OLD.actor_id, OLD.action, OLD.target_type, OLD.target_id,
            OLD.reason, OLD.details, OLD.created_at)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'moderation_log is append-only';
END;
$$;

DROP TRIGGER moderation_log_append_only ON moderation_log;
CREATE TRIGGER moderation_log_append_only
BEFORE UPDATE OR DELETE ON moderation_log
FOR EACH ROW EXECUTE FUNCTION moderation_log_guard();
