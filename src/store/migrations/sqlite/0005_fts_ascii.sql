-- rapport schema 5: nothing to do in SQLite. Its PostgreSQL twin gives the
-- function that prepares indexed text a short way for plain ASCII; FTS5's
-- unicode61 tokenizer needs no such help. The file keeps the numbers shared.
SELECT 1;
