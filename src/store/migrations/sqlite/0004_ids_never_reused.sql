-- rapport schema 4: an id is never given twice. SQLite hands a new row the
-- largest id in its table plus one, so deleting the newest record gave its id
-- to the next one (a link, an export or an integration holding the old id
-- then found another record), where PostgreSQL's identities never go back.
-- AUTOINCREMENT makes SQLite remember the largest id ever used; it can only
-- be declared with the table, so each table whose records can be deleted is
-- rebuilt with the same columns in the same order, the same rows and ids,
-- and its indexes and triggers made again. (Foreign keys are off while a
-- migration runs and checked after it; the tables that reference these
-- ones name them, and find them again under the same names.)

CREATE TABLE users_rebuilt (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	version INTEGER NOT NULL DEFAULT 1,
	email TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	role TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'client_rm', 'business_rm', 'viewer')),
	disabled INTEGER NOT NULL DEFAULT 0,
	owner_id INTEGER REFERENCES users (id),
	tags TEXT NOT NULL DEFAULT '[]',
	custom TEXT NOT NULL DEFAULT '{}',
	team_ids TEXT NOT NULL DEFAULT '[]',
	business_unit_ids TEXT NOT NULL DEFAULT '[]',
	locked_until TEXT,
	failed_logins INTEGER NOT NULL DEFAULT 0
);
INSERT INTO users_rebuilt SELECT * FROM users;
DROP TABLE users;
ALTER TABLE users_rebuilt RENAME TO users;

CREATE TABLE organizations_rebuilt (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	version INTEGER NOT NULL DEFAULT 1,
	owner_id INTEGER REFERENCES users (id),
	tags TEXT NOT NULL DEFAULT '[]',
	custom TEXT NOT NULL DEFAULT '{}',
	name TEXT NOT NULL,
	kind TEXT NOT NULL,
	parent_id INTEGER REFERENCES organizations (id),
	tier TEXT,
	industry TEXT,
	website TEXT,
	email TEXT,
	phone TEXT,
	country TEXT,
	city TEXT,
	notes TEXT,
	business_unit_id INTEGER REFERENCES organizations (id)
);
INSERT INTO organizations_rebuilt SELECT * FROM organizations;
DROP TABLE organizations;
ALTER TABLE organizations_rebuilt RENAME TO organizations;
CREATE INDEX organizations_kind ON organizations (kind, id);
CREATE INDEX organizations_parent ON organizations (parent_id);
CREATE INDEX organizations_name ON organizations (name, id);
CREATE INDEX organizations_unit ON organizations (business_unit_id, id);
CREATE TRIGGER organizations_fts_ai AFTER INSERT ON organizations BEGIN
	INSERT OR IGNORE INTO organizations_fts_queue (row_id, indexed) VALUES (new.id, 0);
END;
CREATE TRIGGER organizations_fts_ad AFTER DELETE ON organizations BEGIN
	INSERT OR IGNORE INTO organizations_fts_queue (row_id, indexed, name, email, website, industry, city) VALUES (old.id, 1, old.name, old.email, old.website, old.industry, old.city);
END;
CREATE TRIGGER organizations_fts_au AFTER UPDATE OF name, email, website, industry, city ON organizations BEGIN
	INSERT OR IGNORE INTO organizations_fts_queue (row_id, indexed, name, email, website, industry, city) VALUES (old.id, 1, old.name, old.email, old.website, old.industry, old.city);
END;

CREATE TABLE people_rebuilt (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	version INTEGER NOT NULL DEFAULT 1,
	owner_id INTEGER REFERENCES users (id),
	tags TEXT NOT NULL DEFAULT '[]',
	custom TEXT NOT NULL DEFAULT '{}',
	given_name TEXT,
	family_name TEXT,
	emails TEXT NOT NULL DEFAULT '[]',
	phones TEXT NOT NULL DEFAULT '[]',
	language TEXT,
	notes TEXT,
	business_unit_id INTEGER REFERENCES organizations (id)
);
INSERT INTO people_rebuilt SELECT * FROM people;
DROP TABLE people;
ALTER TABLE people_rebuilt RENAME TO people;
CREATE INDEX people_family_name ON people (family_name, id);
CREATE INDEX people_unit ON people (business_unit_id, id);
CREATE TRIGGER people_fts_ai AFTER INSERT ON people BEGIN
	INSERT OR IGNORE INTO people_fts_queue (row_id, indexed) VALUES (new.id, 0);
END;
CREATE TRIGGER people_fts_ad AFTER DELETE ON people BEGIN
	INSERT OR IGNORE INTO people_fts_queue (row_id, indexed, given_name, family_name, emails) VALUES (old.id, 1, old.given_name, old.family_name, old.emails);
END;
CREATE TRIGGER people_fts_au AFTER UPDATE OF given_name, family_name, emails ON people BEGIN
	INSERT OR IGNORE INTO people_fts_queue (row_id, indexed, given_name, family_name, emails) VALUES (old.id, 1, old.given_name, old.family_name, old.emails);
END;

CREATE TABLE affiliations_rebuilt (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	version INTEGER NOT NULL DEFAULT 1,
	owner_id INTEGER REFERENCES users (id),
	tags TEXT NOT NULL DEFAULT '[]',
	custom TEXT NOT NULL DEFAULT '{}',
	person_id INTEGER NOT NULL REFERENCES people (id),
	organization_id INTEGER NOT NULL REFERENCES organizations (id),
	role TEXT NOT NULL,
	title TEXT,
	is_primary INTEGER NOT NULL DEFAULT 0,
	started_on TEXT,
	ended_on TEXT,
	business_unit_id INTEGER REFERENCES organizations (id)
);
INSERT INTO affiliations_rebuilt SELECT * FROM affiliations;
DROP TABLE affiliations;
ALTER TABLE affiliations_rebuilt RENAME TO affiliations;
CREATE INDEX affiliations_person ON affiliations (person_id);
CREATE INDEX affiliations_organization ON affiliations (organization_id, id);
CREATE INDEX affiliations_unit ON affiliations (business_unit_id, id);

CREATE TABLE interactions_rebuilt (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	version INTEGER NOT NULL DEFAULT 1,
	owner_id INTEGER REFERENCES users (id),
	tags TEXT NOT NULL DEFAULT '[]',
	custom TEXT NOT NULL DEFAULT '{}',
	organization_id INTEGER REFERENCES organizations (id),
	kind TEXT NOT NULL,
	direction TEXT NOT NULL,
	channel TEXT,
	occurred_at TEXT NOT NULL,
	subject TEXT,
	body TEXT,
	language TEXT,
	person_ids TEXT NOT NULL DEFAULT '[]',
	user_ids TEXT NOT NULL DEFAULT '[]',
	thread_id INTEGER REFERENCES interactions (id),
	reply_to_id INTEGER REFERENCES interactions (id),
	business_unit_id INTEGER REFERENCES organizations (id)
);
INSERT INTO interactions_rebuilt SELECT * FROM interactions;
DROP TABLE interactions;
ALTER TABLE interactions_rebuilt RENAME TO interactions;
CREATE INDEX interactions_org_time ON interactions (organization_id, occurred_at, id);
CREATE INDEX interactions_time ON interactions (occurred_at, id);
CREATE INDEX interactions_kind ON interactions (kind, id);
CREATE INDEX interactions_thread ON interactions (thread_id);
CREATE INDEX interactions_reply ON interactions (reply_to_id);
CREATE INDEX interactions_unit ON interactions (business_unit_id, id);
CREATE TRIGGER interactions_fts_ai AFTER INSERT ON interactions BEGIN
	INSERT OR IGNORE INTO interactions_fts_queue (row_id, indexed) VALUES (new.id, 0);
END;
CREATE TRIGGER interactions_fts_ad AFTER DELETE ON interactions BEGIN
	INSERT OR IGNORE INTO interactions_fts_queue (row_id, indexed, subject, body) VALUES (old.id, 1, old.subject, old.body);
END;
CREATE TRIGGER interactions_fts_au AFTER UPDATE OF subject, body ON interactions BEGIN
	INSERT OR IGNORE INTO interactions_fts_queue (row_id, indexed, subject, body) VALUES (old.id, 1, old.subject, old.body);
END;

CREATE TABLE custom_fields_rebuilt (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	version INTEGER NOT NULL DEFAULT 1,
	owner_id INTEGER REFERENCES users (id),
	tags TEXT NOT NULL DEFAULT '[]',
	custom TEXT NOT NULL DEFAULT '{}',
	entity TEXT NOT NULL,
	name TEXT NOT NULL,
	type TEXT NOT NULL,
	label TEXT,
	options TEXT NOT NULL DEFAULT '[]',
	required INTEGER NOT NULL DEFAULT 0,
	max_length INTEGER,
	UNIQUE (entity, name)
);
INSERT INTO custom_fields_rebuilt SELECT * FROM custom_fields;
DROP TABLE custom_fields;
ALTER TABLE custom_fields_rebuilt RENAME TO custom_fields;

CREATE TABLE teams_rebuilt (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO teams_rebuilt SELECT * FROM teams;
DROP TABLE teams;
ALTER TABLE teams_rebuilt RENAME TO teams;
