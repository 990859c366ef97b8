-- Wake the programme clock (confer/live/scheduler.py) whenever a boundary may have moved.
CREATE FUNCTION confer_programme_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('confer_programme', TG_TABLE_NAME);
    RETURN NULL;
END;
$$;

CREATE TRIGGER sessions_programme_changed
AFTER INSERT OR DELETE OR UPDATE OF starts_at, ends_at, posting_window ON sessions
FOR EACH STATEMENT EXECUTE FUNCTION confer_programme_changed();

CREATE TRIGGER conferences_programme_changed
AFTER INSERT OR DELETE OR UPDATE OF starts_at, ends_at, published_at ON conferences
FOR EACH STATEMENT EXECUTE FUNCTION confer_programme_changed();
