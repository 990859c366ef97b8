"""Notifications: follows, mentions and replies, each member's notification list, their
email preferences and the daily digest."""
