-- The moderation log's target types, all together: 0030 (files) and 0034 (console settings)
-- were written side by side and each redefined the check with only its own new type.
ALTER TABLE moderation_log DROP CONSTRAINT moderation_log_target_type_check;
ALTER TABLE moderation_log ADD CONSTRAINT moderation_log_target_type_check
    CHECK (target_type IN ('post', 'thread', 'member', 'flag', 'question', 'session', 'file',
                           'conference'));
