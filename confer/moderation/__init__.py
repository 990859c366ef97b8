"""Facilitation and moderation: thread and post actions, flags, the approval queue, members'
mutes and removals, and the moderation log."""
