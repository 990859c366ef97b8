"""Email: the outbox (written inside the causing transaction) and its sender."""
