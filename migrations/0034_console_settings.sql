-- The organiser's console (issue #22): changes to a conference's moderation settings (the
-- number of reports that hides a post, pre-moderation of each member's first posts) are
-- written to the moderation log against the conference itself.
ALTER TABLE moderation_log DROP CONSTRAINT moderation_log_target_type_check;
ALTER TABLE moderation_log ADD CONSTRAINT moderation_log_target_type_check
    CHECK (target_type IN ('post', 'thread', 'member', 'flag', 'question', 'session', 'conference'));
