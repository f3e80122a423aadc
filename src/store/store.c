/*
 * store.h as seen by callers: picks the engine from the URL once, then every
 * call goes through the engine's table (backend.h). The indirection costs one
 * indirect call per operation, far below the price of the SQL behind it.
 */
#include "store/store.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/util.h"
#include "store/backend.h"

int store_open(const char *url, struct store **out, char *why, size_t whylen)
{
	const char *scheme_end;

	if (!url || !*url) {
		snprintf(why, whylen, "no database given");
		return -1;
	}
	/* "postgres:" alone (or with only ?options) leaves everything to the
	 * PG* environment variables. */
	if (starts_with_ci(url, "postgres://") || starts_with_ci(url, "postgresql://") ||
	    strcasecmp(url, "postgres:") == 0 || strcasecmp(url, "postgresql:") == 0 ||
	    starts_with_ci(url, "postgres:?") || starts_with_ci(url, "postgresql:?"))
		return postgres_store_open(url, out, why, whylen);
	/* "sqlite:///abs/path" and "sqlite:path" both name a file. */
	if (starts_with_ci(url, "sqlite://"))
		return sqlite_store_open(url + 9, out, why, whylen);
	if (starts_with_ci(url, "sqlite:"))
		return sqlite_store_open(url + 7, out, why, whylen);
	scheme_end = strstr(url, "://");
	if (scheme_end) {
		snprintf(why, whylen, "unknown store URL scheme '%.*s' (use sqlite:PATH or "
			 "postgres://USER@HOST/DB)",
			 (int)(scheme_end - url) > 32 ? 32 : (int)(scheme_end - url), url);
		return -1;
	}
	return sqlite_store_open(url, out, why, whylen);
}

int store_migrate(struct store *s, int *applied, char *why, size_t whylen)
{
	return s->ops->migrate(s, migrations, applied, why, whylen);
}

int store_migrate_list(struct store *s, const struct migration *list, int *applied,
		       char *why, size_t whylen)
{
	return s->ops->migrate(s, list, applied, why, whylen);
}

void store_close(struct store *s)
{
	if (s)
		s->ops->close(s);
}

const char *store_backend(const struct store *s)
{
	return s->ops->name;
}

int store_extra_threads(const struct store *s)
{
	return s->ops->extra_threads;
}

struct store_conn *store_acquire(struct store *s)
{
	return s->ops->acquire(s);
}

void store_release(struct store_conn *c)
{
	if (c)
		c->ops->release(c);
}

void store_refresh(struct store_conn *c)
{
	if (c->ops->refresh)
		c->ops->refresh(c);
}

struct store_stmt *store_prepare(struct store_conn *c, const char *sql)
{
	return c->ops->prepare(c, sql);
}

int store_bind_int(struct store_stmt *st, int idx, int64_t v)
{
	return st->ops->bind_int(st, idx, v);
}

int store_bind_double(struct store_stmt *st, int idx, double v)
{
	return st->ops->bind_double(st, idx, v);
}

int store_bind_text(struct store_stmt *st, int idx, const char *s, size_t len)
{
	return st->ops->bind_text(st, idx, s, len);
}

int store_bind_null(struct store_stmt *st, int idx)
{
	return st->ops->bind_null(st, idx);
}

int store_step(struct store_stmt *st)
{
	return st->ops->step(st);
}

int store_col_null(struct store_stmt *st, int col)
{
	return st->ops->col_null(st, col);
}

int64_t store_col_int(struct store_stmt *st, int col)
{
	return st->ops->col_int(st, col);
}

double store_col_double(struct store_stmt *st, int col)
{
	return st->ops->col_double(st, col);
}

const char *store_col_text(struct store_stmt *st, int col, size_t *len)
{
	return st->ops->col_text(st, col, len);
}

void store_done(struct store_stmt *st)
{
	if (st)
		st->ops->done(st);
}

int store_run_later(struct store_stmt *st)
{
	int rc, taken = 0;

	if (st->ops->run_later) {
		rc = st->ops->run_later(st, &taken);
		if (taken)
			return rc;
	}
	while ((rc = st->ops->step(st)) == STORE_ROW)
		;
	st->ops->done(st);
	return rc == STORE_DONE ? STORE_OK : rc;
}

struct store_stmt *store_read_prepare(struct store *s, const char *sql)
{
	return s->ops->read_prepare(s, sql);
}

void store_read_async(struct store_stmt *st, store_read_fn done, void *arg)
{
	st->ops->read_async(st, done, arg);
}

int store_defers_reads(const struct store *s)
{
	return s->ops->defers_reads;
}

int64_t store_changes(struct store_conn *c)
{
	return c->ops->changes(c);
}

const char *store_errmsg(struct store_conn *c)
{
	return c ? c->ops->errmsg(c) : "no database connection";
}

int store_exec(struct store_conn *c, const char *sql)
{
	return c->ops->exec(c, sql);
}

int store_write(struct store *s, store_job_fn fn, void *arg)
{
	return s->ops->write(s, fn, arg);
}

void store_write_async(struct store *s, store_job_fn fn, void *arg,
		       void (*done)(void *arg, int rc))
{
	s->ops->write_async(s, fn, arg, 0, done);
}

void store_write_async_flags(struct store *s, store_job_fn fn, void *arg, unsigned flags,
			     void (*done)(void *arg, int rc))
{
	s->ops->write_async(s, fn, arg, flags, done);
}

char *store_fts_param(const struct store *s, const struct store_word *words, int n, int prefix)
{
	return s->ops->fts_param(s, words, n, prefix);
}

int store_reset_ids(struct store_conn *c, const char *table)
{
	return c->ops->reset_ids ? c->ops->reset_ids(c, table) : STORE_OK;
}

int store_lock(struct store_conn *c, const char *key)
{
	return c->ops->lock ? c->ops->lock(c, key) : STORE_OK;
}

const char *store_sql_from(const struct store *s, struct buf *sql, const char *table, int fts)
{
	return s->ops->sql_from(s, sql, table, fts);
}

void store_sql_has_tag(const struct store *s, struct buf *sql, const char *col)
{
	s->ops->sql_has_tag(s, sql, col);
}
