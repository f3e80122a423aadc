-- rapport schema 5 for PostgreSQL: rapport_fts_doc takes a short way for
-- text that is all ASCII, which most of it is: lower() and punctuation to
-- spaces give the same words as ICU's folding, two normalizations and two
-- regular expressions (checked on every row of the benchmark set), at a
-- fraction of the cost of each insert and of each change to indexed text.
-- The stored search columns keep their values: the function answers the same.
DO $$
BEGIN
	IF EXISTS (SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu') THEN
		CREATE OR REPLACE FUNCTION rapport_fts_doc(t text) RETURNS text
			LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
			RETURN CASE WHEN t ~ '^[\x01-\x7f]*$'
				THEN translate(lower(t), '!"#$%&''()*+,-./:;<=>?@[\]^_`{|}~',
					'                                ')
				ELSE regexp_replace(rapport_fts_fold(t) COLLATE "und-x-icu",
					'[^[:alnum:]]+', ' ', 'g')
				END;
	END IF;
END
$$;
