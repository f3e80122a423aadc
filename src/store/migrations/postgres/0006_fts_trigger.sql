-- rapport schema 6 for PostgreSQL: the search columns of organizations,
-- people and interactions are filled by a trigger instead of being generated.
-- A generated column's expression is read back from the catalog and planned
-- again for every INSERT, and rapport_fts_doc, an SQL function that cannot be
-- inlined, is set up again for each row: together about a seventh of all the
-- CPU a create costs. The trigger is PL/pgSQL, compiled once per session, and
-- prepares all-ASCII text itself with one regular expression, which maps the
-- same characters to spaces as translate() in rapport_fts_doc, at a twentieth
-- of its cost. Other text still goes through rapport_fts_doc. The trigger
-- fires when a row is inserted and when an update names an indexed column.
--
-- Case. Indexed words must be lowercased as rapport_fts_query lowercases
-- what is searched for: with ICU by ICU's root rules ("I" is "i" in any
-- database), without ICU by the database's own collation (in a Turkish one
-- "I" is "ı", on both sides). Schema 5's short way lowercased by the
-- database's collation in both cases; with ICU in a database whose collation
-- lowercases "I" otherwise, its words could not be found, so there
-- rapport_fts_doc now lowercases ASCII letter by letter (ICU's root rules
-- for ASCII), and the search columns are filled again. Everywhere else the stored values
-- are kept: the words are the same.
--
-- The trigger names rapport_fts_doc with the schema it is in, as the
-- generated columns did, so that it works whatever a session's search_path.
DO $do$
DECLARE
	icu boolean := EXISTS (SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu');
BEGIN
	IF icu THEN
		CREATE OR REPLACE FUNCTION rapport_fts_doc(t text) RETURNS text
			LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
			RETURN CASE WHEN t ~ '^[\x01-\x7f]*$'
				THEN translate(t, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ!"#$%&''()*+,-./:;<=>?@[\]^_`{|}~',
					'abcdefghijklmnopqrstuvwxyz                                ')
				ELSE regexp_replace(rapport_fts_fold(t) COLLATE "und-x-icu",
					'[^[:alnum:]]+', ' ', 'g')
				END;
	END IF;
	EXECUTE format($fn$
		CREATE FUNCTION rapport_fts_fill() RETURNS trigger LANGUAGE plpgsql AS $body$
		DECLARE
			t text %s;
		BEGIN
			CASE TG_TABLE_NAME
			WHEN 'interactions' THEN
				t := coalesce(NEW.subject, '') || ' ' || coalesce(NEW.body, '');
			WHEN 'people' THEN
				t := coalesce(NEW.given_name, '') || ' ' || coalesce(NEW.family_name, '') ||
					' ' || coalesce(NEW.emails, '');
			WHEN 'organizations' THEN
				t := coalesce(NEW.name, '') || ' ' || coalesce(NEW.email, '') || ' ' ||
					coalesce(NEW.website, '') || ' ' || coalesce(NEW.industry, '') || ' ' ||
					coalesce(NEW.city, '');
			END CASE;
			IF t ~ '^[\x01-\x7f]*$' THEN
				NEW.search := to_tsvector('simple',
					regexp_replace(lower(t), '[!-/:-@[-`{-~]', ' ', 'g'));
			ELSE
				NEW.search := to_tsvector('simple', %I.rapport_fts_doc(t));
			END IF;
			RETURN NEW;
		END
		$body$
	$fn$, CASE WHEN icu THEN 'COLLATE "C"' ELSE '' END, current_schema());
END
$do$;

ALTER TABLE organizations ALTER COLUMN search DROP EXPRESSION;
ALTER TABLE people ALTER COLUMN search DROP EXPRESSION;
ALTER TABLE interactions ALTER COLUMN search DROP EXPRESSION;

CREATE TRIGGER organizations_search BEFORE INSERT OR UPDATE OF name, email, website, industry, city
	ON organizations FOR EACH ROW EXECUTE FUNCTION rapport_fts_fill();
CREATE TRIGGER people_search BEFORE INSERT OR UPDATE OF given_name, family_name, emails
	ON people FOR EACH ROW EXECUTE FUNCTION rapport_fts_fill();
CREATE TRIGGER interactions_search BEFORE INSERT OR UPDATE OF subject, body
	ON interactions FOR EACH ROW EXECUTE FUNCTION rapport_fts_fill();

-- with ICU, where the database lowercases ASCII otherwise: the words again
DO $do$
BEGIN
	IF EXISTS (SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu') AND
	   lower('ABCDEFGHIJKLMNOPQRSTUVWXYZ') <> 'abcdefghijklmnopqrstuvwxyz' THEN
		UPDATE organizations SET name = name;
		UPDATE people SET given_name = given_name;
		UPDATE interactions SET subject = subject;
	END IF;
END
$do$;
