"""Threads: starting them, a session's list of threads, and the reader's page of posts."""
