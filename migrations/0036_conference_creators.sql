-- Site administrators may let chosen users create conferences (issue #22): an organiser
-- with this right sees "New conference" and becomes the first organiser of what they make.
ALTER TABLE users ADD COLUMN can_create_conferences boolean NOT NULL DEFAULT false;
