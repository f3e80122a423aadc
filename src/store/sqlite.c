/*
 * The SQLite engine behind store.h.
 *
 * Connections. Each reading thread gets its own connection (a pthread key per
 * store), opened on first use; when the thread exits its connection goes to
 * an idle list for the next thread, so a churning thread pool does not pile
 * up connections. Readers are query_only: in WAL mode they read a snapshot
 * and never wait for the writer, and a write slipped onto one fails at once
 * instead of fighting the writer for the lock. Page caches are small (a few
 * MB per connection) and mmap is off, so a ~300 MB database keeps the whole
 * server near 64 MB resident; the OS page cache does the rest.
 *
 * Statements are cached per connection by SQL text (stmtcache.h); evicted
 * ones are finalized. A statement is lent out between store_prepare and
 * store_done; preparing text whose cached statement is already lent (a nested
 * query) gives an uncached statement, finalized by store_done.
 *
 * Writes. One thread owns the only write connection. Jobs are queued
 * (jobs.c, shared with the PostgreSQL store) and the writer runs up to
 * SQ_BATCH_MAX at a time:
 * BEGIN IMMEDIATE, each job inside its own SAVEPOINT (released if it returns
 * STORE_OK, rolled back alone otherwise), one COMMIT at synchronous=FULL, and
 * only then does any job of the batch learn its result. One fsync is shared
 * by the whole batch, which is what lets many durable writes per second
 * through a disk that can do only a few thousand fsyncs.
 *
 * Jobs and done callbacks run on the writer thread: they must not call
 * store_write (that would wait for itself; it fails with STORE_ERROR
 * instead; store_write_async is fine) and a job cannot BEGIN,
 * COMMIT, ROLLBACK or touch the job savepoint (an authorizer refuses them).
 * If SQLite itself abandons the transaction mid-batch (I/O error, disk full,
 * INSERT OR ROLLBACK), the jobs already run in it lost their work and get
 * STORE_ERROR; the rest of the batch goes on in a new transaction.
 *
 * Migrations run on a connection of their own with foreign keys off, each in
 * its own transaction followed by PRAGMA foreign_key_check, which is SQLite's
 * documented way to rebuild tables.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/limits.h"
#include "lib/log.h"
#include "lib/util.h"
#include "store/walbuf.h"
#include "store/backend.h"
#include "store/jobs.h"
#include "store/stmtcache.h"

#define SQ_BUSY_MS		5000
#define SQ_READER_CACHE_KIB	2048
#define SQ_WRITER_CACHE_KIB	4096
#define SQ_WAL_LIMIT_BYTES	(64 * 1024 * 1024)	/* WAL file kept after checkpoints */
#define SQ_BATCH_MAX		512			/* jobs per transaction */
#define SQ_SAVEPOINT		"rapport_job"
#define SQ_CKPT_FRAMES		1000	/* WAL pages that start a checkpoint (SQLite's default) */

enum sq_role { SQ_READER, SQ_WRITER, SQ_MIGRATOR };

struct sq_conn;

struct sq_stmt {
	struct store_stmt base;
	struct cached_stmt cache;
	sqlite3_stmt *st;
	struct sq_conn *conn;
	int bind_failed;	/* since the last reset: a read handed over fails */
};

struct sq_conn {
	struct store_conn base;
	sqlite3 *db;
	struct sq_store *store;
	struct stmt_cache stmts;
	int own_err;				/* err[] describes the last failure */
	char err[160];
	struct sq_conn *next_all, *next_idle;

	/* readers: a snapshot kept across requests (see reader_fresh) */
	int is_reader;
	int depth;				/* nested store_acquire on its thread */
	int reading;				/* a read transaction is open */
	uint64_t read_gen;			/* s->commits when it began */
	int64_t read_since_us;
	sqlite3_stmt *rbegin, *rend;
	pthread_mutex_t use;			/* held from acquire to release */
};

struct sq_store {
	struct store base;
	char *path;

	pthread_key_t reader_key;
	int have_key;
	pthread_mutex_t conns_lock;
	struct sq_conn *readers;	/* every reader, for store_close */
	struct sq_conn *idle;		/* readers whose thread has exited */

	struct sq_conn *wconn;
	sqlite3_stmt *begin, *commit, *rollback, *savepoint, *release, *rollback_to;
	int in_job;			/* writer thread only: the authorizer's switch */
	sqlite3_stmt **batch_sql;	/* writer thread only: store_batch_sql, prepared */
	int nbatch_sql;
	atomic_int batch_sql_stale;	/* set by migrations: prepare them again */
	atomic_uint_fast64_t commits;	/* batches this process committed */

	struct jobq jobs;		/* one writer thread */

	/* the checkpointer: copies the WAL into the database off the commit path */
	pthread_t ckpt_thread;
	int ckpt_started;
	pthread_mutex_t ckpt_lock;
	pthread_cond_t ckpt_cond;
	int ckpt_stop;			/* under ckpt_lock */
	int wal_frames;			/* under ckpt_lock: the WAL's length after a commit */
	sqlite3 *ckpt_db;
};

static const struct store_ops sq_ops;

static int sq_map(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
		return STORE_OK;
	case SQLITE_ROW:
		return STORE_ROW;
	case SQLITE_DONE:
		return STORE_DONE;
	case SQLITE_CONSTRAINT:
		return STORE_CONSTRAINT;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return STORE_BUSY;
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
		return STORE_UNAVAILABLE;
	default:
		return STORE_ERROR;
	}
}

/* A failed commit fails every job of the batch; only I/O is "unavailable". */
static int sq_commit_failure(int rc)
{
	return sq_map(rc) == STORE_UNAVAILABLE ? STORE_UNAVAILABLE : STORE_ERROR;
}

static void sq_set_err(struct sq_conn *c, const char *msg)
{
	snprintf(c->err, sizeof c->err, "%s", msg);
	c->own_err = 1;
}

/* sqlite3_errmsg, plus the OS reason when there is one. */
static void sq_db_reason(sqlite3 *db, char *out, size_t n)
{
	int sys = db ? sqlite3_system_errno(db) : 0;

	if (!db)
		snprintf(out, n, "out of memory");
	else if (sys)
		snprintf(out, n, "%s (%s)", sqlite3_errmsg(db), strerror(sys));
	else
		snprintf(out, n, "%s", sqlite3_errmsg(db));
}

/* --- statements ------------------------------------------------------- */

static void stmt_free(struct cached_stmt *cs)
{
	struct sq_stmt *st = stmt_of(struct sq_stmt, cache, cs);

	sqlite3_finalize(st->st);
	free(cs->sql);
	free(st);
}

static void stmt_reset(struct cached_stmt *cs)
{
	struct sq_stmt *st = stmt_of(struct sq_stmt, cache, cs);

	sqlite3_reset(st->st);
	sqlite3_clear_bindings(st->st);
	st->bind_failed = 0;
}

static struct store_stmt *sq_prepare(struct store_conn *cb, const char *sql)
{
	struct sq_conn *c = (struct sq_conn *)cb;
	struct cached_stmt *cs = NULL;
	struct sq_stmt *st;
	sqlite3_stmt *raw = NULL;
	const char *tail;
	uint64_t h;
	size_t len;
	int rc, cache;

	if ((cs = stmt_cache_lend(&c->stmts, sql, &h, &len, &cache)))
		return &stmt_of(struct sq_stmt, cache, cs)->base;
	if (len >= (size_t)INT32_MAX) {
		sq_set_err(c, "SQL text too long");
		return NULL;
	}
	rc = sqlite3_prepare_v3(c->db, sql, (int)len + 1, cache ? SQLITE_PREPARE_PERSISTENT : 0,
				&raw, &tail);
	if (rc != SQLITE_OK) {
		c->own_err = 0;
		return NULL;
	}
	if (!raw) {
		sq_set_err(c, "empty SQL statement");
		return NULL;
	}
	/* SQLite would silently ignore a second statement; say so instead. */
	while (*tail == ' ' || *tail == '\t' || *tail == '\n' || *tail == '\r' || *tail == ';')
		tail++;
	if (*tail) {
		sqlite3_finalize(raw);
		sq_set_err(c, "more than one SQL statement given to store_prepare");
		return NULL;
	}
	st = xcalloc(1, sizeof *st);
	st->base.ops = &sq_ops;
	st->st = raw;
	st->conn = c;
	stmt_cache_keep(&c->stmts, &st->cache, sql, len, h, cache && stmt_cache_room(&c->stmts));
	return &st->base;
}

static void sq_done(struct store_stmt *sb)
{
	struct sq_stmt *st = (struct sq_stmt *)sb;
	struct sq_conn *c = st->conn;

	stmt_reset(&st->cache);
	stmt_cache_return(&c->stmts, &st->cache);
}

static struct store_conn *sq_acquire(struct store *sb);
static void sq_release(struct store_conn *cb);
static const char *sq_errmsg(struct store_conn *cb);

/* store_read_prepare: a statement on this thread's reader, which needs no
 * round trip, so store_read_async runs it at once. */
static struct store_stmt *sq_read_prepare(struct store *sb, const char *sql)
{
	struct store_conn *c = sq_acquire(sb);
	struct store_stmt *st;

	if (!c)
		return NULL;
	if (!(st = sq_prepare(c, sql))) {
		log_msg(LOG_ERROR, "store: %s", sq_errmsg(c));
		sq_release(c);
	}
	return st;
}

static void sq_read_async(struct store_stmt *sb, store_read_fn done, void *arg)
{
	struct sq_stmt *st = (struct sq_stmt *)sb;
	struct sq_conn *c = st->conn;

	if (st->bind_failed)
		log_msg(LOG_ERROR, "store: a read handed over: %s", sq_errmsg(&c->base));
	done(arg, sb, st->bind_failed ? STORE_ERROR : STORE_OK);
	sq_done(sb);
	sq_release(&c->base);
}

/* Takes back statements a caller forgot to hand back, so that their open
 * read or write does not hold up a commit or a checkpoint. */
static void conn_reclaim(struct sq_conn *c)
{
	stmt_cache_reclaim(&c->stmts, stmt_reset);
}

static int bind_rc(struct sq_stmt *st, int rc)
{
	if (rc == SQLITE_OK)
		return STORE_OK;
	st->bind_failed = 1;
	st->conn->own_err = 0;
	return sq_map(rc);
}

static int sq_bind_int(struct store_stmt *sb, int idx, int64_t v)
{
	struct sq_stmt *st = (struct sq_stmt *)sb;

	return bind_rc(st, sqlite3_bind_int64(st->st, idx, v));
}

static int sq_bind_double(struct store_stmt *sb, int idx, double v)
{
	struct sq_stmt *st = (struct sq_stmt *)sb;

	return bind_rc(st, sqlite3_bind_double(st->st, idx, v));
}

static int sq_bind_text(struct store_stmt *sb, int idx, const char *s, size_t len)
{
	struct sq_stmt *st = (struct sq_stmt *)sb;

	if (len > (size_t)INT32_MAX) {
		sq_set_err(st->conn, "text parameter too long");
		st->bind_failed = 1;
		return STORE_ERROR;
	}
	/* A NULL pointer would bind SQL NULL; the caller asked for text. */
	return bind_rc(st, sqlite3_bind_text(st->st, idx, s ? s : "", (int)len,
					     SQLITE_TRANSIENT));
}

static int sq_bind_null(struct store_stmt *sb, int idx)
{
	struct sq_stmt *st = (struct sq_stmt *)sb;

	return bind_rc(st, sqlite3_bind_null(st->st, idx));
}

static int sq_step(struct store_stmt *sb)
{
	struct sq_stmt *st = (struct sq_stmt *)sb;
	int rc = sqlite3_step(st->st);

	if (rc == SQLITE_ROW)
		return STORE_ROW;
	if (rc == SQLITE_DONE)
		return STORE_DONE;
	st->conn->own_err = 0;
	return sq_map(rc);
}

static int sq_col_null(struct store_stmt *sb, int col)
{
	return sqlite3_column_type(((struct sq_stmt *)sb)->st, col) == SQLITE_NULL;
}

static int64_t sq_col_int(struct store_stmt *sb, int col)
{
	return sqlite3_column_int64(((struct sq_stmt *)sb)->st, col);
}

static double sq_col_double(struct store_stmt *sb, int col)
{
	return sqlite3_column_double(((struct sq_stmt *)sb)->st, col);
}

/* NULL (and *len 0) for SQL NULL. */
static const char *sq_col_text(struct store_stmt *sb, int col, size_t *len)
{
	sqlite3_stmt *st = ((struct sq_stmt *)sb)->st;
	const unsigned char *t = sqlite3_column_text(st, col);

	if (len)
		*len = t ? (size_t)sqlite3_column_bytes(st, col) : 0;
	return (const char *)t;
}

/* --- connections -------------------------------------------------------- */

static int64_t sq_changes(struct store_conn *cb)
{
	return sqlite3_changes64(((struct sq_conn *)cb)->db);
}

static const char *sq_errmsg(struct store_conn *cb)
{
	struct sq_conn *c = (struct sq_conn *)cb;

	return c->own_err ? c->err : sqlite3_errmsg(c->db);
}

static int sq_exec(struct store_conn *cb, const char *sql)
{
	struct sq_conn *c = (struct sq_conn *)cb;
	int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);

	if (rc == SQLITE_OK)
		return STORE_OK;
	c->own_err = 0;
	return sq_map(rc);
}

/* The writer connection runs transaction control itself; a job doing it too
 * would commit or drop its batch-mates' work behind the writer's back. */
static int sq_authorize(void *p, int action, const char *a, const char *b,
			const char *db, const char *trigger)
{
	const struct sq_store *s = p;

	(void)a;
	(void)db;
	(void)trigger;
	if (!s->in_job)
		return SQLITE_OK;
	if (action == SQLITE_TRANSACTION)
		return SQLITE_DENY;
	if (action == SQLITE_SAVEPOINT && b && strcasecmp(b, SQ_SAVEPOINT) == 0)
		return SQLITE_DENY;
	return SQLITE_OK;
}

static int ctl(sqlite3_stmt *st);
static void reader_end(struct sq_conn *c);

static void conn_close(struct sq_conn *c)
{
	int rc;

	if (!c)
		return;
	stmt_cache_drop(&c->stmts, stmt_free);
	if (c->is_reader) {
		reader_end(c);
		sqlite3_finalize(c->rbegin);
		sqlite3_finalize(c->rend);
		pthread_mutex_destroy(&c->use);
	}
	rc = sqlite3_close(c->db);
	if (rc != SQLITE_OK)
		log_msg(LOG_ERROR, "store: closing a connection: %s", sqlite3_errstr(rc));
	free(c);
}

static int set_wal(struct sq_conn *c, char *why, size_t whylen)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *mode;
	char reason[256];
	int rc, ret = -1;

	rc = sqlite3_prepare_v2(c->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sq_db_reason(c->db, reason, sizeof reason);
		snprintf(why, whylen, "cannot open database %s: %s", c->store->path, reason);
		goto out;
	}
	mode = sqlite3_column_text(st, 0);
	/* Without WAL readers would block the writer and the other way round. */
	if (!mode || strcasecmp((const char *)mode, "wal") != 0) {
		snprintf(why, whylen, "database %s cannot use WAL mode (journal mode is %s)",
			 c->store->path, mode ? (const char *)mode : "unknown");
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

static int conn_open(struct sq_store *s, enum sq_role role, struct sq_conn **out,
		     char *why, size_t whylen)
{
	struct sq_conn *c = xcalloc(1, sizeof *c);
	char sql[256], reason[256];
	int rc;

	c->base.ops = &sq_ops;
	c->store = s;
	stmt_cache_init(&c->stmts, stmt_free);
	/* The writer, at synchronous=FULL, writes each commit's WAL frames in
	 * one system call (walbuf.c). */
	rc = sqlite3_open_v2(s->path, &c->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE |
			     (role == SQ_WRITER ? SQLITE_OPEN_CREATE : 0),
			     role == SQ_WRITER ? walbuf_vfs_name() : NULL);
	if (rc != SQLITE_OK) {
		sq_db_reason(c->db, reason, sizeof reason);
		snprintf(why, whylen, "cannot open database %s: %s", s->path, reason);
		goto fail;
	}
	sqlite3_busy_timeout(c->db, SQ_BUSY_MS);
	snprintf(sql, sizeof sql,
		 "PRAGMA foreign_keys=%s; PRAGMA cache_size=-%d; PRAGMA mmap_size=0; %s",
		 role == SQ_MIGRATOR ? "OFF" : "ON",
		 role == SQ_READER ? SQ_READER_CACHE_KIB : SQ_WRITER_CACHE_KIB,
		 role == SQ_READER ? "PRAGMA query_only=1;" : "PRAGMA synchronous=FULL;");
	rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
	if (rc == SQLITE_OK && role == SQ_WRITER) {
		snprintf(sql, sizeof sql, "PRAGMA journal_size_limit=%d", SQ_WAL_LIMIT_BYTES);
		rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
	}
	if (rc != SQLITE_OK) {
		sq_db_reason(c->db, reason, sizeof reason);
		snprintf(why, whylen, "cannot set up database %s: %s", s->path, reason);
		goto fail;
	}
	if (role == SQ_WRITER && set_wal(c, why, whylen))
		goto fail;
	if (role == SQ_WRITER) {
		/* walbuf.c's frames are safe only if every commit syncs the WAL */
		sqlite3_stmt *st = NULL;
		int level = -1;

		if (sqlite3_prepare_v2(c->db, "PRAGMA synchronous", -1, &st, NULL) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW)
			level = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
		if (level < 2) {
			snprintf(why, whylen, "database %s: the writer runs at synchronous=%d, "
				 "not FULL", s->path, level);
			goto fail;
		}
		sqlite3_rollback_hook(c->db, walbuf_rolled_back, c->db);
	}
	if (role == SQ_READER) {
		c->is_reader = 1;
		pthread_mutex_init(&c->use, NULL);
		if (sqlite3_prepare_v2(c->db, "BEGIN", -1, &c->rbegin, NULL) != SQLITE_OK ||
		    sqlite3_prepare_v2(c->db, "COMMIT", -1, &c->rend, NULL) != SQLITE_OK) {
			sq_db_reason(c->db, reason, sizeof reason);
			snprintf(why, whylen, "cannot set up database %s: %s", s->path, reason);
			sqlite3_finalize(c->rbegin);
			goto fail;
		}
	}
	*out = c;
	return 0;
fail:
	sqlite3_close(c->db);
	free(c);
	return -1;
}

/*
 * Starting a read transaction costs system calls (locks on the WAL index, a
 * look at the file's size), several times the cost of reading a record. So a
 * reader keeps its snapshot across requests while it is still current: until
 * this process commits a write batch, and at most SQ_SNAPSHOT_US, which bounds
 * how long a commit by another process can go unseen. A reader that needs to
 * see such a commit now (a token just made by the command line) calls
 * store_refresh(). After every batch the writer ends the snapshots of idle
 * readers, so that none holds back a checkpoint.
 */
#define SQ_SNAPSHOT_US 50000

static void reader_end(struct sq_conn *c)
{
	if (c->reading) {
		ctl(c->rend);
		c->reading = 0;
	}
}

static void reader_fresh(struct sq_store *s, struct sq_conn *c)
{
	uint64_t gen = atomic_load(&s->commits);
	int64_t now = time_mono_us();

	if (c->reading && (gen != c->read_gen || now - c->read_since_us > SQ_SNAPSHOT_US))
		reader_end(c);
	if (!c->reading && c->stmts.nlent == 0 && ctl(c->rbegin) == SQLITE_OK) {
		c->reading = 1;
		c->read_gen = gen;
		c->read_since_us = now;
	}
}

/* The writer, after a batch: readers not in a request let go of their snapshot. */
static void readers_sweep(struct sq_store *s)
{
	pthread_mutex_lock(&s->conns_lock);
	for (struct sq_conn *c = s->readers; c; c = c->next_all) {
		if (pthread_mutex_trylock(&c->use) != 0)
			continue;
		if (c->depth == 0)
			reader_end(c);
		pthread_mutex_unlock(&c->use);
	}
	pthread_mutex_unlock(&s->conns_lock);
}

static void sq_refresh(struct store_conn *cb)
{
	struct sq_conn *c = (struct sq_conn *)cb;

	if (c->is_reader && c->stmts.nlent == 0) {
		reader_end(c);
		reader_fresh(c->store, c);
	}
}

/* A connection goes back to the store when its thread ends. */
static void reader_exit(void *p)
{
	struct sq_conn *c = p;
	struct sq_store *s = c->store;

	conn_reclaim(c);
	if (c->depth > 0) {	/* the thread ended without store_release */
		c->depth = 0;
		pthread_mutex_unlock(&c->use);
	}
	reader_end(c);
	pthread_mutex_lock(&s->conns_lock);
	c->next_idle = s->idle;
	s->idle = c;
	pthread_mutex_unlock(&s->conns_lock);
}

static struct store_conn *sq_acquire(struct store *sb)
{
	struct sq_store *s = (struct sq_store *)sb;
	struct sq_conn *c = pthread_getspecific(s->reader_key);
	char why[512];

	if (c)
		goto found;
	pthread_mutex_lock(&s->conns_lock);
	c = s->idle;
	if (c)
		s->idle = c->next_idle;
	pthread_mutex_unlock(&s->conns_lock);
	if (!c) {
		if (conn_open(s, SQ_READER, &c, why, sizeof why)) {
			log_msg(LOG_ERROR, "store: %s", why);
			return NULL;
		}
		pthread_mutex_lock(&s->conns_lock);
		c->next_all = s->readers;
		s->readers = c;
		pthread_mutex_unlock(&s->conns_lock);
	}
	pthread_setspecific(s->reader_key, c);
found:
	/* depth changes only with c->use held: the sweeper reads it under the lock */
	if (c->depth == 0) {
		pthread_mutex_lock(&c->use);
		reader_fresh(s, c);
	}
	c->depth++;
	return &c->base;
}

/* A thread keeps its connection until it exits or the store closes. */
static void sq_release(struct store_conn *cb)
{
	struct sq_conn *c = (struct sq_conn *)cb;

	if (c->is_reader && --c->depth == 0)
		pthread_mutex_unlock(&c->use);
}

/* --- the writer --------------------------------------------------------- */

/* Runs one prepared transaction-control statement; an SQLite code. */
static int ctl(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int run_job(struct sq_store *s, struct store_job *j)
{
	struct sq_conn *c = s->wconn;
	int rc;

	rc = ctl(s->savepoint);
	if (rc != SQLITE_OK)
		return sq_map(rc);
	s->in_job = 1;
	rc = j->fn(&c->base, j->arg);
	s->in_job = 0;
	if (c->stmts.nlent) {
		log_msg(LOG_WARN, "store: a write job left %d statement(s) open", c->stmts.nlent);
		conn_reclaim(c);
	}
	if (sqlite3_get_autocommit(c->db))
		return rc == STORE_OK ? STORE_ERROR : rc;
	if (rc == STORE_OK) {
		if (ctl(s->release) == SQLITE_OK)
			return STORE_OK;
		rc = STORE_ERROR;
	}
	ctl(s->rollback_to);
	ctl(s->release);
	return rc;
}

static void batch_sql_free(struct sq_store *s)
{
	for (int i = 0; i < s->nbatch_sql; i++)
		sqlite3_finalize(s->batch_sql[i]);
	free(s->batch_sql);
	s->batch_sql = NULL;
	s->nbatch_sql = 0;
}

/*
 * Prepares the statements of store_batch_sql (a table the migrations fill:
 * work that is cheaper once per batch than once per row, such as bringing
 * the full-text indexes up to date). A database without the table has none.
 */
static int batch_sql_load(struct sq_store *s)
{
	sqlite3 *db = s->wconn->db;
	sqlite3_stmt *q;
	int rc;

	batch_sql_free(s);
	rc = sqlite3_prepare_v2(db, "SELECT sql FROM store_batch_sql ORDER BY id", -1, &q, NULL);
	if (rc != SQLITE_OK)
		return SQLITE_OK;	/* not migrated that far */
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		sqlite3_stmt *st;

		if (sqlite3_prepare_v2(db, (const char *)sqlite3_column_text(q, 0), -1, &st,
				       NULL) != SQLITE_OK) {
			log_msg(LOG_ERROR, "store: batch statement does not prepare: %s",
				sqlite3_errmsg(db));
			rc = SQLITE_ERROR;
			break;
		}
		s->batch_sql = xrealloc(s->batch_sql, sizeof *s->batch_sql *
					(size_t)(s->nbatch_sql + 1));
		s->batch_sql[s->nbatch_sql++] = st;
	}
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Runs the batch statements inside the open transaction; an SQLite code. */
static int batch_sql_run(struct sq_store *s)
{
	int rc = SQLITE_OK;

	if (atomic_exchange(&s->batch_sql_stale, 0) && (rc = batch_sql_load(s)) != SQLITE_OK)
		return rc;
	for (int i = 0; i < s->nbatch_sql && rc == SQLITE_OK; i++)
		rc = ctl(s->batch_sql[i]);
	return rc;
}

static void fail_jobs(struct store_job *from, const struct store_job *to, int rc)
{
	for (; from != to; from = from->next)
		from->rc = rc;
}

static void run_batch(void *owner, struct store_job *batch)
{
	struct sq_store *s = owner;
	sqlite3 *db = s->wconn->db;
	struct store_job *j, *txn = NULL;	/* first job of the open transaction */
	int rc;

	for (j = batch; j; j = j->next) {
		if (!txn) {
			rc = ctl(s->begin);
			if (rc != SQLITE_OK) {
				log_msg(LOG_ERROR, "store: cannot begin a write: %s",
					sqlite3_errmsg(db));
				fail_jobs(j, NULL, sq_map(rc));
				return;
			}
			txn = j;
		}
		j->rc = run_job(s, j);
		if (sqlite3_get_autocommit(db)) {
			log_msg(LOG_ERROR, "store: a write job ended its batch's transaction: %s",
				sqlite3_errmsg(db));
			fail_jobs(txn, j, STORE_ERROR);
			if (j->rc == STORE_OK)
				j->rc = STORE_ERROR;
			txn = NULL;
		}
	}
	if (!txn)
		return;
	rc = batch_sql_run(s);
	if (rc != SQLITE_OK) {
		log_msg(LOG_ERROR, "store: end-of-batch statements failed: %s", sqlite3_errmsg(db));
		if (!sqlite3_get_autocommit(db))
			ctl(s->rollback);
		fail_jobs(txn, NULL, sq_commit_failure(rc));
		return;
	}
	rc = ctl(s->commit);
	if (rc != SQLITE_OK) {
		log_msg(LOG_ERROR, "store: commit failed: %s", sqlite3_errmsg(db));
		if (!sqlite3_get_autocommit(db))
			ctl(s->rollback);
		fail_jobs(txn, NULL, sq_commit_failure(rc));
		return;
	}
	/* before any job learns its result: a later read must see the batch */
	atomic_fetch_add(&s->commits, 1);
	readers_sweep(s);
}

static int sq_write(struct store *sb, store_job_fn fn, void *arg)
{
	struct sq_store *s = (struct sq_store *)sb;
	int rc = jobq_write(&s->jobs, fn, arg);
	/* A read connection this thread holds must now see the write. */
	struct sq_conn *c = s->have_key ? pthread_getspecific(s->reader_key) : NULL;

	if (c && c->depth > 0)
		sq_refresh(&c->base);
	return rc;
}

static void sq_write_async(struct store *sb, store_job_fn fn, void *arg, unsigned flags,
			   void (*done)(void *arg, int rc))
{
	struct sq_store *s = (struct sq_store *)sb;

	jobq_write_async(&s->jobs, fn, arg, flags, done);
}

/* --- open, migrate, close ------------------------------------------------ */

/*
 * Checkpoints. SQLite's own run inside the COMMIT that passes 1000 WAL pages,
 * so one write batch in a few paid for copying the WAL into the database
 * (random writes and an fsync) while every request in it waited. Instead the
 * writer's WAL hook only notes the WAL's length, and this thread, on a
 * connection of its own, runs a PASSIVE checkpoint (which never blocks the
 * writer or readers) whenever the WAL grew past SQ_CKPT_FRAMES since the last
 * one. The writer starts the WAL over once a checkpoint has copied it all.
 */
static int wal_hook(void *p, sqlite3 *db, const char *name, int frames)
{
	struct sq_store *s = p;

	(void)db, (void)name;
	pthread_mutex_lock(&s->ckpt_lock);
	s->wal_frames = frames;
	if (frames >= SQ_CKPT_FRAMES)
		pthread_cond_signal(&s->ckpt_cond);
	pthread_mutex_unlock(&s->ckpt_lock);
	return SQLITE_OK;
}

static void *ckpt_main(void *p)
{
	struct sq_store *s = p;
	int done_at = 0;	/* the WAL length the last checkpoint saw */

	pthread_mutex_lock(&s->ckpt_lock);
	for (;;) {
		int frames, log = 0, copied = 0;

		while (!s->ckpt_stop && (s->wal_frames < SQ_CKPT_FRAMES ||
					 s->wal_frames - done_at < SQ_CKPT_FRAMES / 2)) {
			if (s->wal_frames < done_at)	/* the WAL started over */
				done_at = 0;
			else
				pthread_cond_wait(&s->ckpt_cond, &s->ckpt_lock);
		}
		if (s->ckpt_stop)
			break;
		frames = s->wal_frames;
		pthread_mutex_unlock(&s->ckpt_lock);
		if (sqlite3_wal_checkpoint_v2(s->ckpt_db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log,
					      &copied) != SQLITE_OK)
			usleep(100000);	/* busy (another process checkpoints) or I/O: later */
		pthread_mutex_lock(&s->ckpt_lock);
		done_at = frames;
	}
	pthread_mutex_unlock(&s->ckpt_lock);
	return NULL;
}

static int ckpt_start(struct sq_store *s, char *why, size_t whylen)
{
	if (sqlite3_open_v2(s->path, &s->ckpt_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		snprintf(why, whylen, "cannot open database %s for checkpoints: %s", s->path,
			 sqlite3_errmsg(s->ckpt_db));
		return -1;
	}
	sqlite3_busy_timeout(s->ckpt_db, SQ_BUSY_MS);
	if (pthread_create(&s->ckpt_thread, NULL, ckpt_main, s) != 0) {
		snprintf(why, whylen, "cannot start the checkpoint thread for %s", s->path);
		return -1;
	}
	s->ckpt_started = 1;
	sqlite3_wal_hook(s->wconn->db, wal_hook, s);	/* replaces the automatic one */
	return 0;
}

static void ckpt_stop(struct sq_store *s)
{
	if (s->ckpt_started) {
		pthread_mutex_lock(&s->ckpt_lock);
		s->ckpt_stop = 1;
		pthread_cond_signal(&s->ckpt_cond);
		pthread_mutex_unlock(&s->ckpt_lock);
		pthread_join(s->ckpt_thread, NULL);
		s->ckpt_started = 0;
	}
	sqlite3_close_v2(s->ckpt_db);
	s->ckpt_db = NULL;
}

static void sq_free(struct sq_store *s)
{
	struct sq_conn *c, *next;

	ckpt_stop(s);
	if (s->have_key)
		pthread_key_delete(s->reader_key);
	for (c = s->readers; c; c = next) {
		next = c->next_all;
		conn_close(c);
	}
	sqlite3_finalize(s->begin);
	sqlite3_finalize(s->commit);
	sqlite3_finalize(s->rollback);
	sqlite3_finalize(s->savepoint);
	sqlite3_finalize(s->release);
	sqlite3_finalize(s->rollback_to);
	batch_sql_free(s);
	conn_close(s->wconn);
	jobq_destroy(&s->jobs);
	pthread_mutex_destroy(&s->conns_lock);
	pthread_mutex_destroy(&s->ckpt_lock);
	pthread_cond_destroy(&s->ckpt_cond);
	free(s->path);
	free(s);
}

static void sq_close(struct store *sb)
{
	struct sq_store *s = (struct sq_store *)sb;

	jobq_stop(&s->jobs);
	sq_free(s);
}

/* SQLite's default "unable to open database file" does not say which part of
 * the path is wrong; the operator should not have to guess. */
static int check_path(const char *path, char *why, size_t whylen)
{
	struct stat sb;
	char *copy, *dir;
	int fd, ret = -1;

	if (!*path) {
		snprintf(why, whylen, "no database path given");
		return -1;
	}
	if (strcmp(path, ":memory:") == 0) {
		snprintf(why, whylen, "an in-memory database cannot be shared by the "
			 "store's connections; give a file path");
		return -1;
	}
	copy = xstrdup(path);
	dir = dirname(copy);
	if (stat(dir, &sb) != 0) {
		snprintf(why, whylen, "cannot open database %s: directory %s: %s", path, dir,
			 strerror(errno));
		goto out;
	}
	if (!S_ISDIR(sb.st_mode)) {
		snprintf(why, whylen, "cannot open database %s: %s is not a directory", path, dir);
		goto out;
	}
	if (stat(path, &sb) == 0) {
		if (S_ISDIR(sb.st_mode)) {
			snprintf(why, whylen, "cannot open database %s: it is a directory", path);
			goto out;
		}
	} else if (errno == ENOENT) {
		/* Created here so that it, and the -wal and -shm files SQLite
		 * derives from it, are readable by the owner only: the database
		 * holds password and token hashes. */
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST) {
			snprintf(why, whylen, "cannot create database %s: %s", path,
				 strerror(errno));
			goto out;
		}
		if (fd >= 0)
			close(fd);
	}
	ret = 0;
out:
	free(copy);
	return ret;
}

static void sq_global_init(void)
{
	/* Memory statistics take a global mutex on every allocation, which
	 * the reader threads would all contend for. Refused (harmlessly) if
	 * SQLite is already initialised. */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static int prepare_ctl(struct sq_store *s, const char *sql, sqlite3_stmt **out)
{
	return sqlite3_prepare_v3(s->wconn->db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);
}

int sqlite_store_open(const char *path, struct store **out, char *why, size_t whylen)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct sq_store *s;
	int rc;

	if (check_path(path, why, whylen))
		return -1;
	pthread_once(&once, sq_global_init);
	s = xcalloc(1, sizeof *s);
	s->base.ops = &sq_ops;
	s->path = xstrdup(path);
	pthread_mutex_init(&s->conns_lock, NULL);
	pthread_mutex_init(&s->ckpt_lock, NULL);
	pthread_cond_init(&s->ckpt_cond, NULL);
	jobq_init(&s->jobs, SQ_BATCH_MAX, run_batch, s);
	if (pthread_key_create(&s->reader_key, reader_exit) != 0) {
		snprintf(why, whylen, "cannot create a thread key for database %s", path);
		goto fail;
	}
	s->have_key = 1;
	if (conn_open(s, SQ_WRITER, &s->wconn, why, whylen))
		goto fail;
	sqlite3_set_authorizer(s->wconn->db, sq_authorize, s);
	atomic_store(&s->batch_sql_stale, 1);
	rc = prepare_ctl(s, "BEGIN IMMEDIATE", &s->begin);
	if (rc == SQLITE_OK)
		rc = prepare_ctl(s, "COMMIT", &s->commit);
	if (rc == SQLITE_OK)
		rc = prepare_ctl(s, "ROLLBACK", &s->rollback);
	if (rc == SQLITE_OK)
		rc = prepare_ctl(s, "SAVEPOINT " SQ_SAVEPOINT, &s->savepoint);
	if (rc == SQLITE_OK)
		rc = prepare_ctl(s, "RELEASE " SQ_SAVEPOINT, &s->release);
	if (rc == SQLITE_OK)
		rc = prepare_ctl(s, "ROLLBACK TO " SQ_SAVEPOINT, &s->rollback_to);
	if (rc != SQLITE_OK) {
		snprintf(why, whylen, "database %s: %s", path, sqlite3_errmsg(s->wconn->db));
		goto fail;
	}
	if (ckpt_start(s, why, whylen) || jobq_start(&s->jobs, 1, why, whylen))
		goto fail;
	*out = &s->base;
	return 0;
fail:
	sq_free(s);
	return -1;
}

static int mig_exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* The migration with the smallest number above after; NULL when none. */
static const struct migration *mig_next(const struct migration *list, int after)
{
	const struct migration *m, *best = NULL;

	for (m = list; m->backend; m++)
		if (strcmp(m->backend, "sqlite") == 0 && m->number > after &&
		    (!best || m->number < best->number))
			best = m;
	return best;
}

/* Applies one migration in its own transaction: 1 applied, 0 found already
 * applied (another process got there first), -1 failed. */
static int mig_apply(sqlite3 *db, const struct migration *m, char *why, size_t whylen)
{
	sqlite3_stmt *st = NULL;
	char when[TIME_BUF];
	int rc, ret = -1;

	rc = mig_exec(db, "BEGIN IMMEDIATE");
	if (rc != SQLITE_OK) {
		snprintf(why, whylen, "migration %s: cannot begin: %s", m->name, sqlite3_errmsg(db));
		return -1;
	}
	rc = sqlite3_prepare_v2(db, "SELECT 1 FROM schema_migrations WHERE number = ?", -1, &st,
				NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int(st, 1, m->number);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (rc == SQLITE_ROW) {
		ret = 0;
		goto out;
	}
	if (rc != SQLITE_DONE) {
		snprintf(why, whylen, "migration %s: %s", m->name, sqlite3_errmsg(db));
		goto out;
	}
	if (mig_exec(db, m->sql) != SQLITE_OK) {
		snprintf(why, whylen, "migration %s failed: %s", m->name, sqlite3_errmsg(db));
		goto out;
	}
	rc = sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(why, whylen, "migration %s leaves broken foreign keys in table %s",
			 m->name, (const char *)sqlite3_column_text(st, 0));
		goto out;
	}
	if (rc != SQLITE_DONE) {
		snprintf(why, whylen, "migration %s: foreign key check: %s", m->name,
			 sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	time_now_rfc3339(when);
	rc = sqlite3_prepare_v2(db,
		"INSERT INTO schema_migrations (number, name, applied_at) VALUES (?, ?, ?)",
		-1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int(st, 1, m->number);
		sqlite3_bind_text(st, 2, m->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, when, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
	}
	if (rc != SQLITE_DONE) {
		snprintf(why, whylen, "migration %s: recording it: %s", m->name,
			 sqlite3_errmsg(db));
		goto out;
	}
	ret = 1;
out:
	sqlite3_finalize(st);
	if (ret == 1 && mig_exec(db, "COMMIT") != SQLITE_OK) {
		snprintf(why, whylen, "migration %s: commit failed: %s", m->name,
			 sqlite3_errmsg(db));
		ret = -1;
	}
	if (ret != 1 && !sqlite3_get_autocommit(db))
		mig_exec(db, "ROLLBACK");
	return ret;
}

static int sq_migrate(struct store *sb, const struct migration *list, int *applied,
		      char *why, size_t whylen)
{
	struct sq_store *s = (struct sq_store *)sb;
	const struct migration *m, *k;
	struct sq_conn *c = NULL;
	sqlite3_stmt *st = NULL;
	int known = 0, newest = 0, n = 0, rc, ret = -1;

	for (m = list; m->backend; m++) {
		if (strcmp(m->backend, "sqlite") != 0)
			continue;
		if (m->number <= 0) {
			snprintf(why, whylen, "migration %s has no number", m->name);
			return -1;
		}
		for (k = list; k != m; k++) {
			if (strcmp(k->backend, "sqlite") == 0 && k->number == m->number) {
				snprintf(why, whylen, "migrations %s and %s share number %d",
					 k->name, m->name, m->number);
				return -1;
			}
		}
		if (m->number > known)
			known = m->number;
	}
	if (conn_open(s, SQ_MIGRATOR, &c, why, whylen))
		return -1;
	if (mig_exec(c->db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
			    "number INTEGER PRIMARY KEY, name TEXT NOT NULL, "
			    "applied_at TEXT NOT NULL)") != SQLITE_OK) {
		snprintf(why, whylen, "cannot create schema_migrations: %s", sqlite3_errmsg(c->db));
		goto out;
	}
	rc = sqlite3_prepare_v2(c->db, "SELECT coalesce(max(number), 0) FROM schema_migrations",
				-1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		snprintf(why, whylen, "cannot read schema_migrations: %s", sqlite3_errmsg(c->db));
		goto out;
	}
	newest = sqlite3_column_int(st, 0);
	/* done with it: a statement left running would keep DROP TABLE from
	 * a migration ("database table is locked") */
	sqlite3_finalize(st);
	st = NULL;
	if (newest > known) {
		snprintf(why, whylen, "database %s is at schema %d but this rapport knows "
			 "migrations only up to %d; run a newer rapport", s->path, newest, known);
		goto out;
	}
	for (m = mig_next(list, 0); m; m = mig_next(list, m->number)) {
		rc = mig_apply(c->db, m, why, whylen);
		if (rc < 0)
			goto out;
		if (rc > 0) {
			log_msg(LOG_INFO, "store: applied migration %s", m->name);
			n++;
		}
	}
	*applied = n;
	ret = 0;
	atomic_store(&s->batch_sql_stale, 1);
out:
	sqlite3_finalize(st);
	conn_close(c);
	/* a changed schema is a commit like any other to this process's readers */
	atomic_fetch_add(&s->commits, 1);
	return ret;
}

/* --- SQL dialect ---------------------------------------------------------- */

/*
 * With a search the rows come from the FTS5 index joined to the table, and
 * paging by id follows the index's rowid order: a search for a common word
 * then reads only as far as the page needs, instead of every match.
 */
static const char *sq_sql_from(const struct store *s, struct buf *sql, const char *table, int fts)
{
	(void)s;
	if (!fts) {
		buf_printf(sql, " FROM %s t WHERE 1 = 1", table);
		return "t.id";
	}
	buf_printf(sql, " FROM %s_fts f JOIN %s t ON t.id = f.rowid WHERE f.%s_fts MATCH ?", table,
		   table, table);
	return "f.rowid";
}

/* FTS5: each word a quoted string, all required; a prefix is word*. */
static char *sq_fts_param(const struct store *s, const struct store_word *words, int n,
			  int prefix)
{
	struct buf b;

	(void)s;
	buf_init(&b, 1 << 20);
	for (int i = 0; i < n; i++)
		buf_printf(&b, "%s\"%.*s\"", i ? " " : "", (int)words[i].len, words[i].p);
	if (prefix && n)
		buf_puts(&b, "*");
	if (!b.data)
		buf_puts(&b, "");
	return b.data;
}

static void sq_sql_has_tag(const struct store *s, struct buf *sql, const char *col)
{
	(void)s;
	buf_printf(sql, "EXISTS (SELECT 1 FROM json_each(%s) WHERE value = ?)", col);
}

static const struct store_ops sq_ops = {
	.name = "sqlite",
	.migrate = sq_migrate,
	.refresh = sq_refresh,
	.close = sq_close,
	.acquire = sq_acquire,
	.release = sq_release,
	.prepare = sq_prepare,
	.bind_int = sq_bind_int,
	.bind_double = sq_bind_double,
	.bind_text = sq_bind_text,
	.bind_null = sq_bind_null,
	.step = sq_step,
	.col_null = sq_col_null,
	.col_int = sq_col_int,
	.col_double = sq_col_double,
	.col_text = sq_col_text,
	.done = sq_done,
	.read_prepare = sq_read_prepare,
	.read_async = sq_read_async,
	.changes = sq_changes,
	.errmsg = sq_errmsg,
	.exec = sq_exec,
	.write = sq_write,
	.write_async = sq_write_async,
	.sql_from = sq_sql_from,
	.fts_param = sq_fts_param,
	.sql_has_tag = sq_sql_has_tag,
};
