/*
 * store.h over SQLite: open, migrate, statements and their cache, result
 * codes, and the group-commit writer (isolation of a failing job, durability
 * before notification, many producers, draining on close).
 *
 * Jobs that must share a batch are queued behind a "gate" job that holds the
 * writer until the test has queued them all: the writer takes everything
 * queued at once, so they land in the same transaction.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sqlite3.h>

#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "store/backend.h"
#include "store/migrate.h"
#include "store/store.h"

struct fixture {
	char dir[64];
	char path[128];
	struct store *s;
};

/* Counts async completions so that the test can wait for n of them. */
struct tally {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int done, failed;
};

static struct tally tally = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0 };

static void tally_reset(void)
{
	pthread_mutex_lock(&tally.lock);
	tally.done = tally.failed = 0;
	pthread_mutex_unlock(&tally.lock);
}

static void tally_add(int ok)
{
	pthread_mutex_lock(&tally.lock);
	tally.done++;
	if (!ok)
		tally.failed++;
	pthread_cond_broadcast(&tally.cond);
	pthread_mutex_unlock(&tally.lock);
}

static int tally_wait(int n)
{
	struct timespec until;
	int got;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 30;
	pthread_mutex_lock(&tally.lock);
	while (tally.done < n)
		if (pthread_cond_timedwait(&tally.cond, &tally.lock, &until))
			break;
	got = tally.done;
	pthread_mutex_unlock(&tally.lock);
	return got;
}

static int tally_done(void)
{
	int n;

	pthread_mutex_lock(&tally.lock);
	n = tally.done;
	pthread_mutex_unlock(&tally.lock);
	return n;
}

static int sqlite_migrations(void)
{
	int n = 0;

	for (const struct migration *m = migrations; m->backend; m++)
		n += strcmp(m->backend, "sqlite") == 0;
	return n;
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof *f);
	char why[256];
	int applied = -1;

	snprintf(f->dir, sizeof f->dir, "/tmp/rapport-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/t.db", f->dir);
	assert_int_equal(store_open(f->path, &f->s, why, sizeof why), 0);
	assert_int_equal(store_migrate(f->s, &applied, why, sizeof why), 0);
	assert_int_equal(applied, sqlite_migrations());
	tally_reset();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char p[160];

	store_close(f->s);
	unlink(f->path);
	snprintf(p, sizeof p, "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", f->path);
	unlink(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* --- jobs ------------------------------------------------------------------ */

struct put {
	char key[48];
	const char *sql;	/* NULL: a plain INSERT */
	int result;		/* what the job returns after a good insert */
	int rc;			/* what the store said */
};

static int job_put(struct store_conn *c, void *arg)
{
	struct put *p = arg;
	struct store_stmt *st = store_prepare(c, p->sql ? p->sql
						: "INSERT INTO settings (key, value) VALUES (?, 'v')");
	int rc;

	if (!st)
		return STORE_ERROR;
	store_bind_text(st, 1, p->key, strlen(p->key));
	rc = store_step(st);
	store_done(st);
	if (rc != STORE_DONE)
		return rc;
	return p->result;
}

static void put_done(void *arg, int rc)
{
	struct put *p = arg;

	p->rc = rc;
	tally_add(1);
}

static void put_init(struct put *p, const char *key, int result)
{
	memset(p, 0, sizeof *p);
	snprintf(p->key, sizeof p->key, "%s", key);
	p->result = result;
	p->rc = -1;
}

/* Holds the writer inside a batch until released. */
struct gate {
	sem_t entered, go;
};

static int job_gate(struct store_conn *c, void *arg)
{
	struct gate *g = arg;

	(void)c;
	sem_post(&g->entered);
	sem_wait(&g->go);
	return STORE_OK;
}

static void gate_done(void *arg, int rc)
{
	(void)arg;
	(void)rc;
}

static void gate_hold(struct store *s, struct gate *g)
{
	sem_init(&g->entered, 0, 0);
	sem_init(&g->go, 0, 0);
	store_write_async(s, job_gate, g, gate_done);
	sem_wait(&g->entered);
}

/* 1 if settings has key, as seen by this thread's read connection. */
static int has_key(struct store *s, const char *key)
{
	struct store_conn *c = store_acquire(s);
	struct store_stmt *st;
	int rc;

	assert_non_null(c);
	st = store_prepare(c, "SELECT 1 FROM settings WHERE key = ?");
	assert_non_null(st);
	store_bind_text(st, 1, key, strlen(key));
	rc = store_step(st);
	store_done(st);
	store_release(c);
	assert_true(rc == STORE_ROW || rc == STORE_DONE);
	return rc == STORE_ROW;
}

static int64_t count(struct store *s, const char *sql)
{
	struct store_conn *c = store_acquire(s);
	struct store_stmt *st = store_prepare(c, sql);
	int64_t n;

	assert_non_null(st);
	assert_int_equal(store_step(st), STORE_ROW);
	n = store_col_int(st, 0);
	store_done(st);
	store_release(c);
	return n;
}

/* --- open and migrate ---------------------------------------------------- */

static void test_open_errors(void **state)
{
	struct store *s = NULL;
	char why[256], dir[64], path[128];
	FILE *fp;

	(void)state;
	assert_int_equal(store_open("/nonexistent-rapport/sub/x.db", &s, why, sizeof why), -1);
	assert_non_null(strstr(why, "/nonexistent-rapport/sub"));
	assert_non_null(strstr(why, "No such file or directory"));

	assert_int_equal(store_open("postgres://localhost/rapport", &s, why, sizeof why), -1);
	assert_string_equal(why, "postgres backend not built yet");
	assert_int_equal(store_open("postgresql://x", &s, why, sizeof why), -1);
	assert_string_equal(why, "postgres backend not built yet");
	assert_int_equal(store_open("mysql://x", &s, why, sizeof why), -1);
	assert_non_null(strstr(why, "mysql"));
	assert_int_equal(store_open("sqlite::memory:", &s, why, sizeof why), -1);
	assert_int_equal(store_open("", &s, why, sizeof why), -1);

	snprintf(dir, sizeof dir, "/tmp/rapport-store-XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(store_open(dir, &s, why, sizeof why), -1);
	assert_non_null(strstr(why, "directory"));

	snprintf(path, sizeof path, "%s/junk.db", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	for (int i = 0; i < 100; i++)
		fputs("this is not an SQLite database\n", fp);
	fclose(fp);
	assert_int_equal(store_open(path, &s, why, sizeof why), -1);
	assert_non_null(strstr(why, "not a database"));
	unlink(path);

	/* The sqlite: prefix names a file; the file is created owner-only. */
	snprintf(path, sizeof path, "sqlite:%s/ok.db", dir);
	assert_int_equal(store_open(path, &s, why, sizeof why), 0);
	assert_string_equal(store_backend(s), "sqlite");
	store_close(s);
	snprintf(path, sizeof path, "%s/ok.db", dir);
	{
		struct stat sb;

		assert_int_equal(stat(path, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0600);
	}
	unlink(path);
	snprintf(path, sizeof path, "%s/ok.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/ok.db-shm", dir);
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
}

static void test_migrate_idempotent(void **state)
{
	struct fixture *f = *state;
	char why[256];
	int applied = -1;

	assert_int_equal(store_migrate(f->s, &applied, why, sizeof why), 0);
	assert_int_equal(applied, 0);
	assert_int_equal(count(f->s, "SELECT count(*) FROM schema_migrations"), sqlite_migrations());
	assert_int_equal(count(f->s, "SELECT count(*) FROM organizations"), 0);
}

static void test_migrate_failure(void **state)
{
	struct fixture *f = *state;
	const struct migration bad[] = {
		{ "sqlite", 99, "0099_bad", "CREATE TABLE half (x);\nINSERT INTO nosuch VALUES (1);\n" },
		{ 0, 0, 0, 0 },
	};
	const struct migration broken_fk[] = {
		{ "sqlite", 99, "0099_fk",
		  "INSERT INTO tokens (user_id, kind, hash, created_at) "
		  "VALUES (999, 'api', 'h', 'now');" },
		{ 0, 0, 0, 0 },
	};
	const struct migration good[] = {
		{ "postgres", 99, "0099_pg", "THIS IS NOT SQLITE" },
		{ "sqlite", 99, "0099_extra", "CREATE TABLE extra (x);" },
		{ 0, 0, 0, 0 },
	};
	char why[256];
	int applied = -1;

	assert_int_equal(store_migrate_list(f->s, bad, &applied, why, sizeof why), -1);
	assert_non_null(strstr(why, "0099_bad"));
	assert_non_null(strstr(why, "no such table: nosuch"));
	assert_int_equal(count(f->s, "SELECT count(*) FROM sqlite_schema WHERE name = 'half'"), 0);
	assert_int_equal(count(f->s, "SELECT count(*) FROM schema_migrations WHERE number = 99"), 0);

	assert_int_equal(store_migrate_list(f->s, broken_fk, &applied, why, sizeof why), -1);
	assert_non_null(strstr(why, "0099_fk"));
	assert_non_null(strstr(why, "tokens"));
	assert_int_equal(count(f->s, "SELECT count(*) FROM tokens"), 0);

	assert_int_equal(store_migrate_list(f->s, good, &applied, why, sizeof why), 0);
	assert_int_equal(applied, 1);
	assert_int_equal(count(f->s, "SELECT count(*) FROM extra"), 0);

	/* The embedded table stops at an older number than the database. */
	assert_int_equal(store_migrate(f->s, &applied, why, sizeof why), -1);
	assert_non_null(strstr(why, "schema 99"));
}

/* --- statements ------------------------------------------------------------ */

static void test_statements(void **state)
{
	struct fixture *f = *state;
	struct store_conn *c = store_acquire(f->s);
	struct store_stmt *st;
	const char *t;
	size_t len;

	assert_non_null(c);
	st = store_prepare(c, "SELECT ?, ?, ?, ?, ?");
	assert_non_null(st);
	assert_int_equal(store_bind_int(st, 1, INT64_C(-9007199254740993)), STORE_OK);
	assert_int_equal(store_bind_double(st, 2, 2.5), STORE_OK);
	assert_int_equal(store_bind_text(st, 3, "hello world", 5), STORE_OK);
	assert_int_equal(store_bind_null(st, 4), STORE_OK);
	assert_int_equal(store_bind_text(st, 5, "a\0b", 3), STORE_OK);
	assert_int_not_equal(store_bind_int(st, 6, 1), STORE_OK);
	assert_int_equal(store_step(st), STORE_ROW);
	assert_true(store_col_int(st, 0) == INT64_C(-9007199254740993));
	assert_true(store_col_double(st, 1) == 2.5);
	t = store_col_text(st, 2, &len);
	assert_int_equal(len, 5);
	assert_memory_equal(t, "hello", 5);
	assert_true(store_col_null(st, 3));
	assert_false(store_col_null(st, 2));
	assert_null(store_col_text(st, 3, &len));
	assert_int_equal(len, 0);
	t = store_col_text(st, 4, &len);
	assert_int_equal(len, 3);
	assert_memory_equal(t, "a\0b", 3);
	assert_int_equal(store_step(st), STORE_DONE);
	store_done(st);

	/* Bindings are cleared by store_done. */
	st = store_prepare(c, "SELECT ?, ?, ?, ?, ?");
	assert_int_equal(store_step(st), STORE_ROW);
	assert_true(store_col_null(st, 0));
	store_done(st);

	assert_null(store_prepare(c, "SELECT * FROM nosuch"));
	assert_non_null(strstr(store_errmsg(c), "no such table"));
	assert_null(store_prepare(c, "SELECT 1; SELECT 2"));
	assert_non_null(strstr(store_errmsg(c), "more than one"));
	assert_null(store_prepare(c, "  -- nothing\n"));
	assert_non_null(strstr(store_errmsg(c), "empty"));
	assert_null(store_prepare(c, "SELECT * FROM nosuch2"));
	assert_non_null(strstr(store_errmsg(c), "no such table"));

	/* Read connections do not write: writes go through the writer. */
	assert_int_equal(store_exec(c, "INSERT INTO settings VALUES ('x', 'y')"), STORE_ERROR);
	assert_non_null(strstr(store_errmsg(c), "readonly"));
	store_release(c);
}

static void test_stmt_cache(void **state)
{
	struct fixture *f = *state;
	struct store_conn *c = store_acquire(f->s);
	struct store_stmt *a, *b, *held;
	char text[64];
	int outer = 0, inner = 0;

	a = store_prepare(c, "SELECT 41 + ?");
	assert_non_null(a);
	store_done(a);
	b = store_prepare(c, "SELECT 41 + ?");
	assert_ptr_equal(a, b);
	store_done(b);

	/* The same text twice at once (a nested query) gets two statements. */
	a = store_prepare(c, "SELECT ? UNION ALL SELECT ?");
	assert_non_null(a);
	store_bind_int(a, 1, 1);
	store_bind_int(a, 2, 2);
	while (store_step(a) == STORE_ROW) {
		outer++;
		b = store_prepare(c, "SELECT ? UNION ALL SELECT ?");
		assert_non_null(b);
		assert_ptr_not_equal(a, b);
		store_bind_int(b, 1, 3);
		store_bind_int(b, 2, 4);
		while (store_step(b) == STORE_ROW)
			inner++;
		store_done(b);
	}
	store_done(a);
	assert_int_equal(outer, 2);
	assert_int_equal(inner, 4);

	/* Overflowing the cache evicts the least recently used, never a lent one. */
	held = store_prepare(c, "SELECT 'held'");
	assert_non_null(held);
	for (int i = 0; i < 3 * 128; i++) {
		struct store_stmt *st;

		snprintf(text, sizeof text, "SELECT %d", i);
		st = store_prepare(c, text);
		assert_non_null(st);
		assert_int_equal(store_step(st), STORE_ROW);
		assert_int_equal(store_col_int(st, 0), i);
		store_done(st);
	}
	assert_int_equal(store_step(held), STORE_ROW);
	assert_string_equal(store_col_text(held, 0, NULL), "held");
	store_done(held);
	a = store_prepare(c, "SELECT 41 + ?");
	assert_non_null(a);
	store_bind_int(a, 1, 1);
	assert_int_equal(store_step(a), STORE_ROW);
	assert_int_equal(store_col_int(a, 0), 42);
	store_done(a);
	store_release(c);
}

static void *acquire_thread(void *arg)
{
	return store_acquire(arg);
}

static void test_acquire_per_thread(void **state)
{
	struct fixture *f = *state;
	struct store_conn *mine = store_acquire(f->s), *theirs, *next;
	pthread_t t;

	assert_ptr_equal(mine, store_acquire(f->s));
	pthread_create(&t, NULL, acquire_thread, f->s);
	pthread_join(t, (void **)&theirs);
	assert_non_null(theirs);
	assert_ptr_not_equal(mine, theirs);
	/* A finished thread's connection serves the next thread. */
	pthread_create(&t, NULL, acquire_thread, f->s);
	pthread_join(t, (void **)&next);
	assert_ptr_equal(theirs, next);
}

/* --- writes ------------------------------------------------------------------ */

struct insert_user {
	const char *email, *role;
};

static int job_user(struct store_conn *c, void *arg)
{
	const struct insert_user *u = arg;
	struct store_stmt *st = store_prepare(c,
		"INSERT INTO users (created_at, updated_at, email, name, password_hash, role) "
		"VALUES ('t', 't', ?, 'n', 'h', ?)");
	int rc;

	if (!st)
		return STORE_ERROR;
	store_bind_text(st, 1, u->email, strlen(u->email));
	store_bind_text(st, 2, u->role, strlen(u->role));
	rc = store_step(st);
	store_done(st);
	return rc == STORE_DONE ? STORE_OK : rc;
}

static int job_token(struct store_conn *c, void *arg)
{
	(void)arg;
	return store_exec(c, "INSERT INTO tokens (user_id, kind, hash, created_at) "
			     "VALUES (12345, 'api', 'h', 't')");
}

static int job_null_value(struct store_conn *c, void *arg)
{
	(void)arg;
	return store_exec(c, "INSERT INTO settings (key, value) VALUES ('n', NULL)");
}

static int job_update(struct store_conn *c, void *arg)
{
	int64_t *changes = arg;
	int rc = store_exec(c, "UPDATE settings SET value = 'w' WHERE key LIKE 'u%'");

	*changes = store_changes(c);
	return rc;
}

static void test_write_and_constraints(void **state)
{
	struct fixture *f = *state;
	struct insert_user u1 = { "a@example.com", "admin" }, bad_role = { "b@example.com", "god" };
	struct put p;
	int64_t changes = -1;

	assert_int_equal(store_write(f->s, job_user, &u1), STORE_OK);
	assert_int_equal(store_write(f->s, job_user, &u1), STORE_CONSTRAINT);
	assert_int_equal(store_write(f->s, job_user, &bad_role), STORE_CONSTRAINT);
	assert_int_equal(store_write(f->s, job_token, NULL), STORE_CONSTRAINT);
	assert_int_equal(store_write(f->s, job_null_value, NULL), STORE_CONSTRAINT);
	assert_int_equal(count(f->s, "SELECT count(*) FROM users"), 1);
	assert_int_equal(count(f->s, "SELECT count(*) FROM tokens"), 0);

	put_init(&p, "u1", STORE_OK);
	assert_int_equal(store_write(f->s, job_put, &p), STORE_OK);
	put_init(&p, "u2", STORE_OK);
	assert_int_equal(store_write(f->s, job_put, &p), STORE_OK);
	assert_int_equal(store_write(f->s, job_update, &changes), STORE_OK);
	assert_int_equal(changes, 2);
}

static int job_ddl(struct store_conn *c, void *arg)
{
	(void)arg;
	return store_exec(c, "CREATE TABLE t2 (x); INSERT INTO t2 VALUES (1); "
			     "INSERT INTO t2 VALUES (2);");
}

static int job_commit(struct store_conn *c, void *arg)
{
	(void)arg;
	return store_exec(c, "COMMIT");
}

static int job_release(struct store_conn *c, void *arg)
{
	(void)arg;
	return store_exec(c, "RELEASE rapport_job");
}

static int job_nested_write(struct store_conn *c, void *arg)
{
	struct store *s = arg;

	(void)c;
	return store_write(s, job_ddl, NULL);
}

static int job_leaks_stmt(struct store_conn *c, void *arg)
{
	struct store_stmt *st = store_prepare(c, "INSERT INTO settings VALUES ('leak', 'v') "
						 "RETURNING key");

	(void)arg;
	return st && store_step(st) == STORE_ROW ? STORE_OK : STORE_ERROR;
}

static void test_job_rules(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(store_write(f->s, job_ddl, NULL), STORE_OK);
	assert_int_equal(count(f->s, "SELECT count(*) FROM t2"), 2);
	/* Transaction control belongs to the writer. */
	assert_int_equal(store_write(f->s, job_commit, NULL), STORE_ERROR);
	assert_int_equal(store_write(f->s, job_release, NULL), STORE_ERROR);
	/* A job waiting for the writer would wait for itself. */
	assert_int_equal(store_write(f->s, job_nested_write, f->s), STORE_ERROR);
	/* A statement left open by a job is taken back before the commit. */
	assert_int_equal(store_write(f->s, job_leaks_stmt, NULL), STORE_OK);
	assert_true(has_key(f->s, "leak"));
}

static void test_batch_isolation(void **state)
{
	struct fixture *f = *state;
	struct gate g0, g1;
	struct put a, b, c, d;

	gate_hold(f->s, &g0);
	put_init(&a, "a", STORE_OK);
	put_init(&b, "b", STORE_ABORT);
	put_init(&c, "a", STORE_OK);	/* duplicate of a: fails on its own */
	put_init(&d, "d", STORE_OK);
	store_write_async(f->s, job_put, &a, put_done);
	store_write_async(f->s, job_put, &b, put_done);
	store_write_async(f->s, job_put, &c, put_done);
	store_write_async(f->s, job_put, &d, put_done);
	sem_init(&g1.entered, 0, 0);
	sem_init(&g1.go, 0, 0);
	store_write_async(f->s, job_gate, &g1, gate_done);
	sem_post(&g0.go);

	/* Everything above ran in one transaction that g1 now holds open:
	 * nobody has been told, and a reader neither waits nor sees it. */
	sem_wait(&g1.entered);
	assert_int_equal(tally_done(), 0);
	assert_false(has_key(f->s, "a"));
	assert_false(has_key(f->s, "d"));
	sem_post(&g1.go);

	assert_int_equal(tally_wait(4), 4);
	assert_int_equal(a.rc, STORE_OK);
	assert_int_equal(b.rc, STORE_ABORT);
	assert_int_equal(c.rc, STORE_CONSTRAINT);
	assert_int_equal(d.rc, STORE_OK);
	assert_true(has_key(f->s, "a"));
	assert_false(has_key(f->s, "b"));
	assert_true(has_key(f->s, "d"));
	assert_int_equal(count(f->s, "SELECT count(*) FROM settings"), 2);
}

/* INSERT OR ROLLBACK ends the whole transaction, taking batch-mates' work
 * with it: they must hear so, and later jobs must still commit. */
static void test_batch_transaction_lost(void **state)
{
	struct fixture *f = *state;
	struct gate g;
	struct put k, x, bad, y;

	put_init(&k, "k", STORE_OK);
	assert_int_equal(store_write(f->s, job_put, &k), STORE_OK);
	gate_hold(f->s, &g);
	put_init(&x, "x", STORE_OK);
	put_init(&bad, "k", STORE_OK);
	bad.sql = "INSERT OR ROLLBACK INTO settings (key, value) VALUES (?, 'v')";
	put_init(&y, "y", STORE_OK);
	store_write_async(f->s, job_put, &x, put_done);
	store_write_async(f->s, job_put, &bad, put_done);
	store_write_async(f->s, job_put, &y, put_done);
	sem_post(&g.go);
	assert_int_equal(tally_wait(3), 3);
	assert_int_equal(x.rc, STORE_ERROR);
	assert_int_equal(bad.rc, STORE_CONSTRAINT);
	assert_int_equal(y.rc, STORE_OK);
	assert_false(has_key(f->s, "x"));
	assert_true(has_key(f->s, "y"));
}

#define PRODUCERS 8
#define PER_PRODUCER 200

struct producer {
	struct store *s;
	struct put puts[PER_PRODUCER];
	int id;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	char key[48];

	for (int i = 0; i < PER_PRODUCER; i++) {
		snprintf(key, sizeof key, "p%d-%d", p->id, i);
		put_init(&p->puts[i], key, STORE_OK);
		store_write_async(p->s, job_put, &p->puts[i], put_done);
	}
	return NULL;
}

static void test_async_many_threads(void **state)
{
	struct fixture *f = *state;
	struct producer *ps = xcalloc(PRODUCERS, sizeof *ps);
	pthread_t t[PRODUCERS];
	int bad = 0;

	for (int i = 0; i < PRODUCERS; i++) {
		ps[i].s = f->s;
		ps[i].id = i;
		pthread_create(&t[i], NULL, produce, &ps[i]);
	}
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(tally_wait(PRODUCERS * PER_PRODUCER), PRODUCERS * PER_PRODUCER);
	for (int i = 0; i < PRODUCERS; i++)
		for (int j = 0; j < PER_PRODUCER; j++)
			bad += ps[i].puts[j].rc != STORE_OK;
	assert_int_equal(bad, 0);
	assert_int_equal(count(f->s, "SELECT count(*) FROM settings"), PRODUCERS * PER_PRODUCER);
	free(ps);
}

struct sync_writer {
	struct store *s;
	int id, failed;
};

/* Each write is visible to this thread's reader as soon as it returns. */
static void *write_then_read(void *arg)
{
	struct sync_writer *w = arg;
	struct put p;
	char key[48];

	for (int i = 0; i < 50; i++) {
		snprintf(key, sizeof key, "s%d-%d", w->id, i);
		put_init(&p, key, STORE_OK);
		if (store_write(w->s, job_put, &p) != STORE_OK)
			w->failed++;
		else if (!has_key(w->s, key))
			w->failed++;
	}
	return NULL;
}

static void test_sync_writers_read_their_writes(void **state)
{
	struct fixture *f = *state;
	struct sync_writer w[8];
	pthread_t t[8];

	for (int i = 0; i < 8; i++) {
		w[i] = (struct sync_writer){ .s = f->s, .id = i };
		pthread_create(&t[i], NULL, write_then_read, &w[i]);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].failed, 0);
	}
	assert_int_equal(count(f->s, "SELECT count(*) FROM settings"), 8 * 50);
}

static void *close_store(void *arg)
{
	store_close(arg);
	return NULL;
}

static void test_close_drains_queue(void **state)
{
	struct fixture *f = *state;
	struct put *ps = xcalloc(100, sizeof *ps);
	struct gate g;
	pthread_t closer;
	char why[256], key[48];
	int ok = 0;

	gate_hold(f->s, &g);
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof key, "q%d", i);
		put_init(&ps[i], key, STORE_OK);
		store_write_async(f->s, job_put, &ps[i], put_done);
	}
	pthread_create(&closer, NULL, close_store, f->s);
	usleep(50 * 1000);
	assert_int_equal(tally_done(), 0);
	sem_post(&g.go);
	pthread_join(closer, NULL);
	f->s = NULL;
	assert_int_equal(tally_done(), 100);
	for (int i = 0; i < 100; i++)
		ok += ps[i].rc == STORE_OK;
	assert_int_equal(ok, 100);
	free(ps);

	assert_int_equal(store_open(f->path, &f->s, why, sizeof why), 0);
	assert_int_equal(count(f->s, "SELECT count(*) FROM settings WHERE key LIKE 'q%'"), 100);
}

static int job_org(struct store_conn *c, void *arg)
{
	(void)arg;
	return store_exec(c,
		"INSERT INTO organizations (created_at, updated_at, tags, name, kind) VALUES "
		"('t', 't', '[\"vip\", \"north\"]', 'Acme Widgets', 'client'), "
		"('t', 't', '[]', 'Globex', 'supplier')");
}

static int64_t search(struct store *s, const char *q, const char *tag)
{
	struct store_conn *c = store_acquire(s);
	struct store_stmt *st;
	struct buf sql;
	int64_t n = 0;

	buf_init(&sql, 4096);
	buf_puts(&sql, "SELECT count(*)");
	assert_non_null(store_sql_from(s, &sql, "organizations", 1));
	buf_puts(&sql, " AND ");
	store_sql_has_tag(s, &sql, "t.tags");
	st = store_prepare(c, sql.data);
	assert_non_null(st);
	store_bind_text(st, 1, q, strlen(q));
	store_bind_text(st, 2, tag, strlen(tag));
	if (store_step(st) == STORE_ROW)
		n = store_col_int(st, 0);
	store_done(st);
	buf_free(&sql);
	return n;
}

static void test_sql_fragments(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(store_write(f->s, job_org, NULL), STORE_OK);
	assert_int_equal(search(f->s, "acme", "vip"), 1);
	assert_int_equal(search(f->s, "widget*", "north"), 1);
	assert_int_equal(search(f->s, "acme", "south"), 0);
	assert_int_equal(search(f->s, "globex", "vip"), 0);
}

/* Counts organizations through a connection the caller holds. */
static int64_t count_on(struct store_conn *c)
{
	struct store_stmt *st = store_prepare(c, "SELECT count(*) FROM organizations");
	int64_t n;

	assert_non_null(st);
	assert_int_equal(store_step(st), STORE_ROW);
	n = store_col_int(st, 0);
	store_done(st);
	return n;
}

/*
 * Readers keep a snapshot across calls, but never one older than this
 * process's last commit; another process's commit shows after
 * store_refresh, or on its own within a short while.
 */
static void test_read_snapshots(void **state)
{
	struct fixture *f = *state;
	struct store_conn *c;
	sqlite3 *other;
	int64_t before;

	c = store_acquire(f->s);
	before = count_on(c);
	/* a write by this process, while the connection is held */
	assert_int_equal(store_write(f->s, job_org, NULL), STORE_OK);
	assert_int_equal(count_on(c), before + 2);
	store_release(c);
	c = store_acquire(f->s);
	assert_int_equal(count_on(c), before + 2);

	/* a write by another connection, as another process would make it */
	assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
	sqlite3_busy_timeout(other, 5000);
	assert_int_equal(sqlite3_exec(other, "INSERT INTO organizations (created_at, updated_at, "
					     "name, kind) VALUES ('t', 't', 'Outside', 'client')",
				      NULL, NULL, NULL), SQLITE_OK);
	store_refresh(c);
	assert_int_equal(count_on(c), before + 3);
	store_release(c);
	assert_int_equal(sqlite3_exec(other, "INSERT INTO organizations (created_at, updated_at, "
					     "name, kind) VALUES ('t', 't', 'Later', 'client')",
				      NULL, NULL, NULL), SQLITE_OK);
	usleep(120 * 1000);
	c = store_acquire(f->s);
	assert_int_equal(count_on(c), before + 4);
	store_release(c);

	/* an idle reader holds no snapshot after a batch: a full checkpoint can run */
	assert_int_equal(store_write(f->s, job_org, NULL), STORE_OK);
	{
		int log = -1, done = -1;

		assert_int_equal(sqlite3_wal_checkpoint_v2(other, NULL, SQLITE_CHECKPOINT_TRUNCATE,
							   &log, &done), SQLITE_OK);
		assert_int_equal(log, 0);
	}
	sqlite3_close(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test_setup_teardown(test_migrate_idempotent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_statements, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stmt_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acquire_per_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_and_constraints, setup, teardown),
		cmocka_unit_test_setup_teardown(test_job_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_isolation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_transaction_lost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_many_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_writers_read_their_writes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_close_drains_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sql_fragments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_snapshots, setup, teardown),
	};

	log_set_level(LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
