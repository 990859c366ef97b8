-- Bilingual conferences (confer.i18n.localized). `language` is the language of the title,
-- summary, code of conduct and sessions' texts as written in their own columns; a bilingual
-- conference also gives them in the other language, under that language's code in
-- `translations`:
--   conferences.translations = {"cy": {"title": "…", "summary_md": "…", "summary_html": "…",
--                                      "code_of_conduct_md": "…", "code_of_conduct_html": "…"}}
--   sessions.translations    = {"cy": {"title": "…", "description_md": "…", "description_html": "…"}}
-- Readers see their language, falling back to the other one (marked with its `lang`).
ALTER TABLE conferences
    ADD COLUMN language text NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'cy')),
    ADD COLUMN bilingual boolean NOT NULL DEFAULT false,
    ADD COLUMN translations jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(translations) = 'object');
ALTER TABLE sessions
    ADD COLUMN translations jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(translations) = 'object');
