-- rapport schema 1: users, credentials, idempotency, the first four record
-- kinds, custom fields, and their full-text indexes. Never edit once landed;
-- add a new numbered file instead.

CREATE TABLE settings (
	key TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

CREATE TABLE users (
	id INTEGER PRIMARY KEY,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	version INTEGER NOT NULL DEFAULT 1,
	email TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	role TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'client_rm', 'business_rm', 'viewer')),
	disabled INTEGER NOT NULL DEFAULT 0
);

-- Session and API tokens; only a hash of each is stored.
CREATE TABLE tokens (
	id INTEGER PRIMARY KEY,
	user_id INTEGER NOT NULL REFERENCES users (id),
	kind TEXT NOT NULL CHECK (kind IN ('session', 'api')),
	name TEXT,
	hash TEXT NOT NULL UNIQUE,
	created_at TEXT NOT NULL,
	expires_at TEXT,
	revoked_at TEXT
);
CREATE INDEX tokens_user ON tokens (user_id);

-- The first answer to a POST carrying an Idempotency-Key.
CREATE TABLE idempotency (
	user_id INTEGER NOT NULL,
	key TEXT NOT NULL,
	request_hash TEXT NOT NULL,
	status INTEGER NOT NULL,
	location TEXT,
	body TEXT NOT NULL,
	created_at TEXT NOT NULL,
	PRIMARY KEY (user_id, key)
);

-- Every record table starts with the same seven columns.
CREATE TABLE organizations (
	id INTEGER PRIMARY KEY,
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
	notes TEXT
);
CREATE INDEX organizations_kind ON organizations (kind, id);
CREATE INDEX organizations_parent ON organizations (parent_id);
CREATE INDEX organizations_name ON organizations (name, id);

CREATE TABLE people (
	id INTEGER PRIMARY KEY,
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
	notes TEXT
);
CREATE INDEX people_family_name ON people (family_name, id);

CREATE TABLE affiliations (
	id INTEGER PRIMARY KEY,
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
	ended_on TEXT
);
CREATE INDEX affiliations_person ON affiliations (person_id);
CREATE INDEX affiliations_organization ON affiliations (organization_id, id);

CREATE TABLE interactions (
	id INTEGER PRIMARY KEY,
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
	reply_to_id INTEGER REFERENCES interactions (id)
);
CREATE INDEX interactions_org_time ON interactions (organization_id, occurred_at, id);
CREATE INDEX interactions_time ON interactions (occurred_at, id);
CREATE INDEX interactions_kind ON interactions (kind, id);
CREATE INDEX interactions_thread ON interactions (thread_id);
CREATE INDEX interactions_reply ON interactions (reply_to_id);

CREATE TABLE custom_fields (
	id INTEGER PRIMARY KEY,
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

-- Full-text indexes over names, emails, subjects and bodies, kept in step
-- with their tables by triggers.
CREATE VIRTUAL TABLE organizations_fts USING fts5 (
	name, email, website, industry, city,
	content = 'organizations', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2');
CREATE TRIGGER organizations_fts_ai AFTER INSERT ON organizations BEGIN
	INSERT INTO organizations_fts (rowid, name, email, website, industry, city)
	VALUES (new.id, new.name, new.email, new.website, new.industry, new.city);
END;
CREATE TRIGGER organizations_fts_ad AFTER DELETE ON organizations BEGIN
	INSERT INTO organizations_fts (organizations_fts, rowid, name, email, website, industry, city)
	VALUES ('delete', old.id, old.name, old.email, old.website, old.industry, old.city);
END;
CREATE TRIGGER organizations_fts_au AFTER UPDATE OF name, email, website, industry, city ON organizations BEGIN
	INSERT INTO organizations_fts (organizations_fts, rowid, name, email, website, industry, city)
	VALUES ('delete', old.id, old.name, old.email, old.website, old.industry, old.city);
	INSERT INTO organizations_fts (rowid, name, email, website, industry, city)
	VALUES (new.id, new.name, new.email, new.website, new.industry, new.city);
END;

CREATE VIRTUAL TABLE people_fts USING fts5 (
	given_name, family_name, emails,
	content = 'people', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2');
CREATE TRIGGER people_fts_ai AFTER INSERT ON people BEGIN
	INSERT INTO people_fts (rowid, given_name, family_name, emails)
	VALUES (new.id, new.given_name, new.family_name, new.emails);
END;
CREATE TRIGGER people_fts_ad AFTER DELETE ON people BEGIN
	INSERT INTO people_fts (people_fts, rowid, given_name, family_name, emails)
	VALUES ('delete', old.id, old.given_name, old.family_name, old.emails);
END;
CREATE TRIGGER people_fts_au AFTER UPDATE OF given_name, family_name, emails ON people BEGIN
	INSERT INTO people_fts (people_fts, rowid, given_name, family_name, emails)
	VALUES ('delete', old.id, old.given_name, old.family_name, old.emails);
	INSERT INTO people_fts (rowid, given_name, family_name, emails)
	VALUES (new.id, new.given_name, new.family_name, new.emails);
END;

CREATE VIRTUAL TABLE interactions_fts USING fts5 (
	subject, body,
	content = 'interactions', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2');
CREATE TRIGGER interactions_fts_ai AFTER INSERT ON interactions BEGIN
	INSERT INTO interactions_fts (rowid, subject, body) VALUES (new.id, new.subject, new.body);
END;
CREATE TRIGGER interactions_fts_ad AFTER DELETE ON interactions BEGIN
	INSERT INTO interactions_fts (interactions_fts, rowid, subject, body)
	VALUES ('delete', old.id, old.subject, old.body);
END;
CREATE TRIGGER interactions_fts_au AFTER UPDATE OF subject, body ON interactions BEGIN
	INSERT INTO interactions_fts (interactions_fts, rowid, subject, body)
	VALUES ('delete', old.id, old.subject, old.body);
	INSERT INTO interactions_fts (rowid, subject, body) VALUES (new.id, new.subject, new.body);
END;
