-- An invitation that carries a role can carry that role's sessions too: giving a facilitator
-- or speaker role to someone who is not yet a member sends them an invitation (they accept;
-- nobody is enrolled without consent), and accepting it must give the sessions the organiser
-- chose, not a whole-conference facilitator role.
ALTER TABLE invitations ADD COLUMN session_ids bigint[] NOT NULL DEFAULT '{}';
