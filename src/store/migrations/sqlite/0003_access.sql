-- rapport schema 3: who may see and change what. Users become records (the
-- generic machinery lists and changes them) with teams and business units;
-- every business record gets a business unit; tokens get a scope and a last
-- use (idle expiry); the audit trail; and two tables derived from users that
-- the access checks read: user_teams (membership) and user_units (the
-- business units a user works in, with every unit under them).

ALTER TABLE users ADD COLUMN owner_id INTEGER REFERENCES users (id);
ALTER TABLE users ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
ALTER TABLE users ADD COLUMN custom TEXT NOT NULL DEFAULT '{}';
ALTER TABLE users ADD COLUMN team_ids TEXT NOT NULL DEFAULT '[]';
ALTER TABLE users ADD COLUMN business_unit_ids TEXT NOT NULL DEFAULT '[]';
ALTER TABLE users ADD COLUMN locked_until TEXT;
ALTER TABLE users ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;

CREATE TABLE teams (
	id INTEGER PRIMARY KEY,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	version INTEGER NOT NULL DEFAULT 1,
	owner_id INTEGER REFERENCES users (id),
	tags TEXT NOT NULL DEFAULT '[]',
	custom TEXT NOT NULL DEFAULT '{}',
	name TEXT NOT NULL UNIQUE,
	business_unit_id INTEGER REFERENCES organizations (id),
	description TEXT
);

CREATE TABLE user_teams (
	user_id INTEGER NOT NULL,
	team_id INTEGER NOT NULL,
	PRIMARY KEY (user_id, team_id)
);
CREATE INDEX user_teams_team ON user_teams (team_id);

CREATE TABLE user_units (
	user_id INTEGER NOT NULL,
	unit_id INTEGER NOT NULL,
	PRIMARY KEY (user_id, unit_id)
);

ALTER TABLE tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'write' CHECK (scope IN ('read', 'write'));
ALTER TABLE tokens ADD COLUMN last_used_at TEXT;

ALTER TABLE organizations ADD COLUMN business_unit_id INTEGER REFERENCES organizations (id);
CREATE INDEX organizations_unit ON organizations (business_unit_id, id);
ALTER TABLE people ADD COLUMN business_unit_id INTEGER REFERENCES organizations (id);
CREATE INDEX people_unit ON people (business_unit_id, id);
ALTER TABLE affiliations ADD COLUMN business_unit_id INTEGER REFERENCES organizations (id);
CREATE INDEX affiliations_unit ON affiliations (business_unit_id, id);
ALTER TABLE interactions ADD COLUMN business_unit_id INTEGER REFERENCES organizations (id);
CREATE INDEX interactions_unit ON interactions (business_unit_id, id);

-- One row per create, update and delete, written in the same transaction.
-- owner_id and user_id: who made the change; changes: {"before": {...},
-- "after": {...}} with the fields that changed.
CREATE TABLE audit (
	id INTEGER PRIMARY KEY,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	version INTEGER NOT NULL DEFAULT 1,
	owner_id INTEGER,
	tags TEXT NOT NULL DEFAULT '[]',
	custom TEXT NOT NULL DEFAULT '{}',
	user_id INTEGER,
	entity TEXT NOT NULL,
	record_id INTEGER NOT NULL,
	action TEXT NOT NULL CHECK (action IN ('create', 'update', 'delete')),
	business_unit_id INTEGER,
	changes TEXT NOT NULL
);
CREATE INDEX audit_record ON audit (entity, record_id, id);
CREATE INDEX audit_unit ON audit (business_unit_id, id);
CREATE INDEX audit_user ON audit (user_id, id);
