/*
 * Inside the store: what an engine provides behind store.h. Each engine fills
 * one struct store_ops (as curl's vtls backends do) and every handle it hands
 * out starts with the matching header below, so store.c reaches the table
 * from any handle without naming the engine. Nothing outside src/store/ and
 * its tests includes this file.
 */
#ifndef RAPPORT_STORE_BACKEND_H
#define RAPPORT_STORE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "store/migrate.h"
#include "store/store.h"

struct buf;

struct store_ops {
	const char *name;	/* store_backend() */
	int extra_threads;	/* store_extra_threads() */
	int defers_reads;	/* store_defers_reads() */

	int (*migrate)(struct store *s, const struct migration *list, int *applied,
		       char *why, size_t whylen);
	void (*close)(struct store *s);

	struct store_conn *(*acquire)(struct store *s);
	void (*release)(struct store_conn *c);
	void (*refresh)(struct store_conn *c);

	struct store_stmt *(*prepare)(struct store_conn *c, const char *sql);
	int (*bind_int)(struct store_stmt *st, int idx, int64_t v);
	int (*bind_double)(struct store_stmt *st, int idx, double v);
	int (*bind_text)(struct store_stmt *st, int idx, const char *s, size_t len);
	int (*bind_null)(struct store_stmt *st, int idx);
	int (*step)(struct store_stmt *st);
	int (*col_null)(struct store_stmt *st, int col);
	int64_t (*col_int)(struct store_stmt *st, int col);
	double (*col_double)(struct store_stmt *st, int col);
	const char *(*col_text)(struct store_stmt *st, int col, size_t *len);
	void (*done)(struct store_stmt *st);
	/* store_run_later; NULL, or *taken left 0: it runs now */
	int (*run_later)(struct store_stmt *st, int *taken);
	/* store_read_prepare, store_read_async */
	struct store_stmt *(*read_prepare)(struct store *s, const char *sql);
	void (*read_async)(struct store_stmt *st, store_read_fn done, void *arg);

	int64_t (*changes)(struct store_conn *c);
	const char *(*errmsg)(struct store_conn *c);
	int (*exec)(struct store_conn *c, const char *sql);

	int (*write)(struct store *s, store_job_fn fn, void *arg);
	void (*write_async)(struct store *s, store_job_fn fn, void *arg, unsigned flags,
			    void (*done)(void *arg, int rc));

	const char *(*sql_from)(const struct store *s, struct buf *sql, const char *table, int fts);
	char *(*fts_param)(const struct store *s, const struct store_word *words, int n,
			   int prefix);
	int (*lock)(struct store_conn *c, const char *key);
	int (*reset_ids)(struct store_conn *c, const char *table);	/* NULL: nothing to do */
	void (*sql_has_tag)(const struct store *s, struct buf *sql, const char *col);
};

/* The first member of every engine's store, connection and statement. */
struct store {
	const struct store_ops *ops;
};
struct store_conn {
	const struct store_ops *ops;
};
struct store_stmt {
	const struct store_ops *ops;
};

/* path is the part of the URL after "sqlite:" (or the bare path). */
int sqlite_store_open(const char *path, struct store **out, char *why, size_t whylen);
/* url is the whole postgres://, postgresql:// or "postgres:" URL. */
int postgres_store_open(const char *url, struct store **out, char *why, size_t whylen);

/* store_migrate over another table than the embedded one (tests use it to
 * apply a migration that fails). list ends with an all-zero entry. */
int store_migrate_list(struct store *s, const struct migration *list, int *applied,
		       char *why, size_t whylen);

#endif
