"""Search: a conference's posts, by PostgreSQL full-text search, for those who may read them."""
