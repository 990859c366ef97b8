"""Conferences: creating and editing them, their programme of sessions, and roles."""
