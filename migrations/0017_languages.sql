-- Cymraeg and English (confer.i18n). A member's language for pages and emails: null until
-- they choose one (the language switch or their account page), when their browser's
-- Accept-Language decides. A post keeps its author's interface language, so that a page can
-- mark it with `lang` and search can read it with the right dictionary.
ALTER TABLE users ADD COLUMN language text CHECK (language IN ('en', 'cy'));
ALTER TABLE posts ADD COLUMN lang text NOT NULL DEFAULT 'en' CHECK (lang IN ('en', 'cy'));
