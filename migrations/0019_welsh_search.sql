-- Welsh search. Each post is indexed with the text search configuration of its language
-- (posts.lang, migrations/0017): 'english' for English, 'simple' for Welsh. PostgreSQL has no
-- Welsh dictionary, and the English stemmer and stop words mangle Welsh ("a", "i", "am",
-- "on", "is" are Welsh words that English drops): 'simple' keeps every word as it is written,
-- lower-cased. Searches match each post by its own configuration (confer/search/queries.py).
ALTER TABLE posts DROP COLUMN search;
ALTER TABLE posts ADD COLUMN search tsvector GENERATED ALWAYS AS (
    to_tsvector(CASE WHEN lang = 'cy' THEN 'simple'::regconfig ELSE 'english'::regconfig END,
                body_md)
) STORED;
CREATE INDEX posts_search_idx ON posts USING gin (search);
