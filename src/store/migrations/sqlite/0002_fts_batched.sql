-- rapport schema 2: the full-text indexes are brought up to date once per
-- write batch instead of once per row. An FTS5 index writes a new segment
-- whenever a statement or savepoint that changed it ends, and the writer runs
-- every request in a savepoint of its own, so per-row triggers cost a segment
-- (and later merges) per request. Now the row triggers only note which rows
-- changed, with the indexed values they had before the batch, and the
-- statements in store_batch_sql, run by the store's writer just before each
-- commit, apply the net change in a few set-wise statements.

-- SQL the store runs, in id order, at the end of every write batch. The
-- queue is the small side of each join: CROSS JOIN keeps it the outer loop
-- whatever the statistics say.
CREATE TABLE store_batch_sql (
	id INTEGER PRIMARY KEY,
	sql TEXT NOT NULL
);

DROP TRIGGER organizations_fts_ai;
DROP TRIGGER organizations_fts_ad;
DROP TRIGGER organizations_fts_au;
-- rows of organizations changed in this batch; indexed = 1 with the values the index
-- holds for a row that existed before the batch
CREATE TABLE organizations_fts_queue (
	row_id INTEGER PRIMARY KEY,
	indexed INTEGER NOT NULL,
	name TEXT, email TEXT, website TEXT, industry TEXT, city TEXT
);
CREATE TRIGGER organizations_fts_ai AFTER INSERT ON organizations BEGIN
	INSERT OR IGNORE INTO organizations_fts_queue (row_id, indexed) VALUES (new.id, 0);
END;
CREATE TRIGGER organizations_fts_ad AFTER DELETE ON organizations BEGIN
	INSERT OR IGNORE INTO organizations_fts_queue (row_id, indexed, name, email, website, industry, city) VALUES (old.id, 1, old.name, old.email, old.website, old.industry, old.city);
END;
CREATE TRIGGER organizations_fts_au AFTER UPDATE OF name, email, website, industry, city ON organizations BEGIN
	INSERT OR IGNORE INTO organizations_fts_queue (row_id, indexed, name, email, website, industry, city) VALUES (old.id, 1, old.name, old.email, old.website, old.industry, old.city);
END;
INSERT INTO store_batch_sql (id, sql) VALUES
	(1, 'INSERT INTO organizations_fts (organizations_fts, rowid, name, email, website, industry, city) SELECT ''delete'', row_id, name, email, website, industry, city FROM organizations_fts_queue WHERE indexed = 1'),
	(2, 'INSERT INTO organizations_fts (rowid, name, email, website, industry, city) SELECT t.id, t.name, t.email, t.website, t.industry, t.city FROM organizations_fts_queue q CROSS JOIN organizations t ON t.id = q.row_id'),
	(3, 'DELETE FROM organizations_fts_queue');

DROP TRIGGER people_fts_ai;
DROP TRIGGER people_fts_ad;
DROP TRIGGER people_fts_au;
-- rows of people changed in this batch; indexed = 1 with the values the index
-- holds for a row that existed before the batch
CREATE TABLE people_fts_queue (
	row_id INTEGER PRIMARY KEY,
	indexed INTEGER NOT NULL,
	given_name TEXT, family_name TEXT, emails TEXT
);
CREATE TRIGGER people_fts_ai AFTER INSERT ON people BEGIN
	INSERT OR IGNORE INTO people_fts_queue (row_id, indexed) VALUES (new.id, 0);
END;
CREATE TRIGGER people_fts_ad AFTER DELETE ON people BEGIN
	INSERT OR IGNORE INTO people_fts_queue (row_id, indexed, given_name, family_name, emails) VALUES (old.id, 1, old.given_name, old.family_name, old.emails);
END;
CREATE TRIGGER people_fts_au AFTER UPDATE OF given_name, family_name, emails ON people BEGIN
	INSERT OR IGNORE INTO people_fts_queue (row_id, indexed, given_name, family_name, emails) VALUES (old.id, 1, old.given_name, old.family_name, old.emails);
END;
INSERT INTO store_batch_sql (id, sql) VALUES
	(4, 'INSERT INTO people_fts (people_fts, rowid, given_name, family_name, emails) SELECT ''delete'', row_id, given_name, family_name, emails FROM people_fts_queue WHERE indexed = 1'),
	(5, 'INSERT INTO people_fts (rowid, given_name, family_name, emails) SELECT t.id, t.given_name, t.family_name, t.emails FROM people_fts_queue q CROSS JOIN people t ON t.id = q.row_id'),
	(6, 'DELETE FROM people_fts_queue');

DROP TRIGGER interactions_fts_ai;
DROP TRIGGER interactions_fts_ad;
DROP TRIGGER interactions_fts_au;
-- rows of interactions changed in this batch; indexed = 1 with the values the index
-- holds for a row that existed before the batch
CREATE TABLE interactions_fts_queue (
	row_id INTEGER PRIMARY KEY,
	indexed INTEGER NOT NULL,
	subject TEXT, body TEXT
);
CREATE TRIGGER interactions_fts_ai AFTER INSERT ON interactions BEGIN
	INSERT OR IGNORE INTO interactions_fts_queue (row_id, indexed) VALUES (new.id, 0);
END;
CREATE TRIGGER interactions_fts_ad AFTER DELETE ON interactions BEGIN
	INSERT OR IGNORE INTO interactions_fts_queue (row_id, indexed, subject, body) VALUES (old.id, 1, old.subject, old.body);
END;
CREATE TRIGGER interactions_fts_au AFTER UPDATE OF subject, body ON interactions BEGIN
	INSERT OR IGNORE INTO interactions_fts_queue (row_id, indexed, subject, body) VALUES (old.id, 1, old.subject, old.body);
END;
INSERT INTO store_batch_sql (id, sql) VALUES
	(7, 'INSERT INTO interactions_fts (interactions_fts, rowid, subject, body) SELECT ''delete'', row_id, subject, body FROM interactions_fts_queue WHERE indexed = 1'),
	(8, 'INSERT INTO interactions_fts (rowid, subject, body) SELECT t.id, t.subject, t.body FROM interactions_fts_queue q CROSS JOIN interactions t ON t.id = q.row_id'),
	(9, 'DELETE FROM interactions_fts_queue');
