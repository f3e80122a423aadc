/*
 * store.h over both engines: open, migrate, statements and their cache,
 * result codes, the group-commit writers (isolation of a failing job,
 * durability before notification, many producers, draining on close), the
 * SQL fragments (full text, tags), ids after a copy and per-key locks.
 *
 * The backend-neutral tests run twice: on SQLite in a temp folder, and on
 * PostgreSQL in a fresh database per test, on a cluster this program starts
 * with scripts/pg.sh in a temp folder (stopped and removed at the end), or on
 * the server that RAPPORT_TEST_PG_URL names. If PostgreSQL cannot be had,
 * every PostgreSQL test fails with the reason: none is skipped.
 *
 * Jobs that must share a batch are queued behind "gate" jobs that hold every
 * writer until the test has queued them all: the first writer let go takes
 * everything queued at once, so they land in the same transaction.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <ctype.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <libgen.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "store/backend.h"
#include "store/migrate.h"
#include "store/store.h"
#include "store/walbuf.h"

enum engine { SQLITE, POSTGRES };

struct fixture {
	enum engine engine;
	char dir[64];		/* SQLite: the folder of the file */
	char path[128];
	char db[64];		/* PostgreSQL: the database made for the test */
	char url[1024];		/* what store_open was given */
	int writers;		/* writer threads: gates must hold them all */
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

static int migrations_of(const char *backend)
{
	int n = 0;

	for (const struct migration *m = migrations; m->backend; m++)
		n += strcmp(m->backend, backend) == 0;
	return n;
}

/* --- the PostgreSQL cluster ----------------------------------------------- */

static struct {
	char dir[64];		/* the cluster this program started; "" if none */
	char url[1024];		/* its server URL, or RAPPORT_TEST_PG_URL */
	char why[2048];		/* why there is none */
	int seq;
} pg;

/* scripts/pg.sh, from the work tree or from beside build/.../store_test. */
static int pg_script(char *out, size_t n)
{
	char exe[512], *dir;
	ssize_t len;

	snprintf(out, n, "scripts/pg.sh");
	if (access(out, R_OK) == 0)
		return 0;
	len = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (len <= 0)
		return -1;
	exe[len] = 0;
	dir = dirname(exe);
	for (int up = 2; up <= 4; up++) {
		snprintf(out, n, "%s", dir);
		for (int i = 0; i < up; i++)
			strncat(out, "/..", n - strlen(out) - 1);
		strncat(out, "/scripts/pg.sh", n - strlen(out) - 1);
		if (access(out, R_OK) == 0)
			return 0;
	}
	return -1;
}

/* Runs `sh scripts/pg.sh ARGS`; its last line of output goes to out. 0 if
 * it succeeded, else -1 with all it said in out. */
static int pg_sh(const char *args, char *out, size_t n)
{
	char script[600], cmd[1024], line[1024];
	size_t used = 0;
	FILE *p;
	int rc;

	out[0] = 0;
	if (pg_script(script, sizeof script)) {
		snprintf(out, n, "scripts/pg.sh not found (run from the work tree)");
		return -1;
	}
	snprintf(cmd, sizeof cmd, "sh '%s' %s 2>&1", script, args);
	if (!(p = popen(cmd, "r"))) {
		snprintf(out, n, "cannot run %s", cmd);
		return -1;
	}
	while (fgets(line, sizeof line, p)) {
		if (used + strlen(line) < n) {
			memcpy(out + used, line, strlen(line) + 1);
			used += strlen(line);
		}
	}
	rc = pclose(p);
	if (rc != 0)
		return -1;
	/* keep the last line only: the URL */
	while (used && out[used - 1] == '\n')
		out[--used] = 0;
	{
		char *nl = strrchr(out, '\n');

		if (nl)
			memmove(out, nl + 1, strlen(nl + 1) + 1);
	}
	return 0;
}

static int pg_group_setup(void **state)
{
	const char *env = getenv("RAPPORT_TEST_PG_URL");
	char args[128], out[2048];

	(void)state;
	if (env && *env) {
		snprintf(pg.url, sizeof pg.url, "%s", env);
		return 0;
	}
	snprintf(pg.dir, sizeof pg.dir, "/tmp/rapport-pg-XXXXXX");
	if (!mkdtemp(pg.dir)) {
		snprintf(pg.why, sizeof pg.why, "cannot make a temp folder for a cluster");
		pg.dir[0] = 0;
		return 0;
	}
	snprintf(args, sizeof args, "start %s", pg.dir);
	if (pg_sh(args, out, sizeof out) != 0 || strncmp(out, "postgres://", 11) != 0) {
		snprintf(pg.why, sizeof pg.why, "scripts/pg.sh start failed: %.1900s", out);
		snprintf(args, sizeof args, "stop %s", pg.dir);
		pg_sh(args, out, sizeof out);
		pg.dir[0] = 0;
		return 0;
	}
	snprintf(pg.url, sizeof pg.url, "%.1000s", out);
	return 0;
}

static int pg_group_teardown(void **state)
{
	char args[128], out[2048];

	(void)state;
	if (pg.dir[0]) {
		snprintf(args, sizeof args, "stop %s", pg.dir);
		if (pg_sh(args, out, sizeof out) != 0)
			fprintf(stderr, "pg.sh stop: %s\n", out);
	}
	return 0;
}

/* server URL with its database replaced by db and opts added to its query. */
static void pg_db_url(const char *server, const char *db, const char *opts, char *out, size_t n)
{
	const char *auth = strstr(server, "://"), *path, *query;

	auth = auth ? auth + 3 : server;
	path = auth + strcspn(auth, "/?");
	query = strchr(path, '?');
	snprintf(out, n, "%.*s/%s%s%s%s", (int)(path - server), server, db,
		 query ? query : "", opts && *opts ? (query ? "&" : "?") : "",
		 opts ? opts : "");
}

/* Runs SQL on the server's own database; 0, or -1 with the reason in why. */
static int pg_admin(const char *server, const char *sql, char *why, size_t n)
{
	PGconn *pc = PQconnectdb(server);
	PGresult *r = NULL;
	int ok = PQstatus(pc) == CONNECTION_OK;

	if (ok) {
		r = PQexec(pc, sql);
		ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	}
	if (!ok)
		snprintf(why, n, "%s: %s", sql, PQerrorMessage(pc));
	PQclear(r);
	PQfinish(pc);
	return ok ? 0 : -1;
}

/* A fresh database on server; its URL (with opts) goes to url. */
static int pg_create_db(const char *server, char *name, size_t namelen, const char *opts,
			char *url, size_t urllen, char *why, size_t whylen)
{
	char sql[256];

	snprintf(name, namelen, "rapport_unit_%d_%d", (int)getpid(), ++pg.seq);
	snprintf(sql, sizeof sql, "CREATE DATABASE %s TEMPLATE template0 ENCODING 'UTF8' "
		 "LC_COLLATE 'C' LC_CTYPE 'C'", name);
	if (pg_admin(server, sql, why, whylen))
		return -1;
	pg_db_url(server, name, opts, url, urllen);
	return 0;
}

static void pg_drop_db(const char *server, const char *name)
{
	char sql[256], why[512];

	snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
	if (pg_admin(server, sql, why, sizeof why))
		fprintf(stderr, "%s\n", why);
}

/* --- fixtures -------------------------------------------------------------- */

static int setup_sqlite(void **state)
{
	struct fixture *f = xcalloc(1, sizeof *f);
	char why[256];
	int applied = -1;

	f->engine = SQLITE;
	f->writers = 1;
	snprintf(f->dir, sizeof f->dir, "/tmp/rapport-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/t.db", f->dir);
	snprintf(f->url, sizeof f->url, "%s", f->path);
	assert_int_equal(store_open(f->url, &f->s, why, sizeof why), 0);
	assert_int_equal(store_migrate(f->s, &applied, why, sizeof why), 0);
	assert_int_equal(applied, migrations_of("sqlite"));
	tally_reset();
	*state = f;
	return 0;
}

/*
 * One writer, as SQLite has, so that gates can hold every writer (a writer
 * waits for the write lock that a gate's transaction holds, and would never
 * enter a gate of its own); the tests of two writers at work have a fixture
 * of their own.
 */
static int setup_pg_writers(void **state, int writers)
{
	struct fixture *f;
	char why[1024], opts[64];
	int applied = -1;

	if (!pg.url[0]) {
		print_error("PostgreSQL is not available: %s\n", pg.why);
		return -1;
	}
	f = xcalloc(1, sizeof *f);
	f->engine = POSTGRES;
	f->writers = writers;
	snprintf(opts, sizeof opts, "pool=6&writers=%d", writers);
	if (pg_create_db(pg.url, f->db, sizeof f->db, opts, f->url, sizeof f->url, why,
			 sizeof why)) {
		print_error("cannot create a database: %s\n", why);
		free(f);
		return -1;
	}
	if (store_open(f->url, &f->s, why, sizeof why) != 0 ||
	    store_migrate(f->s, &applied, why, sizeof why) != 0) {
		print_error("cannot open %s: %s\n", f->url, why);
		if (f->s)
			store_close(f->s);
		pg_drop_db(pg.url, f->db);
		free(f);
		return -1;
	}
	assert_int_equal(applied, migrations_of("postgres"));
	tally_reset();
	*state = f;
	return 0;
}

static int setup_pg(void **state)
{
	return setup_pg_writers(state, 1);
}

static int setup_pg2(void **state)
{
	return setup_pg_writers(state, 2);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char p[160];

	store_close(f->s);
	if (f->engine == POSTGRES) {
		pg_drop_db(pg.url, f->db);
		free(f);
		return 0;
	}
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

static void ignore_done(void *arg, int rc)
{
	(void)arg;
	(void)rc;
}

static void gate_hold_flags(struct store *s, struct gate *g, unsigned flags)
{
	sem_init(&g->entered, 0, 0);
	sem_init(&g->go, 0, 0);
	store_write_async_flags(s, job_gate, g, flags, ignore_done);
	sem_wait(&g->entered);
}

static void gate_hold(struct store *s, struct gate *g)
{
	gate_hold_flags(s, g, 0);
}

/* Holds every writer of f's store, each inside a gate job of its own. */
static void gates_hold(struct fixture *f, struct gate *g)
{
	for (int i = 0; i < f->writers; i++)
		gate_hold(f->s, &g[i]);
}

/* Lets gates from..writers-1 go. */
static void gates_open(struct fixture *f, struct gate *g, int from)
{
	for (int i = from; i < f->writers; i++)
		sem_post(&g[i].go);
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
	assert_int_equal(count(f->s, "SELECT count(*) FROM schema_migrations"),
			 migrations_of(store_backend(f->s)));
	assert_int_equal(count(f->s, "SELECT count(*) FROM organizations"), 0);
}

static void test_migrate_failure(void **state)
{
	struct fixture *f = *state;
	const char *me = store_backend(f->s);
	const char *other = strcmp(me, "sqlite") == 0 ? "postgres" : "sqlite";
	const struct migration bad[] = {
		{ me, 99, "0099_bad", "CREATE TABLE half (x INTEGER);\nINSERT INTO nosuch VALUES (1);\n" },
		{ 0, 0, 0, 0 },
	};
	const struct migration broken_fk[] = {
		{ me, 99, "0099_fk",
		  "INSERT INTO tokens (user_id, kind, hash, created_at) "
		  "VALUES (999, 'api', 'h', 'now');" },
		{ 0, 0, 0, 0 },
	};
	const struct migration good[] = {
		{ other, 99, "0099_other", "THIS IS NOT SQL" },
		{ me, 99, "0099_extra", "CREATE TABLE extra (x INTEGER);" },
		{ 0, 0, 0, 0 },
	};
	char why[256];
	int applied = -1;

	assert_int_equal(store_migrate_list(f->s, bad, &applied, why, sizeof why), -1);
	assert_non_null(strstr(why, "0099_bad"));
	assert_non_null(strstr(why, "nosuch"));
	assert_int_equal(count(f->s, f->engine == SQLITE ?
			       "SELECT count(*) FROM sqlite_schema WHERE name = 'half'" :
			       "SELECT count(*) FROM pg_tables WHERE tablename = 'half'"), 0);
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

/* Rows of a schema 3 installation, one organization of which is deleted. */
static int job_schema3_rows(struct store_conn *c, void *arg)
{
	(void)arg;
	return store_exec(c,
		"INSERT INTO organizations (id, created_at, updated_at, name, kind) VALUES "
		"(1, 't', 't', 'One', 'client'), (2, 't', 't', 'Two', 'client'), "
		"(3, 't', 't', 'Three', 'client');"
		"INSERT INTO interactions (id, created_at, updated_at, organization_id, kind, "
		"direction, occurred_at, subject) VALUES (7, 't', 't', 2, 'call', 'outbound', 't', "
		"'kept');"
		"DELETE FROM organizations WHERE id = 3;");
}

struct made {
	const char *sql;
	int64_t id;
};

static int job_make(struct store_conn *c, void *arg)
{
	struct made *m = arg;
	struct store_stmt *st = store_prepare(c, m->sql);
	int rc;

	if (!st)
		return STORE_ERROR;
	rc = store_step(st);
	if (rc == STORE_ROW)
		m->id = store_col_int(st, 0);
	store_done(st);
	return rc == STORE_ROW ? STORE_OK : STORE_ERROR;
}

/*
 * Schema 4 on an installation that has rows: the rebuilt tables keep every
 * row and id, their indexes and full-text triggers, and from then on the id
 * of a deleted newest record is not given again.
 */
static void test_migrate_ids_never_reused(void **state)
{
	struct fixture *f = *state;
	struct migration upto3[16];
	struct made org = { "INSERT INTO organizations (created_at, updated_at, name, kind) "
			    "VALUES ('t', 't', 'New', 'client') RETURNING id" };
	struct made del = { "DELETE FROM organizations WHERE id = 3 RETURNING id" };
	struct made ia = { "INSERT INTO interactions (created_at, updated_at, organization_id, "
			   "kind, direction, occurred_at, subject) VALUES ('t', 't', 1, 'note', "
			   "'internal', 't', 'zebra') RETURNING id" };
	struct store *s = NULL;
	char path[96], p[128], why[256];
	int n = 0, applied = -1;

	for (const struct migration *m = migrations; m->backend; m++)
		if (strcmp(m->backend, "sqlite") == 0 && m->number <= 3)
			upto3[n++] = *m;
	upto3[n] = (struct migration){ 0 };
	snprintf(path, sizeof path, "%s/up.db", f->dir);
	assert_int_equal(store_open(path, &s, why, sizeof why), 0);
	assert_int_equal(store_migrate_list(s, upto3, &applied, why, sizeof why), 0);
	assert_int_equal(applied, 3);
	assert_int_equal(store_write(s, job_schema3_rows, NULL), STORE_OK);
	assert_int_equal(store_migrate(s, &applied, why, sizeof why), 0);
	assert_int_equal(applied, migrations_of("sqlite") - 3);

	assert_int_equal(count(s, "SELECT count(*) FROM organizations"), 2);
	assert_int_equal(count(s, "SELECT organization_id FROM interactions WHERE id = 7"), 2);
	assert_int_equal(count(s, "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND "
				  "name = 'interactions_org_time'"), 1);
	/* made before the migration knew better: 3 was deleted while 2 was the largest */
	assert_int_equal(store_write(s, job_make, &org), STORE_OK);
	assert_int_equal(org.id, 3);
	assert_int_equal(store_write(s, job_make, &del), STORE_OK);
	assert_int_equal(store_write(s, job_make, &org), STORE_OK);
	assert_int_equal(org.id, 4);
	/* the full-text index still finds what it held, and its triggers are
	 * there again for what comes */
	assert_int_equal(store_write(s, job_make, &ia), STORE_OK);
	assert_int_equal(ia.id, 8);
	assert_int_equal(count(s, "SELECT rowid FROM interactions_fts WHERE interactions_fts "
				  "MATCH 'kept'"), 7);
	assert_int_equal(count(s, "SELECT rowid FROM interactions_fts WHERE interactions_fts "
				  "MATCH 'zebra'"), 8);
	store_close(s);
	unlink(path);
	snprintf(p, sizeof p, "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", path);
	unlink(p);
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
	if (f->engine == POSTGRES) {
		/* PostgreSQL text cannot hold a NUL: refused, not cut short */
		assert_int_equal(store_bind_text(st, 5, "a\0b", 3), STORE_ERROR);
		assert_non_null(strstr(store_errmsg(c), "NUL"));
		assert_int_equal(store_bind_text(st, 5, "a-b", 3), STORE_OK);
	} else {
		assert_int_equal(store_bind_text(st, 5, "a\0b", 3), STORE_OK);
	}
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
	assert_memory_equal(t, f->engine == POSTGRES ? "a-b" : "a\0b", 3);
	assert_int_equal(store_step(st), STORE_DONE);
	store_done(st);

	/* Bindings are cleared by store_done. */
	st = store_prepare(c, "SELECT ?, ?, ?, ?, ?");
	assert_int_equal(store_step(st), STORE_ROW);
	assert_true(store_col_null(st, 0));
	store_done(st);

	/* Booleans and counts read as integers. */
	st = store_prepare(c, "SELECT 1 = 1, 1 = 2, count(*) FROM settings WHERE key = ?");
	assert_non_null(st);
	store_bind_text(st, 1, "none", 4);
	assert_int_equal(store_step(st), STORE_ROW);
	assert_int_equal(store_col_int(st, 0), 1);
	assert_int_equal(store_col_int(st, 1), 0);
	assert_int_equal(store_col_int(st, 2), 0);
	assert_int_equal(store_step(st), STORE_DONE);
	store_done(st);

	/* '?' inside a literal, a quoted name or a comment is not a parameter. */
	st = store_prepare(c, "SELECT '?', ? AS \"a?\" -- why?\n");
	assert_non_null(st);
	assert_int_equal(store_bind_text(st, 1, "x", 1), STORE_OK);
	assert_int_not_equal(store_bind_text(st, 2, "y", 1), STORE_OK);
	assert_int_equal(store_step(st), STORE_ROW);
	assert_string_equal(store_col_text(st, 0, NULL), "?");
	assert_string_equal(store_col_text(st, 1, NULL), "x");
	store_done(st);

	assert_null(store_prepare(c, "SELECT * FROM nosuch"));
	assert_non_null(strstr(store_errmsg(c), "nosuch"));
	assert_null(store_prepare(c, "SELECT 1; SELECT 2"));
	assert_non_null(strstr(store_errmsg(c), "more than one"));
	assert_null(store_prepare(c, "  -- nothing\n"));
	assert_non_null(strstr(store_errmsg(c), "empty"));
	assert_null(store_prepare(c, "SELECT * FROM nosuch2"));
	assert_non_null(strstr(store_errmsg(c), "nosuch2"));

	/* Read connections do not write: writes go through the writer. */
	assert_int_equal(store_exec(c, "INSERT INTO settings VALUES ('x', 'y')"), STORE_ERROR);
	assert_true(strstr(store_errmsg(c), "readonly") || strstr(store_errmsg(c), "read-only"));
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
	struct store_conn *c = store_acquire(arg);

	store_release(c);
	return c;
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
	store_release(mine);
	store_release(mine);
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
	return store_exec(c, "CREATE TABLE t2 (x INTEGER); INSERT INTO t2 VALUES (1); "
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

static int job_rollback_prepared(struct store_conn *c, void *arg)
{
	(void)arg;
	return store_prepare(c, "ROLLBACK") ? STORE_OK : STORE_ERROR;
}

/* A savepoint of the job's own is its business. */
static int job_own_savepoint(struct store_conn *c, void *arg)
{
	(void)arg;
	return store_exec(c, "SAVEPOINT mine; INSERT INTO settings VALUES ('sp', 'v'); "
			     "ROLLBACK TO mine; RELEASE mine; INSERT INTO settings VALUES ('sp2', 'v')");
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
	if (f->engine == POSTGRES)
		assert_int_equal(store_write(f->s, job_rollback_prepared, NULL), STORE_ERROR);
	assert_int_equal(store_write(f->s, job_own_savepoint, NULL), STORE_OK);
	assert_false(has_key(f->s, "sp"));
	assert_true(has_key(f->s, "sp2"));
	/* A job waiting for the writer would wait for itself. */
	assert_int_equal(store_write(f->s, job_nested_write, f->s), STORE_ERROR);
	/* A statement left open by a job is taken back before the commit. */
	assert_int_equal(store_write(f->s, job_leaks_stmt, NULL), STORE_OK);
	assert_true(has_key(f->s, "leak"));
}

static void test_batch_isolation(void **state)
{
	struct fixture *f = *state;
	struct gate g0[2], g1;
	struct put a, b, c, d;

	gates_hold(f, g0);
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
	store_write_async(f->s, job_gate, &g1, ignore_done);
	sem_post(&g0[0].go);

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
	gates_open(f, g0, 1);
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

/* The INSERT of a put, run later (store_run_later). */
static int insert_later(struct store_conn *c, const char *key)
{
	struct store_stmt *st = store_prepare(c, "INSERT INTO settings (key, value) VALUES (?, 'v')");

	if (!st)
		return STORE_ERROR;
	store_bind_text(st, 1, key, strlen(key));
	return store_run_later(st);
}

/* A put whose INSERT is run later; with sql set, the job then reads its own
 * key back in the same job. */
static int job_put_later(struct store_conn *c, void *arg)
{
	struct put *p = arg;
	struct store_stmt *st;
	int rc = insert_later(c, p->key);

	if (rc != STORE_OK)
		return rc;
	if (p->sql) {	/* read it back: the later write goes out first */
		st = store_prepare(c, p->sql);
		if (!st)
			return STORE_ERROR;
		store_bind_text(st, 1, p->key, strlen(p->key));
		rc = store_step(st);
		store_done(st);
		if (rc != STORE_ROW)
			return STORE_ERROR;
	}
	return p->result;
}

/* Ten writes run later in one job: more than are kept back at once. */
static int job_many_later(struct store_conn *c, void *arg)
{
	(void)arg;
	for (int i = 0; i < 10; i++) {
		char key[16];
		int rc;

		snprintf(key, sizeof key, "o%d", i);
		if ((rc = insert_later(c, key)) != STORE_OK)
			return rc;
	}
	return STORE_OK;
}

/* Every job that was told STORE_OK kept its key, and no other did. */
static void assert_kept_iff_ok(struct store *s, struct put *p, int n)
{
	for (int i = 0; i < n; i++)
		if (strcmp(p[i].key, "k") != 0)
			assert_int_equal(has_key(s, p[i].key), p[i].rc == STORE_OK);
}

static void test_run_later(void **state)
{
	struct fixture *f = *state;
	struct gate g0[2], g1, g2, g3;
	struct put a, b, c, k, p[4], q[2], alone;
	struct store_conn *rc_conn;
	struct store_stmt *st;

	put_init(&k, "k", STORE_OK);
	assert_int_equal(store_write(f->s, job_put, &k), STORE_OK);
	tally_reset();
	/* In a batch: kept with the job, dropped with a job that fails (here
	 * a write that would fail too, and take its batch-mates with it). */
	gates_hold(f, g0);
	put_init(&a, "la", STORE_OK);
	a.sql = "SELECT 1 FROM settings WHERE key = ?";
	put_init(&b, "k", STORE_ABORT);
	put_init(&c, "lc", STORE_OK);
	store_write_async(f->s, job_put_later, &a, put_done);
	store_write_async(f->s, job_put_later, &b, put_done);
	store_write_async(f->s, job_put_later, &c, put_done);
	sem_init(&g1.entered, 0, 0);
	sem_init(&g1.go, 0, 0);
	store_write_async(f->s, job_gate, &g1, ignore_done);
	sem_post(&g0[0].go);
	sem_wait(&g1.entered);
	assert_int_equal(tally_done(), 0);
	assert_false(has_key(f->s, "la"));
	sem_post(&g1.go);
	assert_int_equal(tally_wait(3), 3);
	assert_int_equal(a.rc, STORE_OK);
	assert_int_not_equal(b.rc, STORE_OK);	/* SQLite: the taken key, at once */
	assert_int_equal(c.rc, STORE_OK);
	assert_true(has_key(f->s, "la"));
	assert_true(has_key(f->s, "lc"));
	gates_open(f, g0, 1);

	/* A write run later that fails (a taken key) fails its job, and on an
	 * engine that sent it late maybe its batch-mates too; never half. */
	tally_reset();
	gate_hold(f->s, &g2);
	put_init(&p[0], "m1", STORE_OK);
	put_init(&p[1], "k", STORE_OK);	/* taken */
	put_init(&p[2], "m2", STORE_OK);
	put_init(&p[3], "k", STORE_OK);	/* taken, and last in its batch */
	store_write_async(f->s, job_put, &p[0], put_done);
	store_write_async(f->s, job_put_later, &p[1], put_done);
	store_write_async(f->s, job_put, &p[2], put_done);
	store_write_async(f->s, job_put_later, &p[3], put_done);
	sem_post(&g2.go);
	assert_int_equal(tally_wait(4), 4);
	assert_int_not_equal(p[1].rc, STORE_OK);
	assert_int_not_equal(p[3].rc, STORE_OK);
	assert_kept_iff_ok(f->s, p, 4);
	if (f->engine == SQLITE) {	/* run at once: only the jobs at fault fail */
		assert_int_equal(p[0].rc, STORE_OK);
		assert_int_equal(p[2].rc, STORE_OK);
	}

	/* The last job of a batch, its later write failing with the COMMIT. */
	tally_reset();
	gate_hold(f->s, &g3);
	put_init(&q[0], "n1", STORE_OK);
	put_init(&q[1], "k", STORE_OK);
	store_write_async(f->s, job_put, &q[0], put_done);
	store_write_async(f->s, job_put_later, &q[1], put_done);
	sem_post(&g3.go);
	assert_int_equal(tally_wait(2), 2);
	assert_int_not_equal(q[1].rc, STORE_OK);
	assert_kept_iff_ok(f->s, q, 2);

	/* More writes run later in one job than are kept back at once. */
	assert_int_equal(store_write(f->s, job_many_later, NULL), STORE_OK);
	assert_int_equal(count(f->s, "SELECT count(*) FROM settings WHERE key LIKE 'o_'"), 10);

	/* Alone in its transaction, failing at the commit. */
	tally_reset();
	put_init(&alone, "k", STORE_OK);
	assert_int_not_equal(store_write(f->s, job_put_later, &alone), STORE_OK);
	/* and the writer goes on */
	put_init(&alone, "after", STORE_OK);
	alone.sql = "SELECT 1 FROM settings WHERE key = ?";
	assert_int_equal(store_write(f->s, job_put_later, &alone), STORE_OK);
	assert_true(has_key(f->s, "after"));

	/* Outside a job it runs now. */
	rc_conn = store_acquire(f->s);
	assert_non_null(rc_conn);
	st = store_prepare(rc_conn, "SELECT count(*) FROM settings");
	assert_non_null(st);
	assert_int_equal(store_run_later(st), STORE_OK);
	st = store_prepare(rc_conn, "SELECT nosuchcolumn FROM settings");
	if (st)	/* PostgreSQL refuses it at prepare time already */
		assert_int_not_equal(store_run_later(st), STORE_OK);
	store_release(rc_conn);
}

/*
 * Side-by-side jobs (two writers): while one such batch is held open,
 * another commits, in this store and in a second one on the same database
 * (another process); a job that must run alone waits for the open batch,
 * and so does everything queued behind it.
 */
static void test_side_by_side(void **state)
{
	struct fixture *f = *state;
	struct store *other = NULL;
	struct gate g;
	struct put s1, s2, x1, s3, x2;
	char why[512];

	assert_int_equal(store_open(f->url, &other, why, sizeof why), 0);
	gate_hold_flags(f->s, &g, STORE_JOB_SIDE_BY_SIDE);

	put_init(&s1, "s1", STORE_OK);
	store_write_async_flags(f->s, job_put, &s1, STORE_JOB_SIDE_BY_SIDE, put_done);
	assert_int_equal(tally_wait(1), 1);
	assert_int_equal(s1.rc, STORE_OK);
	put_init(&s2, "s2", STORE_OK);
	store_write_async_flags(other, job_put, &s2, STORE_JOB_SIDE_BY_SIDE, put_done);
	assert_int_equal(tally_wait(2), 2);
	assert_int_equal(s2.rc, STORE_OK);
	assert_true(has_key(f->s, "s1"));
	assert_true(has_key(f->s, "s2"));

	/* Alone: here it waits in the queue, there for the lock. */
	put_init(&x1, "x1", STORE_OK);
	store_write_async(f->s, job_put, &x1, put_done);
	put_init(&s3, "s3", STORE_OK);
	store_write_async_flags(f->s, job_put, &s3, STORE_JOB_SIDE_BY_SIDE, put_done);
	put_init(&x2, "x2", STORE_OK);
	store_write_async(other, job_put, &x2, put_done);
	usleep(300 * 1000);
	assert_int_equal(tally_done(), 2);
	/* Only the other process's writer waits for the lock: this one's job
	 * waits in the queue, without a transaction. */
	assert_int_equal(count(f->s, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
				     "AND NOT granted"), 1);
	assert_false(has_key(f->s, "x1"));
	assert_false(has_key(f->s, "s3"));
	assert_false(has_key(f->s, "x2"));
	sem_post(&g.go);
	assert_int_equal(tally_wait(5), 5);
	assert_int_equal(x1.rc, STORE_OK);
	assert_int_equal(s3.rc, STORE_OK);
	assert_int_equal(x2.rc, STORE_OK);
	assert_int_equal(count(f->s, "SELECT count(*) FROM settings WHERE key IN "
				     "('s1', 's2', 'x1', 's3', 'x2')"), 5);
	store_close(other);
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
	struct gate g[2];
	pthread_t closer;
	char why[256], key[48];
	int ok = 0;

	gates_hold(f, g);
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof key, "q%d", i);
		put_init(&ps[i], key, STORE_OK);
		store_write_async(f->s, job_put, &ps[i], put_done);
	}
	pthread_create(&closer, NULL, close_store, f->s);
	usleep(50 * 1000);
	assert_int_equal(tally_done(), 0);
	gates_open(f, g, 0);
	pthread_join(closer, NULL);
	f->s = NULL;
	assert_int_equal(tally_done(), 100);
	for (int i = 0; i < 100; i++)
		ok += ps[i].rc == STORE_OK;
	assert_int_equal(ok, 100);
	free(ps);

	assert_int_equal(store_open(f->url, &f->s, why, sizeof why), 0);
	assert_int_equal(count(f->s, "SELECT count(*) FROM settings WHERE key LIKE 'q%'"), 100);
}

/* --- the writer's VFS (walbuf.c) ------------------------------------------- */

static sqlite3 *open_raw(const char *path, const char *vfs)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
					 vfs), SQLITE_OK);
	return db;
}

static int64_t raw_count(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t n = -1;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void raw_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : "?");
}

/* A connection as the store's writer opens it: through the VFS that
 * gathers WAL writes, at synchronous=FULL, with its rollback hook, and a
 * page cache of 1 MB so that a large transaction spills into the WAL. */
static sqlite3 *open_gathering(const char *path)
{
	sqlite3 *db = open_raw(path, walbuf_vfs_name());

	raw_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-1024");
	sqlite3_rollback_hook(db, walbuf_rolled_back, db);
	return db;
}

/* n rows of 2000 bytes */
#define BIG_INSERT(n) "INSERT INTO t (v) SELECT printf('%.2000c', 'x') FROM (WITH RECURSIVE " \
		      "n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " #n ") SELECT i FROM n)"

/*
 * The VFS that gathers the writer's WAL writes (walbuf.c): every commit is
 * seen at once by a connection through the default VFS, with transactions
 * of one row and of several megabytes (more than is gathered at once, and
 * more than the page cache holds, so that pages spill into the WAL before
 * the commit and are read back); a large transaction rolled back leaves
 * nothing behind, even when another connection commits at the offsets its
 * frames had and the writer then reads; and what a process committed
 * before it was killed without closing anything is there for the next.
 */
static void test_walbuf(void **state)
{
	struct fixture *f = *state;
	char path[160];
	sqlite3 *w, *r, *o;
	pid_t pid;
	int status;

	assert_non_null(walbuf_vfs_name());
	snprintf(path, sizeof path, "%s/walbuf.db", f->dir);
	w = open_gathering(path);
	raw_exec(w, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
	sqlite3_close(w);
	/* first the killed process, before this one holds the file open */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		sqlite3 *c = NULL;

		if (sqlite3_open_v2(path, &c, SQLITE_OPEN_READWRITE, walbuf_vfs_name()) !=
			    SQLITE_OK ||
		    sqlite3_exec(c, "PRAGMA synchronous=FULL; INSERT INTO t (v) VALUES ('killed')",
				 NULL, NULL, NULL) != SQLITE_OK)
			_exit(1);
		kill(getpid(), SIGKILL);	/* no close, no checkpoint */
		_exit(2);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	r = open_raw(path, NULL);
	assert_int_equal(raw_count(r, "SELECT count(*) FROM t WHERE v = 'killed'"), 1);
	w = open_gathering(path);
	for (int i = 0; i < 50; i++) {
		char sql[96];

		snprintf(sql, sizeof sql, "INSERT INTO t (v) VALUES ('row %d')", i);
		raw_exec(w, sql);
		assert_int_equal(raw_count(r, "SELECT count(*) FROM t"), i + 2);
	}
	raw_exec(w, "BEGIN; " BIG_INSERT(5000) "; SELECT count(*) FROM t; COMMIT");
	assert_int_equal(raw_count(r, "SELECT count(*) FROM t"), 5051);
	assert_int_equal(raw_count(r, "SELECT sum(length(v)) FROM t WHERE id > 51"), 5000 * 2000);

	/* rolled back after spilling a few hundred frames (less than is
	 * gathered at once); another connection commits where they were; w
	 * reads, which must not write them there */
	raw_exec(w, "BEGIN; " BIG_INSERT(1000) "; ROLLBACK");
	o = open_raw(path, NULL);
	raw_exec(o, "PRAGMA synchronous=FULL; INSERT INTO t (v) VALUES ('other')");
	sqlite3_close(o);
	assert_int_equal(raw_count(w, "SELECT count(*) FROM t"), 5052);
	assert_int_equal(raw_count(w, "SELECT sum(length(v)) FROM t WHERE id > 51"),
			 5000 * 2000 + 5);
	sqlite3_close(w);
	sqlite3_close(r);
	r = open_raw(path, NULL);
	assert_int_equal(raw_count(r, "SELECT count(*) FROM pragma_integrity_check "
				   "WHERE integrity_check = 'ok'"), 1);
	assert_int_equal(raw_count(r, "SELECT count(*) FROM t"), 5052);
	assert_int_equal(raw_count(r, "SELECT count(*) FROM t WHERE v = 'other'"), 1);
	sqlite3_close(r);
}

/* --- reads handed over (store_read_async) ------------------------------ */

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* What one read was told: its rows' first column as text, and when. */
struct read {
	int rc;			/* -1 until done */
	int nrows;		/* -1: rows came with an error */
	char value[64];
	pthread_t thread;	/* where done ran */
};

static pthread_mutex_t reads_lock = PTHREAD_MUTEX_INITIALIZER;

static void read_got(void *arg, struct store_stmt *rows, int rc)
{
	struct read *r = arg;
	int step;

	r->nrows = 0;
	if (rc == STORE_OK) {
		while ((step = store_step(rows)) == STORE_ROW) {
			const char *v = store_col_text(rows, 0, NULL);

			if (r->nrows++ == 0)
				snprintf(r->value, sizeof r->value, "%s", v ? v : "(null)");
		}
		if (step != STORE_DONE)
			rc = step;
	} else if (store_step(rows) == STORE_ROW) {
		r->nrows = -1;		/* rows with an error: the test says so */
	}
	r->thread = pthread_self();
	pthread_mutex_lock(&reads_lock);
	r->rc = rc;
	pthread_mutex_unlock(&reads_lock);
	tally_add(rc == STORE_OK);
}

/* Hands over sql with one text parameter, or none if param is NULL. */
static void read_send(struct store *s, const char *sql, const char *param, struct read *r)
{
	struct store_stmt *st = store_read_prepare(s, sql);

	assert_non_null(st);
	memset(r, 0, sizeof *r);
	r->rc = -1;
	if (param)
		assert_int_equal(store_bind_text(st, 1, param, strlen(param)), STORE_OK);
	store_read_async(st, read_got, r);
}

#define NREADS 40

/*
 * Many reads handed over at once, with different statements, one that
 * fails as it runs, one that finds nothing: each gets its own outcome and
 * sees the writes committed before. On PostgreSQL a slow read goes first,
 * so that the rest wait and go out together in one pipeline (taken by the
 * second reader once they have waited a while), where the failure skips
 * the reads behind it: they must be sent again, not failed.
 */
static void test_read_async(void **state)
{
	struct fixture *f = *state;
	struct read *r = xcalloc(NREADS + 2, sizeof *r), slow;
	const char *bad_sql = f->engine == POSTGRES ? "SELECT CAST(? AS integer)" : "SELECT json(?)";
	struct put p;
	char key[32];
	int base = 0, n;

	assert_int_equal(store_defers_reads(f->s), f->engine == POSTGRES);
	for (int i = 0; i < NREADS; i += 2) {
		snprintf(key, sizeof key, "read%d", i);
		put_init(&p, key, STORE_OK);
		assert_int_equal(store_write(f->s, job_put, &p), STORE_OK);
	}
	tally_reset();
	if (f->engine == POSTGRES) {
		read_send(f->s, "SELECT CAST(pg_sleep(0.3) AS text)", NULL, &slow);
		base = 1;
	}
	for (int i = 0; i < NREADS; i++) {
		snprintf(key, sizeof key, "read%d", i);
		if (i == NREADS / 4)
			read_send(f->s, bad_sql, "not a number {", &r[i]);
		else if (i % 3 == 0)
			read_send(f->s, "SELECT key FROM settings WHERE key = ?", key, &r[i]);
		else
			read_send(f->s, "SELECT value || ':' || key FROM settings WHERE key = ?", key,
				  &r[i]);
		if (f->engine == SQLITE)	/* done ran before the call returned */
			assert_int_not_equal(r[i].rc, -1);
	}
	n = tally_wait(NREADS + base);
	assert_int_equal(n, NREADS + base);
	for (int i = 0; i < NREADS; i++) {
		if (i == NREADS / 4) {
			assert_int_equal(r[i].rc, STORE_ERROR);
			assert_int_equal(r[i].nrows, 0);
			continue;
		}
		assert_int_equal(r[i].rc, STORE_OK);
		snprintf(key, sizeof key, "read%d", i);
		if (i % 2) {
			assert_int_equal(r[i].nrows, 0);
		} else {
			assert_int_equal(r[i].nrows, 1);
			if (i % 3 == 0)
				assert_string_equal(r[i].value, key);
			else
				assert_string_equal(r[i].value + 2, key);
		}
		assert_true(pthread_equal(r[i].thread, pthread_self()) == (f->engine == SQLITE));
	}
	if (f->engine == POSTGRES) {
		assert_int_equal(slow.rc, STORE_OK);
		/* a parameter PostgreSQL cannot take: the bind and the read fail */
		struct store_stmt *st = store_read_prepare(f->s, "SELECT ?");

		assert_non_null(st);
		assert_int_equal(store_bind_text(st, 1, "a\0b", 3), STORE_ERROR);
		store_read_async(st, read_got, &r[NREADS]);
		assert_int_equal(tally_wait(NREADS + base + 1), NREADS + base + 1);
		assert_int_equal(r[NREADS].rc, STORE_ERROR);
		/* SQL the server refuses fails its read alone */
		read_send(f->s, "SELECT no_such_column FROM settings", NULL, &r[NREADS]);
		read_send(f->s, "SELECT 'still here'", NULL, &r[NREADS + 1]);
		assert_int_equal(tally_wait(NREADS + base + 3), NREADS + base + 3);
		assert_int_equal(r[NREADS].rc, STORE_ERROR);
		assert_int_equal(r[NREADS + 1].rc, STORE_OK);
		assert_string_equal(r[NREADS + 1].value, "still here");
		/* one statement, no transaction control */
		assert_null(store_read_prepare(f->s, "SELECT 1; SELECT 2"));
		assert_null(store_read_prepare(f->s, "BEGIN"));
	}
	free(r);
}

/* Holds an exclusive lock on settings in a write job until released. */
struct table_lock {
	sem_t locked, release;
};

static int job_lock_settings(struct store_conn *c, void *arg)
{
	struct table_lock *l = arg;
	int rc = store_exec(c, "LOCK TABLE settings IN ACCESS EXCLUSIVE MODE");

	sem_post(&l->locked);
	sem_wait(&l->release);
	return rc;
}

/* Hands over n reads of sql (one text parameter) and waits for them all;
 * how long that took. */
static double reads_of(struct store *s, const char *sql, struct read *r, int n)
{
	struct timespec t0;

	tally_reset();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < n; i++)
		read_send(s, sql, "x", &r[i]);
	tally_wait(n);
	return seconds_since(&t0);
}

/*
 * Reads of a table another session has locked fail with STORE_BUSY after
 * one lock timeout (10 s), not one each. The first read goes alone to one
 * reader and waits; the rest go together to the other reader once they
 * have waited a while. There, with the text prepared on both pooled
 * connections, the first read times out and the ones it made the server
 * skip fail with it; with a text not prepared yet, the prepare times out
 * once and the other reads of that text are not prepared again.
 */
static void test_pg_reads_wait_one_timeout(void **state)
{
	struct fixture *f = *state;
	const char *known = "SELECT key FROM settings WHERE key = ?";
	struct store *s, *other;
	struct store_conn *c;
	struct table_lock l;
	struct read r[6];
	char url[1200], why[256];
	double known_s, new_s;

	snprintf(url, sizeof url, "%s&pool=2&writers=1", f->url);
	assert_int_equal(store_open(url, &s, why, sizeof why), 0);
	/* known prepared on both connections: the reader takes the one most
	 * recently given back, then (this thread holding that one) the other */
	for (int i = 0; i < 2; i++) {
		c = i ? store_acquire(s) : NULL;
		reads_of(s, known, r, 1);
		assert_int_equal(r[0].rc, STORE_OK);
		store_release(c);
	}
	sem_init(&l.locked, 0, 0);
	sem_init(&l.release, 0, 0);
	assert_int_equal(store_open(f->url, &other, why, sizeof why), 0);
	store_write_async(other, job_lock_settings, &l, ignore_done);
	sem_wait(&l.locked);
	known_s = reads_of(s, known, r, 6);
	for (int i = 0; i < 6; i++)
		assert_int_equal(r[i].rc, STORE_BUSY);
	new_s = reads_of(s, "SELECT value FROM settings WHERE key = ?", r, 6);
	for (int i = 0; i < 6; i++)
		assert_int_equal(r[i].rc, STORE_BUSY);
	sem_post(&l.release);
	store_close(other);
	sem_destroy(&l.locked);
	sem_destroy(&l.release);
	assert_true(known_s < 15);
	assert_true(new_s < 15);
	reads_of(s, known, r, 1);
	assert_int_equal(r[0].rc, STORE_OK);
	store_close(s);
}

/* Closing the store answers every read handed over first. */
static void test_close_answers_reads(void **state)
{
	struct fixture *f = *state;
	struct read r[10];
	char why[256];

	tally_reset();
	read_send(f->s, "SELECT CAST(pg_sleep(0.2) AS text)", NULL, &r[0]);
	for (int i = 1; i < 10; i++)
		read_send(f->s, "SELECT 'answered'", NULL, &r[i]);
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(tally_done(), 10);
	for (int i = 1; i < 10; i++) {
		assert_int_equal(r[i].rc, STORE_OK);
		assert_string_equal(r[i].value, "answered");
	}
	assert_int_equal(store_open(f->url, &f->s, why, sizeof why), 0);
}

static int job_org(struct store_conn *c, void *arg)
{
	(void)arg;
	return store_exec(c,
		"INSERT INTO organizations (created_at, updated_at, tags, name, kind) VALUES "
		"('t', 't', '[\"vip\", \"north\"]', 'Acme Widgets', 'client'), "
		"('t', 't', '[]', 'Globex', 'supplier')");
}

static int job_search_data(struct store_conn *c, void *arg)
{
	(void)arg;
	return store_exec(c,
		"INSERT INTO organizations (created_at, updated_at, tags, name, kind, email, website, "
		"city) VALUES "
		"('t', 't', '[\"vip\", \"north\"]', 'Acme Widgets', 'client', "
		" 'sales@acme-widgets.example', NULL, 'Göteborg'), "
		"('t', 't', '[\"it''s\"]', 'Globex', 'supplier', NULL, "
		" 'https://globex.example/about_us', 'Zürich'), "
		"('t', 't', '[]', 'Crème Brûlée Ltd', 'partner', NULL, NULL, 'Paris'); "
		"INSERT INTO people (created_at, updated_at, given_name, family_name, emails) VALUES "
		"('t', 't', 'Ann', 'Lee', '[\"ann.lee@example.com\"]'), "
		"('t', 't', 'Tove', 'Ångström', '[]'); "
		"INSERT INTO interactions (created_at, updated_at, kind, direction, occurred_at, "
		"subject, body) VALUES "
		"('t', 't', 'call', 'inbound', 't', 'Renewal pricing', "
		" 'They expect a 3.5% discount for a three-year term.')");
}

/*
 * Rows of table that match the words of q (the last as a prefix if asked)
 * and, with tag, carry that tag: through store_sql_from, store_fts_param
 * and store_sql_has_tag, as the lists build them. q NULL: no full text.
 */
static int64_t search(struct store *s, const char *table, const char *q, int prefix,
		      const char *tag)
{
	struct store_conn *c = store_acquire(s);
	struct store_word words[8];
	struct store_stmt *st;
	struct buf sql;
	char *param = NULL;
	int64_t n = -1;
	int nw = 0, idx = 1;

	assert_non_null(c);
	for (const char *p = q; p && *p;) {
		size_t len = strcspn(p, " ");

		if (len) {
			words[nw].p = p;
			words[nw++].len = len;
		}
		p += len + (p[len] == ' ');
	}
	buf_init(&sql, 4096);
	buf_puts(&sql, "SELECT count(*)");
	assert_non_null(store_sql_from(s, &sql, table, q != NULL));
	if (tag) {
		buf_puts(&sql, " AND ");
		store_sql_has_tag(s, &sql, "t.tags");
	}
	st = store_prepare(c, sql.data);
	assert_non_null(st);
	if (q) {
		param = store_fts_param(s, words, nw, prefix);
		store_bind_text(st, idx++, param, strlen(param));
	}
	if (tag)
		store_bind_text(st, idx++, tag, strlen(tag));
	if (store_step(st) == STORE_ROW)
		n = store_col_int(st, 0);
	store_done(st);
	buf_free(&sql);
	free(param);
	store_release(c);
	return n;
}

/* Full text and tags find the same rows on both engines. */
static void test_sql_fragments(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(store_write(f->s, job_search_data, NULL), STORE_OK);
	assert_int_equal(search(f->s, "organizations", "acme", 0, NULL), 1);
	assert_int_equal(search(f->s, "organizations", "ACME", 0, NULL), 1);
	assert_int_equal(search(f->s, "organizations", "widget", 1, NULL), 1);
	assert_int_equal(search(f->s, "organizations", "widget", 0, NULL), 0);
	assert_int_equal(search(f->s, "organizations", "acme widgets", 0, NULL), 1);
	assert_int_equal(search(f->s, "organizations", "acme glo", 1, NULL), 0);
	assert_int_equal(search(f->s, "organizations", "glo", 1, NULL), 1);
	/* addresses and URLs split at their punctuation */
	assert_int_equal(search(f->s, "organizations", "example", 0, NULL), 2);
	assert_int_equal(search(f->s, "organizations", "sales", 0, NULL), 1);
	assert_int_equal(search(f->s, "organizations", "about", 0, NULL), 1);
	assert_int_equal(search(f->s, "organizations", "us", 0, NULL), 1);
	/* case and diacritics fold */
	assert_int_equal(search(f->s, "organizations", "göteborg", 0, NULL), 1);
	assert_int_equal(search(f->s, "organizations", "goteborg", 0, NULL), 1);
	assert_int_equal(search(f->s, "organizations", "ZURICH", 0, NULL), 1);
	assert_int_equal(search(f->s, "organizations", "creme brulee", 0, NULL), 1);
	assert_int_equal(search(f->s, "organizations", "CRÈME", 0, NULL), 1);
	assert_int_equal(search(f->s, "people", "lee", 0, NULL), 1);
	assert_int_equal(search(f->s, "people", "an", 1, NULL), 2);
	assert_int_equal(search(f->s, "people", "angstrom", 0, NULL), 1);
	assert_int_equal(search(f->s, "people", "example", 0, NULL), 1);
	assert_int_equal(search(f->s, "interactions", "discount three", 0, NULL), 1);
	assert_int_equal(search(f->s, "interactions", "5", 0, NULL), 1);
	assert_int_equal(search(f->s, "interactions", "year term", 0, NULL), 1);
	assert_int_equal(search(f->s, "interactions", "pricing", 0, NULL), 1);
	assert_int_equal(search(f->s, "interactions", "price", 0, NULL), 0);

	assert_int_equal(search(f->s, "organizations", "acme", 0, "vip"), 1);
	assert_int_equal(search(f->s, "organizations", "widget", 1, "north"), 1);
	assert_int_equal(search(f->s, "organizations", "acme", 0, "south"), 0);
	assert_int_equal(search(f->s, "organizations", "globex", 0, "vip"), 0);
	assert_int_equal(search(f->s, "organizations", NULL, 0, "vip"), 1);
	assert_int_equal(search(f->s, "organizations", NULL, 0, "it's"), 1);
	assert_int_equal(search(f->s, "organizations", NULL, 0, "vi"), 0);
	assert_int_equal(search(f->s, "organizations", NULL, 0, NULL), 3);
}

/* --- ids after a copy, per-key locks ---------------------------------------- */

struct copied {
	int64_t id;	/* of the row inserted after the reset */
};

static int job_copy(struct store_conn *c, void *arg)
{
	int rc = store_exec(c, "INSERT INTO organizations (id, created_at, updated_at, name, kind) "
			       "VALUES (100, 't', 't', 'A', 'client'), (250, 't', 't', 'B', 'client')");

	(void)arg;
	if (rc == STORE_OK)
		rc = store_reset_ids(c, "organizations");
	if (rc == STORE_OK)
		rc = store_reset_ids(c, "people");
	return rc;
}

static int job_insert_after_copy(struct store_conn *c, void *arg)
{
	struct copied *out = arg;
	struct store_stmt *st = store_prepare(c,
		"INSERT INTO organizations (created_at, updated_at, name, kind) "
		"VALUES ('t', 't', 'C', 'client') RETURNING id");
	int rc;

	if (!st)
		return STORE_ERROR;
	rc = store_step(st);
	if (rc == STORE_ROW) {
		out[0].id = store_col_int(st, 0);
		rc = STORE_OK;
	}
	store_done(st);
	if (rc != STORE_OK)
		return rc;
	st = store_prepare(c, "INSERT INTO people (created_at, updated_at, given_name) "
			      "VALUES ('t', 't', 'P') RETURNING id");
	if (!st)
		return STORE_ERROR;
	rc = store_step(st);
	if (rc == STORE_ROW) {
		out[1].id = store_col_int(st, 0);
		rc = STORE_OK;
	}
	store_done(st);
	return rc;
}

static int job_reset_bad_name(struct store_conn *c, void *arg)
{
	(void)arg;
	return store_reset_ids(c, "organizations; DROP TABLE users");
}

static void test_reset_ids(void **state)
{
	struct fixture *f = *state;
	struct copied after[2] = { { 0 }, { 0 } };

	assert_int_equal(store_write(f->s, job_copy, NULL), STORE_OK);
	assert_int_equal(store_write(f->s, job_insert_after_copy, after), STORE_OK);
	assert_int_equal(after[0].id, 251);
	assert_int_equal(after[1].id, 1);
	if (f->engine == POSTGRES)
		assert_int_equal(store_write(f->s, job_reset_bad_name, NULL), STORE_ERROR);
	assert_int_equal(count(f->s, "SELECT count(*) FROM users"), 0);
}

struct locker {
	struct store *s;
	const char *key, *mine, *other;
	int hold_ms;
	sem_t *entered;		/* posted once the lock is held */
	int saw_other;		/* other's row was there once the lock was held */
	int rc;
};

static int job_locked(struct store_conn *c, void *arg)
{
	struct locker *l = arg;
	struct store_stmt *st;
	int rc = l->key ? store_lock(c, l->key) : STORE_OK;

	if (rc != STORE_OK)
		return rc;
	if (l->entered)
		sem_post(l->entered);
	st = store_prepare(c, "SELECT 1 FROM settings WHERE key = ?");
	if (!st)
		return STORE_ERROR;
	store_bind_text(st, 1, l->other, strlen(l->other));
	rc = store_step(st);
	l->saw_other = rc == STORE_ROW;
	store_done(st);
	if (rc != STORE_ROW && rc != STORE_DONE)
		return rc;
	st = store_prepare(c, "INSERT INTO settings (key, value) VALUES (?, 'v')");
	if (!st)
		return STORE_ERROR;
	store_bind_text(st, 1, l->mine, strlen(l->mine));
	rc = store_step(st);
	store_done(st);
	if (rc != STORE_DONE)
		return rc;
	usleep((useconds_t)l->hold_ms * 1000);
	return STORE_OK;
}

static void *lock_thread(void *arg)
{
	struct locker *l = arg;

	l->rc = store_write(l->s, job_locked, l);
	return NULL;
}

/*
 * Two jobs on one key from two threads: the second waits for the first to
 * commit (it then sees the first one's row), even when another writer is
 * free to run it at once.
 */
static void test_lock_serialises(void **state)
{
	struct fixture *f = *state;
	sem_t entered;
	struct locker a = { f->s, "idem:1:k", "A", "B", 400, NULL, 0, -1 };
	struct locker b = { f->s, "idem:1:k", "B", "A", 0, NULL, 0, -1 };
	pthread_t ta, tb;

	sem_init(&entered, 0, 0);
	a.entered = &entered;
	pthread_create(&ta, NULL, lock_thread, &a);
	sem_wait(&entered);
	pthread_create(&tb, NULL, lock_thread, &b);
	pthread_join(tb, NULL);
	pthread_join(ta, NULL);
	assert_int_equal(a.rc, STORE_OK);
	assert_int_equal(b.rc, STORE_OK);
	assert_false(a.saw_other);
	assert_true(b.saw_other);
	sem_destroy(&entered);
}

/*
 * Without any key, too: a job sees every write committed before it, even
 * with another writer free, so that a rule checked by reading and then
 * writing (no cycles, no dangling references) holds under concurrency on
 * both engines.
 */
static void test_writes_serialised(void **state)
{
	struct fixture *f = *state;
	sem_t entered;
	struct locker a = { f->s, NULL, "A", "B", 400, NULL, 0, -1 };
	struct locker b = { f->s, NULL, "B", "A", 0, NULL, 0, -1 };
	pthread_t ta, tb;

	sem_init(&entered, 0, 0);
	a.entered = &entered;
	pthread_create(&ta, NULL, lock_thread, &a);
	sem_wait(&entered);
	pthread_create(&tb, NULL, lock_thread, &b);
	pthread_join(tb, NULL);
	pthread_join(ta, NULL);
	assert_int_equal(a.rc, STORE_OK);
	assert_int_equal(b.rc, STORE_OK);
	assert_false(a.saw_other);
	assert_true(b.saw_other);
	sem_destroy(&entered);
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

/* --- PostgreSQL only --------------------------------------------------------- */


static void test_pg_open_errors(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;
	struct timespec t0;
	PQconninfoOption *opts, *o;
	char why[512], url[1200], plain[1200];
	int applied = -1;

	assert_int_equal(store_open("postgres://u@127.0.0.1/db?pool=0", &s, why, sizeof why), -1);
	assert_non_null(strstr(why, "pool=0"));
	assert_int_equal(store_open("postgres://u@127.0.0.1/db?pool=x", &s, why, sizeof why), -1);
	assert_int_equal(store_open("postgres://u@127.0.0.1/db?pool=2&writers=3", &s, why,
				    sizeof why), -1);
	assert_non_null(strstr(why, "writers"));
	assert_int_equal(store_open("postgresql://u@127.0.0.1/db?writers=99", &s, why, sizeof why),
			 -1);
	/* nobody listens on port 1: refused at once, with libpq's reason */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(store_open("postgres://u@127.0.0.1:1/db", &s, why, sizeof why), -1);
	assert_non_null(strstr(why, "cannot connect to PostgreSQL"));
	assert_true(seconds_since(&t0) < 5);
	/* an option libpq does not know is libpq's to refuse */
	assert_int_equal(store_open("postgres://u@127.0.0.1:1/db?nonsense=1", &s, why, sizeof why),
			 -1);
	assert_non_null(strstr(why, "nonsense"));

	/* our options are taken out before libpq sees the URL */
	snprintf(url, sizeof url, "%s&pool=3&writers=1", f->url);
	assert_int_equal(store_open(url, &s, why, sizeof why), 0);
	assert_string_equal(store_backend(s), "postgres");
	assert_int_equal(store_migrate(s, &applied, why, sizeof why), 0);
	assert_int_equal(applied, 0);
	store_close(s);

	/* "postgres:" alone: everything from the PG* environment variables */
	pg_db_url(pg.url, f->db, NULL, plain, sizeof plain);
	opts = PQconninfoParse(plain, NULL);
	assert_non_null(opts);
	for (o = opts; o->keyword; o++) {
		if (!o->val)
			continue;
		if (!strcmp(o->keyword, "host"))
			setenv("PGHOST", o->val, 1);
		else if (!strcmp(o->keyword, "port"))
			setenv("PGPORT", o->val, 1);
		else if (!strcmp(o->keyword, "user"))
			setenv("PGUSER", o->val, 1);
		else if (!strcmp(o->keyword, "dbname"))
			setenv("PGDATABASE", o->val, 1);
		else if (!strcmp(o->keyword, "password"))
			setenv("PGPASSWORD", o->val, 1);
	}
	PQconninfoFree(opts);
	assert_int_equal(store_open("postgres:", &s, why, sizeof why), 0);
	assert_int_equal(count(s, "SELECT count(*) FROM schema_migrations"),
			 migrations_of("postgres"));
	store_close(s);
	assert_int_equal(store_open("postgres:?pool=1", &s, why, sizeof why), 0);
	store_close(s);
	unsetenv("PGHOST");
	unsetenv("PGPORT");
	unsetenv("PGUSER");
	unsetenv("PGDATABASE");
	unsetenv("PGPASSWORD");
}

static int job_suicide(struct store_conn *c, void *arg)
{
	(void)arg;
	return store_exec(c, "SELECT pg_terminate_backend(pg_backend_pid())");
}

/* The connection dies mid-batch: the jobs run so far in its transaction
 * lost their work and hear so; the rest of the batch goes on. */
static void test_pg_connection_lost_in_batch(void **state)
{
	struct fixture *f = *state;
	struct gate g[2];
	struct put x, bad, y;

	gates_hold(f, g);
	put_init(&x, "x", STORE_OK);
	put_init(&bad, "bad", STORE_OK);
	put_init(&y, "y", STORE_OK);
	store_write_async(f->s, job_put, &x, put_done);
	store_write_async(f->s, job_suicide, &bad, put_done);
	store_write_async(f->s, job_put, &y, put_done);
	sem_post(&g[0].go);
	assert_int_equal(tally_wait(3), 3);
	gates_open(f, g, 1);
	assert_int_equal(x.rc, STORE_UNAVAILABLE);
	assert_int_equal(bad.rc, STORE_UNAVAILABLE);
	assert_int_equal(y.rc, STORE_OK);
	assert_false(has_key(f->s, "x"));
	assert_true(has_key(f->s, "y"));
}

struct migrator {
	const char *url;
	int rc, applied;
	char why[256];
};

static void *migrate_thread(void *arg)
{
	struct migrator *m = arg;
	struct store *s;

	m->rc = store_open(m->url, &s, m->why, sizeof m->why);
	if (m->rc == 0) {
		m->rc = store_migrate(s, &m->applied, m->why, sizeof m->why);
		store_close(s);
	}
	return NULL;
}

/* Two processes starting at once on an empty database: one migrates. */
static void test_pg_migrate_concurrently(void **state)
{
	struct fixture *f = *state;
	struct migrator m[3];
	pthread_t t[3];
	char name[64], url[1024], why[512];
	struct store *s;

	(void)f;
	assert_int_equal(pg_create_db(pg.url, name, sizeof name, "pool=1", url, sizeof url, why,
				      sizeof why), 0);
	for (int i = 0; i < 3; i++) {
		m[i] = (struct migrator){ .url = url, .rc = -1, .applied = -1 };
		pthread_create(&t[i], NULL, migrate_thread, &m[i]);
	}
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 3; i++)
		assert_int_equal(m[i].rc, 0);
	assert_int_equal(m[0].applied + m[1].applied + m[2].applied, migrations_of("postgres"));
	assert_int_equal(store_open(url, &s, why, sizeof why), 0);
	assert_int_equal(count(s, "SELECT count(*) FROM schema_migrations"),
			 migrations_of("postgres"));
	store_close(s);
	pg_drop_db(pg.url, name);
}

struct sleeper {
	struct store *s;
	sem_t started;
	int rc;
};

static void *sleep_thread(void *arg)
{
	struct sleeper *z = arg;
	struct store_conn *c = store_acquire(z->s);
	struct store_stmt *st = c ? store_prepare(c, "SELECT pg_sleep(1.5)") : NULL;

	sem_post(&z->started);
	z->rc = st ? store_step(st) : STORE_ERROR;
	store_done(st);
	store_release(c);
	return NULL;
}

static int job_sleep(struct store_conn *c, void *arg)
{
	(void)arg;
	return store_exec(c, "SELECT pg_sleep(1.5)");
}

/* A slow read holds back neither reads nor writes; a slow write holds back
 * no read (writes wait for it: they are serialised). */
static void test_pg_slow_query_blocks_nobody(void **state)
{
	struct fixture *f = *state;
	struct sleeper z = { .s = f->s, .rc = -1 };
	struct timespec t0;
	struct put p, slow;
	struct read slow_read, quick_read;
	pthread_t t;

	sem_init(&z.started, 0, 0);
	pthread_create(&t, NULL, sleep_thread, &z);
	sem_wait(&z.started);
	usleep(100 * 1000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(count(f->s, "SELECT count(*) FROM settings"), 0);
	put_init(&p, "quick", STORE_OK);
	assert_int_equal(store_write(f->s, job_put, &p), STORE_OK);
	assert_true(has_key(f->s, "quick"));
	assert_true(seconds_since(&t0) < 0.7);
	pthread_join(t, NULL);
	assert_int_equal(z.rc, STORE_ROW);

	put_init(&slow, "slow", STORE_OK);
	store_write_async(f->s, job_sleep, &slow, put_done);
	usleep(100 * 1000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_true(has_key(f->s, "quick"));
	assert_int_equal(count(f->s, "SELECT count(*) FROM settings"), 1);
	assert_true(seconds_since(&t0) < 0.7);
	assert_int_equal(tally_wait(1), 1);
	assert_int_equal(slow.rc, STORE_OK);
	sem_destroy(&z.started);

	/* nor does a slow read handed over hold back the next one */
	tally_reset();
	read_send(f->s, "SELECT CAST(pg_sleep(1.5) AS text)", NULL, &slow_read);
	usleep(100 * 1000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	read_send(f->s, "SELECT 'quick'", NULL, &quick_read);
	while (tally_done() < 1 && seconds_since(&t0) < 5)
		usleep(5 * 1000);
	assert_true(seconds_since(&t0) < 0.7);
	assert_int_equal(quick_read.rc, STORE_OK);
	assert_string_equal(quick_read.value, "quick");
	assert_int_equal(tally_wait(2), 2);
	assert_int_equal(slow_read.rc, STORE_OK);
}

struct taker {
	struct store *s;
	struct store_conn *got;
	double waited;
};

static void *take_thread(void *arg)
{
	struct taker *k = arg;
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	k->got = store_acquire(k->s);
	k->waited = seconds_since(&t0);
	if (k->got)
		store_release(k->got);
	return NULL;
}

/* With every connection lent, store_acquire gives up after a few seconds
 * (the API answers 503) instead of waiting for ever. */
static void test_pg_pool_exhausted(void **state)
{
	struct fixture *f = *state;
	struct store *s;
	struct store_conn *mine;
	struct taker k = { 0 };
	char url[1200], why[256];
	pthread_t t;

	snprintf(url, sizeof url, "%s&pool=1&writers=1", f->url);
	assert_int_equal(store_open(url, &s, why, sizeof why), 0);
	mine = store_acquire(s);
	assert_non_null(mine);
	k.s = s;
	pthread_create(&t, NULL, take_thread, &k);
	pthread_join(t, NULL);
	assert_null(k.got);
	assert_true(k.waited > 3 && k.waited < 8);
	store_release(mine);
	pthread_create(&t, NULL, take_thread, &k);
	pthread_join(t, NULL);
	assert_non_null(k.got);
	assert_true(k.waited < 1);
	store_close(s);
}

/* Stops (sig SIGSTOP) or continues (SIGCONT) the postmaster of the cluster
 * in dir and every process it started; returns how many it signalled. */
static int signal_cluster(const char *dir, int sig)
{
	char path[256], line[512];
	long postmaster = 0;
	int n = 0;
	DIR *d;
	FILE *fp;
	struct dirent *e;

	snprintf(path, sizeof path, "%s/data/postmaster.pid", dir);
	if (!(fp = fopen(path, "r")))
		return 0;
	if (fgets(line, sizeof line, fp))
		postmaster = strtol(line, NULL, 10);
	fclose(fp);
	if (postmaster <= 0 || !(d = opendir("/proc")))
		return 0;
	while ((e = readdir(d))) {
		long pid = strtol(e->d_name, NULL, 10), ppid = 0;
		char *close_paren;

		if (pid <= 0)
			continue;
		snprintf(path, sizeof path, "/proc/%ld/stat", pid);
		if (!(fp = fopen(path, "r")))
			continue;
		if (fgets(line, sizeof line, fp) && (close_paren = strrchr(line, ')')))
			sscanf(close_paren + 2, "%*c %ld", &ppid);
		fclose(fp);
		if ((pid == postmaster || ppid == postmaster) && kill((pid_t)pid, sig) == 0)
			n++;
	}
	closedir(d);
	return n;
}

/*
 * The server stops: reads and writes fail with STORE_UNAVAILABLE within a
 * few seconds, without a hang; it comes back: the same store serves again.
 * Then it freezes (SIGSTOP, as behind a dead link: its connections stay
 * open and nothing answers): the same within a few seconds, and back again
 * once it goes on.
 * On a cluster of this program's (a second one when the tests were given
 * RAPPORT_TEST_PG_URL, whose server must stay up).
 */
static void test_pg_server_stops_and_returns(void **state)
{
	struct fixture *f = *state;
	char dir[64] = "", server[1024], name[64], url[1024], why[1024], args[128], out[2048];
	struct store *s = NULL;
	struct store_conn *c;
	struct timespec t0;
	struct put before, during, async, after;
	struct read rd;
	int applied, halted, resumed, write_rc, async_rc, read_rc, frozen;
	double acquire_s, write_s, async_s, read_s;

	(void)f;
	if (pg.dir[0]) {
		snprintf(dir, sizeof dir, "%s", pg.dir);
		snprintf(server, sizeof server, "%s", pg.url);
	} else {
		char own[64];

		snprintf(own, sizeof own, "/tmp/rapport-pg-XXXXXX");
		assert_non_null(mkdtemp(own));
		snprintf(args, sizeof args, "start %s", own);
		if (pg_sh(args, out, sizeof out) != 0) {
			snprintf(args, sizeof args, "stop %s", own);
			pg_sh(args, why, sizeof why);
			fail_msg("scripts/pg.sh start failed: %s", out);
		}
		snprintf(dir, sizeof dir, "%s", own);
		snprintf(server, sizeof server, "%.1000s", out);
	}
	assert_int_equal(pg_create_db(server, name, sizeof name, "pool=4&writers=2", url,
				      sizeof url, why, sizeof why), 0);
	assert_int_equal(store_open(url, &s, why, sizeof why), 0);
	assert_int_equal(store_migrate(s, &applied, why, sizeof why), 0);
	put_init(&before, "before", STORE_OK);
	assert_int_equal(store_write(s, job_put, &before), STORE_OK);
	assert_true(has_key(s, "before"));

	snprintf(args, sizeof args, "halt %s", dir);
	halted = pg_sh(args, out, sizeof out) == 0;
	/* Measured first, asserted after the server is back: a failed assert
	 * must not leave it down for the tests that follow. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	c = store_acquire(s);
	acquire_s = seconds_since(&t0);
	if (c)
		store_release(c);
	put_init(&during, "during", STORE_OK);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	write_rc = store_write(s, job_put, &during);
	write_s = seconds_since(&t0);
	put_init(&async, "async", STORE_OK);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	store_write_async(s, job_put, &async, put_done);
	tally_wait(1);
	async_s = seconds_since(&t0);
	async_rc = async.rc;

	tally_reset();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	read_send(s, "SELECT 'read'", NULL, &rd);
	tally_wait(1);
	read_s = seconds_since(&t0);

	snprintf(args, sizeof args, "resume %s", dir);
	resumed = pg_sh(args, why, sizeof why) == 0;
	if (!resumed || PQping(server) != PQPING_OK) {
		char cmd[256];

		fprintf(stderr, "after pg.sh resume (%s): the server does not answer; its log:\n",
			resumed ? "ok" : why);
		snprintf(cmd, sizeof cmd, "tail -n 30 %s/server.log >&2", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "(no log)\n");
	}
	assert_true(halted);
	assert_true(resumed);
	assert_null(c);
	assert_true(acquire_s < 4);
	assert_int_equal(write_rc, STORE_UNAVAILABLE);
	assert_true(write_s < 4);
	assert_int_equal(async_rc, STORE_UNAVAILABLE);
	assert_true(async_s < 4);
	assert_int_equal(rd.rc, STORE_UNAVAILABLE);
	assert_true(read_s < 4);

	/* the same store, without a restart */
	assert_true(has_key(s, "before"));
	assert_false(has_key(s, "during"));
	put_init(&after, "after", STORE_OK);
	assert_int_equal(store_write(s, job_put, &after), STORE_OK);
	assert_true(has_key(s, "after"));
	tally_reset();
	read_send(s, "SELECT 'read'", NULL, &rd);
	assert_int_equal(tally_wait(1), 1);
	assert_int_equal(rd.rc, STORE_OK);
	assert_string_equal(rd.value, "read");

	/* frozen, with idle connections in the pool that look fine */
	frozen = signal_cluster(dir, SIGSTOP);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	c = store_acquire(s);
	read_rc = STORE_OK;
	if (c) {
		struct store_stmt *st = store_prepare(c, "SELECT count(*) FROM settings");

		read_rc = st ? store_step(st) : STORE_UNAVAILABLE;
		store_done(st);
		store_release(c);
	}
	acquire_s = seconds_since(&t0);
	put_init(&during, "frozen", STORE_OK);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	write_rc = store_write(s, job_put, &during);
	write_s = seconds_since(&t0);
	tally_reset();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	read_send(s, "SELECT 'read'", NULL, &rd);
	tally_wait(1);
	read_s = seconds_since(&t0);
	signal_cluster(dir, SIGCONT);
	assert_true(frozen >= 2);
	assert_true(!c || read_rc == STORE_UNAVAILABLE);
	assert_true(acquire_s < 7);
	assert_int_equal(write_rc, STORE_UNAVAILABLE);
	assert_true(write_s < 7);
	assert_int_equal(rd.rc, STORE_UNAVAILABLE);
	assert_true(read_s < 7);
	assert_false(has_key(s, "frozen"));
	put_init(&after, "thawed", STORE_OK);
	assert_int_equal(store_write(s, job_put, &after), STORE_OK);
	assert_true(has_key(s, "thawed"));
	store_close(s);
	if (!pg.dir[0]) {
		snprintf(args, sizeof args, "stop %s", dir);
		pg_sh(args, out, sizeof out);
	} else {
		pg_drop_db(server, name);
	}
}

/*
 * Schema 6: the search columns of PostgreSQL are filled by a trigger. Rows
 * inserted, then updated in an indexed column, hold the words that
 * rapport_fts_doc (the function the columns were generated with before)
 * gives; an update of another column leaves them alone; and the trigger's
 * short way for all-ASCII text gives the same words as ICU's folding.
 */
/* each text goes into every parameter */
static const struct {
	const char *sql;
	int nparams;
} search_sql[] = {
	{ "INSERT INTO organizations (created_at, updated_at, name, kind, city, website) "
	  "VALUES ('t', 't', ?, 'client', ?, ?)", 3 },
	{ "INSERT INTO people (created_at, updated_at, given_name, family_name, emails) "
	  "VALUES ('t', 't', ?, ?, ?)", 3 },
	{ "INSERT INTO interactions (created_at, updated_at, kind, direction, occurred_at, "
	  "subject, body) VALUES ('t', 't', 'note', 'internal', 't', ?, ?)", 2 },
};

/* each indexed column, with a word to write into it */
static const struct {
	const char *table, *column, *word;
} search_columns[] = {
	{ "organizations", "name", "zname" },	  { "organizations", "email", "zemail" },
	{ "organizations", "website", "zweb" },	  { "organizations", "industry", "zindustry" },
	{ "organizations", "city", "zcity" },	  { "people", "given_name", "zgiven" },
	{ "people", "family_name", "zfamily" },	  { "people", "emails", "zemails" },
	{ "interactions", "subject", "zsubject" }, { "interactions", "body", "zbody" },
};

struct search_job {
	const char *texts[8];
	int n;
	const char *update[16];	/* NULL-ended; each is run as it is */
};

static int job_search(struct store_conn *c, void *arg)
{
	struct search_job *j = arg;
	struct store_stmt *st;
	int rc;

	for (int i = 0; i < j->n; i++)
		for (size_t k = 0; k < nitems(search_sql); k++) {
			if (!(st = store_prepare(c, search_sql[k].sql)))
				return STORE_ERROR;
			for (int p = 1; p <= search_sql[k].nparams; p++)
				store_bind_text(st, p, j->texts[i], strlen(j->texts[i]));
			rc = store_step(st);
			store_done(st);
			if (rc != STORE_DONE)
				return rc;
		}
	for (int i = 0; j->update[i]; i++)
		if ((rc = store_exec(c, j->update[i])) != STORE_OK)
			return rc;
	return STORE_OK;
}

/* Rows of the three tables whose words differ from rapport_fts_doc's. */
static int64_t search_wrong(struct store *s)
{
	return count(s, "SELECT (SELECT count(*) FROM organizations WHERE search IS DISTINCT FROM "
			"to_tsvector('simple', rapport_fts_doc(coalesce(name, '') || ' ' || "
			"coalesce(email, '') || ' ' || coalesce(website, '') || ' ' || "
			"coalesce(industry, '') || ' ' || coalesce(city, '')))) + "
			"(SELECT count(*) FROM people WHERE search IS DISTINCT FROM "
			"to_tsvector('simple', rapport_fts_doc(coalesce(given_name, '') || ' ' || "
			"coalesce(family_name, '') || ' ' || coalesce(emails, '')))) + "
			"(SELECT count(*) FROM interactions WHERE search IS DISTINCT FROM "
			"to_tsvector('simple', rapport_fts_doc(coalesce(subject, '') || ' ' || "
			"coalesce(body, ''))))");
}

/* How many rows of table the words of text, prepared for a search as the
 * store prepares them, find. */
static int64_t found_by(struct store *s, const char *table, const char *text)
{
	char sql[300];

	snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE search @@ "
		 "to_tsquery('simple', rapport_fts_query('%s'))", table, text);
	return count(s, sql);
}

static void search_trigger_checks(struct store *s)
{
	char ascii[128], punct[2048], upd[nitems(search_columns)][200], sql[300];
	struct search_job j = { .n = 0 };
	int icu = count(s, "SELECT count(*) FROM pg_collation WHERE collname = 'und-x-icu'") > 0;
	size_t len = 0;

	for (int i = 1; i < 128; i++)
		ascii[i - 1] = (char)i;
	ascii[127] = 0;
	/* every ASCII punctuation mark where the parser of to_tsvector would keep
	 * it inside a word (a host name, a URL, an e-mail address) */
	for (int c = '!'; c <= '~'; c++)
		if (!isalnum(c))
			len += (size_t)snprintf(punct + len, sizeof punct - len,
						"ab%ccd.ef http%c//ab.cd/ef%cgh x %cab@cd.ef%c ", c,
						c, c, c, c);
	assert_true(len < sizeof punct);
	j.texts[j.n++] = ascii;
	j.texts[j.n++] = punct;
	j.texts[j.n++] = "Möte om KÖKSRENOVERING: crème brûlée efteråt";
	j.texts[j.n++] = "Åsa Ångströmer <asa.angstromer@example.se>, ØSTERGAARD & Zoë ÇELIK";
	j.texts[j.n++] = "Follow-up on the renewal: 1.5% off, see https://example.com/q?x=1";
	j.texts[j.n++] = "IBM Nordic INTERIM billing";
	j.texts[j.n++] = "";
	assert_int_equal(store_write(s, job_search, &j), STORE_OK);
	assert_int_equal(count(s, "SELECT count(*) FROM interactions"), j.n);
	assert_int_equal(count(s, "SELECT count(*) FROM interactions WHERE search IS NULL"), 0);
	assert_int_equal(search_wrong(s), 0);
	/* what a search prepares finds the words of its row, capitals too */
	assert_int_equal(found_by(s, "interactions", "IBM & interim"), 1);
	assert_int_equal(found_by(s, "organizations", "ibm & INTERIM"), 1);
	assert_int_equal(found_by(s, "people", "renewal & https"), 1);
	if (icu) {	/* folding beyond ASCII needs ICU */
		assert_int_equal(found_by(s, "interactions", "koksrenovering"), 1);
		assert_int_equal(found_by(s, "people", "angstromer & example"), 1);
	}

	/* updates: each indexed column changes the words (each on a row of its
	 * own), the others do not */
	memset(&j, 0, sizeof j);
	for (size_t k = 0, row = 0; k < nitems(search_columns); k++) {
		row = k > 0 && strcmp(search_columns[k].table, search_columns[k - 1].table) == 0 ?
			row + 1 : 0;
		snprintf(upd[k], sizeof upd[k], "UPDATE %s SET %s = '%s' WHERE id = "
			 "(SELECT min(id) FROM %s) + %zu", search_columns[k].table,
			 search_columns[k].column, search_columns[k].word, search_columns[k].table, row);
		j.update[k] = upd[k];
	}
	j.update[nitems(search_columns)] =
		"UPDATE people SET notes = 'ÖVRIGT', search = NULL WHERE family_name = ''";
	assert_int_equal(store_write(s, job_search, &j), STORE_OK);
	for (size_t k = 0; k < nitems(search_columns); k++) {
		snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE search @@ "
			 "to_tsquery('simple', '%s')", search_columns[k].table, search_columns[k].word);
		if (count(s, sql) != 1)
			fail_msg("an update of %s.%s did not change the words",
				 search_columns[k].table, search_columns[k].column);
	}
	/* an update that names no indexed column leaves the words as they are,
	 * here what it wrote itself */
	assert_int_equal(count(s, "SELECT count(*) FROM people WHERE search IS NULL"), 1);
	memset(&j, 0, sizeof j);
	j.update[0] = "UPDATE people SET search = to_tsvector('simple', '') WHERE search IS NULL";
	assert_int_equal(store_write(s, job_search, &j), STORE_OK);
	assert_int_equal(search_wrong(s), 0);

	/* the short way for ASCII gives ICU's words (where PostgreSQL has ICU) */
	if (icu)
		assert_int_equal(count(s, "SELECT count(*) FROM interactions WHERE search IS "
					  "DISTINCT FROM to_tsvector('simple', regexp_replace("
					  "rapport_fts_fold(coalesce(subject, '') || ' ' || "
					  "coalesce(body, '')) COLLATE \"und-x-icu\", "
					  "'[^[:alnum:]]+', ' ', 'g'))"), 0);
	/* and the trigger works whatever the session's search_path */
	memset(&j, 0, sizeof j);
	j.texts[j.n++] = "Åtta nya KUNDER i Östersund";
	j.update[0] = "SET LOCAL search_path = pg_catalog";
	j.update[1] = "INSERT INTO public.interactions (created_at, updated_at, kind, direction, "
		      "occurred_at, subject) VALUES ('t', 't', 'note', 'internal', 't', "
		      "'Nio nya KUNDER i Älvsbyn')";
	assert_int_equal(store_write(s, job_search, &j), STORE_OK);
	assert_int_equal(found_by(s, "interactions", "kunder"), 2);
}

static void test_pg_search_trigger(void **state)
{
	struct fixture *f = *state;
	struct migration upto5[16];
	struct search_job j = { .n = 0 };
	char name[64], url[1024], sql[256], why[512];
	struct store *s = NULL;
	int n = 0, applied = -1;

	search_trigger_checks(f->s);

	/*
	 * In a database whose own collation lowercases "I" as Turkish does (ICU
	 * only: without it CREATE DATABASE refuses and this part is skipped, as
	 * PostgreSQL without ICU cannot make one here). Rows written under
	 * schema 5 are indexed again so that a search finds them.
	 */
	snprintf(name, sizeof name, "rapport_unit_%d_tr", (int)getpid());
	snprintf(sql, sizeof sql, "CREATE DATABASE %s TEMPLATE template0 ENCODING 'UTF8' "
		 "LC_COLLATE 'C' LC_CTYPE 'C' LOCALE_PROVIDER icu ICU_LOCALE 'tr-TR'", name);
	if (pg_admin(pg.url, sql, why, sizeof why)) {
		fprintf(stderr, "skipped the Turkish database: %s\n", why);
		return;
	}
	pg_db_url(pg.url, name, "pool=2", url, sizeof url);
	for (const struct migration *m = migrations; m->backend; m++)
		if (strcmp(m->backend, "postgres") == 0 && m->number <= 5)
			upto5[n++] = *m;
	upto5[n] = (struct migration){ 0 };
	assert_int_equal(store_open(url, &s, why, sizeof why), 0);
	assert_int_equal(count(s, "SELECT count(*) FROM pg_collation WHERE collname = 'und-x-icu'"),
			 1);
	assert_int_equal(count(s, "SELECT count(*) WHERE lower('I') = 'i'"), 0);
	assert_int_equal(store_migrate_list(s, upto5, &applied, why, sizeof why), 0);
	j.texts[j.n++] = "IBM Nordic";
	assert_int_equal(store_write(s, job_search, &j), STORE_OK);
	assert_int_equal(found_by(s, "interactions", "ibm"), 0);	/* schema 5 lost it */
	assert_int_equal(store_migrate(s, &applied, why, sizeof why), 0);
	assert_int_equal(applied, migrations_of("postgres") - 5);
	assert_int_equal(found_by(s, "interactions", "ibm"), 1);
	assert_int_equal(found_by(s, "organizations", "IBM"), 1);
	assert_int_equal(found_by(s, "people", "nordic"), 1);
	/* and the rest as in any database */
	memset(&j, 0, sizeof j);
	j.update[0] = "DELETE FROM interactions";
	j.update[1] = "DELETE FROM people";
	j.update[2] = "DELETE FROM organizations";
	assert_int_equal(store_write(s, job_search, &j), STORE_OK);
	search_trigger_checks(s);
	store_close(s);
	pg_drop_db(pg.url, name);
}

/* A test of both engines, and one of each only. */
#define BOTH(t)                                                                                    \
	{ "sqlite_" #t, t, setup_sqlite, teardown, NULL },                                         \
	{ "postgres_" #t, t, setup_pg, teardown, NULL }
#define SQLITE_ONLY(t) { "sqlite_" #t, t, setup_sqlite, teardown, NULL }
#define PG_ONLY(t) { "postgres_" #t, t, setup_pg, teardown, NULL }
/* again with two writer threads (no gates: a gate holds the write lock) */
#define PG_2W(t) { "postgres_2w_" #t, t, setup_pg2, teardown, NULL }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_errors),
		BOTH(test_migrate_idempotent),
		BOTH(test_migrate_failure),
		SQLITE_ONLY(test_migrate_ids_never_reused),
		BOTH(test_statements),
		BOTH(test_stmt_cache),
		BOTH(test_acquire_per_thread),
		BOTH(test_write_and_constraints),
		PG_2W(test_write_and_constraints),
		BOTH(test_job_rules),
		PG_2W(test_job_rules),
		BOTH(test_batch_isolation),
		SQLITE_ONLY(test_batch_transaction_lost),
		BOTH(test_run_later),
		PG_2W(test_side_by_side),
		PG_ONLY(test_pg_connection_lost_in_batch),
		BOTH(test_async_many_threads),
		PG_2W(test_async_many_threads),
		BOTH(test_sync_writers_read_their_writes),
		PG_2W(test_sync_writers_read_their_writes),
		BOTH(test_close_drains_queue),
		BOTH(test_read_async),
		SQLITE_ONLY(test_walbuf),
		PG_ONLY(test_close_answers_reads),
		PG_ONLY(test_pg_reads_wait_one_timeout),
		BOTH(test_sql_fragments),
		BOTH(test_reset_ids),
		BOTH(test_lock_serialises),
		PG_2W(test_lock_serialises),
		BOTH(test_writes_serialised),
		PG_2W(test_writes_serialised),
		SQLITE_ONLY(test_read_snapshots),
		PG_ONLY(test_pg_open_errors),
		PG_ONLY(test_pg_migrate_concurrently),
		PG_ONLY(test_pg_search_trigger),
		PG_2W(test_pg_slow_query_blocks_nobody),
		PG_ONLY(test_pg_pool_exhausted),
		PG_ONLY(test_pg_server_stops_and_returns),
	};

	log_set_level(LOG_WARN);
	return cmocka_run_group_tests(tests, pg_group_setup, pg_group_teardown);
}
