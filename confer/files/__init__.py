"""Files on sessions and posts: stored in PostgreSQL in chunks, scanned by ClamAV, served
safely (issue #25)."""
