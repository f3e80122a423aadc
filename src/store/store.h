/*
 * The one storage interface. Code above this header never names a backend:
 * it prepares SQL with '?' placeholders (a backend rewrites them if it must),
 * binds parameters, steps rows and hands writes to store_write*.
 *
 * Reads: store_acquire() gives a connection for reading (SQLite: one per
 * thread, WAL readers never wait for the writer); store_release() gives it
 * back. Statements are cached per connection by their SQL text, so preparing
 * the same text twice is cheap; store_done() returns one to the cache.
 *
 * Writes: a job is a function run inside a write transaction. Jobs from many
 * threads are committed together (group commit): each job runs in its own
 * savepoint, so a job that fails is undone alone, and every job of a batch
 * learns the outcome only after the batch is durable.
 */
#ifndef RAPPORT_STORE_H
#define RAPPORT_STORE_H

#include <stddef.h>
#include <stdint.h>

struct store;
struct store_conn;
struct store_stmt;

enum store_rc {
	STORE_OK = 0,
	STORE_ROW,		/* store_step: a row is ready */
	STORE_DONE,		/* store_step: no more rows */
	STORE_CONSTRAINT,	/* unique, foreign key, check or not-null failed */
	STORE_BUSY,		/* a lock could not be had in time */
	STORE_UNAVAILABLE,	/* the database cannot be reached */
	STORE_ERROR,		/* anything else; store_errmsg() says what */
	STORE_ABORT,		/* a job's own refusal: undo it, not an error of the store */
};

/*
 * Opens the store named by url: "sqlite:PATH" or a bare PATH (SQLite), or
 * "postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?pool=N]" ("postgresql://" too;
 * "postgres:" alone takes the PG* environment variables). Does not migrate.
 * On failure returns -1 and writes the reason into why.
 */
int store_open(const char *url, struct store **out, char *why, size_t whylen);
/* Applies pending migrations in order; *applied counts them. 0 or -1 + why. */
int store_migrate(struct store *s, int *applied, char *why, size_t whylen);
/* Waits for queued writes, stops the writer, closes every connection. */
void store_close(struct store *s);
/* "sqlite" or "postgres": for logs and /healthz only. */
const char *store_backend(const struct store *s);
/*
 * Request threads to run beyond one per core: a store whose reads wait on
 * a network round trip keeps a core busy only with more threads than cores.
 */
int store_extra_threads(const struct store *s);

/*
 * A connection for reads; NULL if the store is unreachable. Reads through it
 * see every write this process committed before the call; a backend may let
 * a write committed by another process go unseen for a few milliseconds,
 * unless store_refresh() asks for the newest state. Calls may nest on one
 * thread; each store_acquire() needs its store_release().
 */
struct store_conn *store_acquire(struct store *s);
void store_release(struct store_conn *c);
void store_refresh(struct store_conn *c);

/* Prepares (or finds in the cache) sql on c; NULL on error (store_errmsg). */
struct store_stmt *store_prepare(struct store_conn *c, const char *sql);
/* Parameters are numbered from 1. Text is copied. */
int store_bind_int(struct store_stmt *st, int idx, int64_t v);
int store_bind_double(struct store_stmt *st, int idx, double v);
int store_bind_text(struct store_stmt *st, int idx, const char *s, size_t len);
int store_bind_null(struct store_stmt *st, int idx);
/* STORE_ROW, STORE_DONE, or an error code. */
int store_step(struct store_stmt *st);
/* Columns are numbered from 0; text stays valid until the next step or done. */
int store_col_null(struct store_stmt *st, int col);
int64_t store_col_int(struct store_stmt *st, int col);
double store_col_double(struct store_stmt *st, int col);
const char *store_col_text(struct store_stmt *st, int col, size_t *len);
/* Resets the statement, clears its bindings and returns it to the cache. */
void store_done(struct store_stmt *st);

/*
 * A read handed over rather than waited for. store_read_prepare() gives a
 * statement that belongs to no connection the caller holds: bind its
 * parameters, then give it to store_read_async() (always: that also gives
 * back what the prepare took). done(arg, rows, rc) is then called once, with
 * rc STORE_OK and rows to step through as usual, or an error and no rows;
 * the engine frees rows when done returns (no store_done). The read sees
 * what a store_acquire() at the time of the call would see. NULL from the
 * prepare: the store is unreachable, or the SQL is wrong (the engine logs
 * why).
 *
 * Where store_defers_reads() says 1, done runs later on an engine thread,
 * which sends the reads waiting at the time together in one round trip: the
 * caller must be ready for done before it calls store_read_async. Where it
 * says 0, done runs before store_read_async returns, on the caller's thread.
 */
typedef void (*store_read_fn)(void *arg, struct store_stmt *rows, int rc);
struct store_stmt *store_read_prepare(struct store *s, const char *sql);
void store_read_async(struct store_stmt *st, store_read_fn done, void *arg);
int store_defers_reads(const struct store *s);

/*
 * Runs st, a write whose rows nobody reads, and gives it back (no store_done
 * after it). In a write job an engine may send it later, with the job's next
 * statement or at its transaction's end, to save a round trip: should it
 * fail then, the job fails, and so may the other jobs of its transaction
 * (none keeps half its work). Returns STORE_OK or the error known now.
 * store_changes() does not count it.
 */
int store_run_later(struct store_stmt *st);

/* Rows changed by the last INSERT/UPDATE/DELETE on c. */
int64_t store_changes(struct store_conn *c);
const char *store_errmsg(struct store_conn *c);
/* Runs SQL that takes no parameters and returns no rows (DDL). */
int store_exec(struct store_conn *c, const char *sql);

/*
 * In a write job: a number that stays the same for every job of one write
 * transaction and differs between transactions (never 0). What a job read
 * may be kept for the other jobs of the same transaction, as long as no job
 * changed it: no other writer commits in between. Outside a job: 0.
 */
uint64_t store_txn_seq(void);

/* A write job: return STORE_OK to keep its changes, anything else to undo them. */
typedef int (*store_job_fn)(struct store_conn *c, void *arg);
/* Runs fn in the group-commit writer and waits until it is durable.
 * Returns fn's result, or STORE_ERROR/STORE_UNAVAILABLE if the commit failed. */
int store_write(struct store *s, store_job_fn fn, void *arg);
/* The same without waiting: done(arg, rc) is called from the writer thread
 * once the batch holding the job has committed (or failed). */
void store_write_async(struct store *s, store_job_fn fn, void *arg,
		       void (*done)(void *arg, int rc));
/*
 * A job that only adds rows and reads: no UPDATE or DELETE, no rule checked
 * across records beyond reading the ones it references, no lock of its own
 * (store_lock). An engine with several writers may run such jobs in
 * transactions side by side with each other (never beside other jobs,
 * which still run one transaction at a time, across processes too).
 */
#define STORE_JOB_SIDE_BY_SIDE 1u
/* store_write_async with flags (STORE_JOB_*). */
void store_write_async_flags(struct store *s, store_job_fn fn, void *arg, unsigned flags,
			     void (*done)(void *arg, int rc));

/*
 * Appends " FROM <table> t WHERE <cond>" to sql: cond is a full-text match of
 * one bound text parameter when fts is set, else always true. Returns the
 * expression to order and page by record id with: a backend may answer with
 * its full-text index's own order, so that a search stops at the page's end.
 */
struct buf;
const char *store_sql_from(const struct store *s, struct buf *sql, const char *table, int fts);
/*
 * In a write job, after rows were inserted with their ids given (a copy):
 * makes the next generated id of table follow the largest one there. 0 or
 * a store_rc error.
 */
int store_reset_ids(struct store_conn *c, const char *table);

/* A word of a full-text query: letters and digits (any byte >= 0x80 counts as a letter). */
struct store_word {
	const char *p;
	size_t len;
};
/*
 * The text to bind to the match of store_sql_from(): every word must occur;
 * with prefix set, the last word may also be the start of a longer one.
 * Returns a malloc'd string.
 */
char *store_fts_param(const struct store *s, const struct store_word *words, int n, int prefix);
/*
 * In a write job: waits until no other transaction holds key, and holds it
 * until this job's transaction ends. Serialises work on one key (a retried
 * Idempotency-Key) across processes. 0, or a store_rc error.
 */
int store_lock(struct store_conn *c, const char *key);

/* Tag test: appends a condition that JSON array column `col` holds the bound
 * text parameter (one '?'). */
void store_sql_has_tag(const struct store *s, struct buf *sql, const char *col);

#endif
