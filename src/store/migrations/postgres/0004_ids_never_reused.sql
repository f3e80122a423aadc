-- rapport schema 4 for PostgreSQL: nothing to do. The SQLite twin rebuilds
-- its tables with AUTOINCREMENT so that a deleted record's id is never given
-- to another; identities here never go back already. The file exists so that
-- both engines share their migration numbers.
SELECT 1;
