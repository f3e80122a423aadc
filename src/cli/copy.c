/*
 * rapport copy --from URL --to URL [--force]: copies a whole installation
 * from one store to another, whichever backends they are (SQLite to
 * PostgreSQL and back), through store.h alone.
 *
 * What is copied. Every table of the schema except the store's own
 * bookkeeping (schema_migrations, the full-text tables and their queues,
 * store_* and sqlite_* tables), with every column except generated ones
 * and PostgreSQL's tsvector columns (the full-text words, which its schema
 * fills by trigger as SQLite fills its full-text tables), ids kept. Tables
 * and columns are read from the schema's catalog, so a table or column
 * that a later migration adds is copied without a change here; known_tables
 * below gives the order (parents before children) and the key of the tables
 * known today, and any other table must have an id
 * column, by which it is ordered, and comes after them (a new table that a
 * known one refers to must be added to known_tables before it: otherwise the
 * copy fails on the foreign key and leaves the target as it was). Columns
 * that refer to their own table (organizations.parent_id,
 * interactions.thread_id and reply_to_id: found in the entity descriptions)
 * are inserted NULL when they point at a row not yet copied and set once the
 * table is complete.
 *
 * How. Both stores must be at the same schema version (the target is
 * migrated on opening; the source is only read). The target must hold no
 * rows, apart from the settings that opening it creates, unless --force;
 * then its rows are deleted (children first). The deletion, every insert
 * and the id reset are one write job, so the target changes all at once or
 * not at all. The job streams the source in pages of COPY_PAGE_ROWS rows,
 * keyed by primary key, and inserts them COPY_INSERT_ROWS at a time as text
 * or NULL (column affinity in SQLite and parameter typing in PostgreSQL turn
 * text into integers): memory stays bounded whatever the size of a table.
 * Afterwards store_reset_ids() lets new rows of each table get fresh ids.
 *
 * Check. Then each table is read again on both sides: row count and a
 * checksum, BLAKE2b of each row's columns as text (NULL distinct from '',
 * each value length-prefixed) summed over the rows so that it does not
 * depend on the order rows come in. One line per table, "ok" or "DIFFERS";
 * the exit status is 0 only if every table matches.
 *
 * Exit status: 0 copied and equal; 64 wrong arguments; 65 refused (target
 * not empty, schema versions or tables differ); 66 a store cannot be opened
 * or read; 70 the copy failed, or a table differs after it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "../domain/entity.h"
#include "../lib/util.h"
#include "../store/store.h"
#include "cli.h"

#define COPY_PAGE_ROWS		5000		/* rows per read of a table */
#define COPY_INSERT_ROWS	200		/* rows per INSERT statement ... */
#define COPY_INSERT_PARAMS	20000		/* ... and at most this many parameters */
#define COPY_MAX_KEYS		4		/* columns of a primary key */
#define COPY_MAX_SELF		8		/* self-referencing columns of a table */
#define COPY_PROGRESS_ROWS	100000		/* a progress line every this many rows */
#define COPY_ROW_BYTES_MAX	((size_t)1 << 30)	/* buffered values, a ceiling */

/*
 * The tables known today, parents before children, each with its primary
 * key: the order rows are read and paged in. 'i' an integer key column, 't'
 * text. A table of the schema that is not here is copied after these,
 * ordered by its id.
 */
static const struct known_table {
	const char *name;
	const char *keys[COPY_MAX_KEYS];
	const char *key_types;
} known_tables[] = {
	{ "settings", { "key" }, "t" },
	{ "users", { "id" }, "i" },
	{ "tokens", { "id" }, "i" },			/* -> users */
	{ "user_teams", { "user_id", "team_id" }, "ii" },
	{ "user_units", { "user_id", "unit_id" }, "ii" },
	{ "idempotency", { "user_id", "key" }, "it" },
	{ "custom_fields", { "id" }, "i" },		/* -> users */
	{ "organizations", { "id" }, "i" },		/* -> users, organizations */
	{ "people", { "id" }, "i" },			/* -> users */
	{ "affiliations", { "id" }, "i" },		/* -> people, organizations */
	{ "interactions", { "id" }, "i" },		/* -> organizations, interactions */
	{ "teams", { "id" }, "i" },			/* -> users, organizations */
};

/* Columns every record table has besides its entity's fields (entity.h). */
static const char *const record_columns[] = {
	"id", "created_at", "updated_at", "version", "owner_id", "tags", "custom",
};

/* The store's own tables: not data of the installation. */
static int internal_table(const char *name)
{
	size_t n = strlen(name);

	return strcmp(name, "schema_migrations") == 0 || strncmp(name, "sqlite_", 7) == 0 ||
	       strncmp(name, "store_", 6) == 0 || strstr(name, "_fts_") != NULL ||
	       (n >= 4 && strcmp(name + n - 4, "_fts") == 0);
}

/* --- small helpers --------------------------------------------------------- */

struct strv {
	char **v;
	int n;
};

static void strv_add(struct strv *s, const char *text, size_t len)
{
	s->v = xrealloc(s->v, sizeof *s->v * (size_t)(s->n + 1));
	s->v[s->n++] = xstrndup(text, len);
}

static int strv_find(const struct strv *s, const char *text)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->v[i], text) == 0)
			return i;
	return -1;
}

static void strv_free(struct strv *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

/* Appends name as a quoted SQL identifier. */
static void put_ident(struct buf *b, const char *name)
{
	buf_puts(b, "\"");
	for (const char *p = name; *p; p++)
		buf_puts(b, *p == '"' ? "\"\"" : (char[2]){ *p, 0 });
	buf_puts(b, "\"");
}

/* The URL as it may be printed: a password in it becomes "***". */
static const char *shown(const char *url, char *out, size_t n)
{
	const char *s = strstr(url, "://"), *at, *colon;

	if (!s)
		return url;
	s += 3;
	at = strchr(s, '@');
	if (!at || (strchr(s, '/') && strchr(s, '/') < at))
		return url;
	colon = memchr(s, ':', (size_t)(at - s));
	if (!colon)
		return url;
	snprintf(out, n, "%.*s***%s", (int)(colon + 1 - url), url, at);
	return out;
}

/*
 * A store named by a file path (the URL forms store.h documents for files)
 * must exist: opening it would create an empty one.
 */
static int missing_file(const char *url)
{
	struct stat sb;
	const char *path = url;

	if (starts_with_ci(url, "sqlite://"))
		path = url + 9;
	else if (starts_with_ci(url, "sqlite:"))
		path = url + 7;
	else if (strstr(url, "://"))
		return 0;
	return stat(path, &sb) != 0 && errno == ENOENT;
}

static double seconds_since(int64_t t0)
{
	return (double)(time_mono_us() - t0) / 1e6;
}

/* --- the plan: tables and their columns --------------------------------- */

/* An order-independent checksum of a set of rows. */
struct sum {
	int64_t rows;
	uint64_t lane[4];
};

struct table {
	char *name;
	struct strv cols;		/* the source's order; the target has the same set */
	int keys[COPY_MAX_KEYS];	/* column indexes of the primary key */
	char key_type[COPY_MAX_KEYS];	/* 'i' or 't' */
	int nkeys;
	int id;				/* index of the id column, or -1 */
	int self[COPY_MAX_SELF];	/* columns referring to this table's id */
	int nself;
	char *sql_first, *sql_next;	/* a page of rows: the first, the next */
	int64_t src_rows, dst_rows;	/* before the copy */
	int64_t copied;
	struct sum src_sum, dst_sum;
};

struct plan {
	struct store *src, *dst;
	const char *from, *to;		/* as printed */
	struct table *t;
	int n;
	int force;
	int64_t t0;
	char why[600];			/* what went wrong in the copy job */
};

/*
 * The names of the tables of a store's schema (table NULL), or of the
 * columns of one table in their order, generated and tsvector columns (the
 * full-text words a trigger fills) left out. The one
 * place where this file reads a catalog: the SQL standard's
 * information_schema where the store has one, else SQLite's own. Returns 0,
 * or -1 with why.
 */
static int catalog(struct store_conn *c, const char *table, struct strv *out, char *why,
		   size_t whylen)
{
	static const char *const tables_sql[] = {
		"SELECT table_name FROM information_schema.tables WHERE table_schema = "
		"current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name",
		"SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
	};
	static const char *const columns_sql[] = {
		"SELECT column_name FROM information_schema.columns WHERE table_schema = "
		"current_schema() AND table_name = ? AND is_generated = 'NEVER' "
		"AND data_type <> 'tsvector' ORDER BY ordinal_position",
		"SELECT name FROM pragma_table_info(?) ORDER BY cid",
	};
	const char *const *sql = table ? columns_sql : tables_sql;
	const char *err = "no catalog";
	struct store_stmt *st;
	const char *text;
	size_t len;
	int rc;

	for (size_t i = 0; i < 2; i++) {
		if (!(st = store_prepare(c, sql[i]))) {
			err = store_errmsg(c);
			continue;
		}
		if (table && store_bind_text(st, 1, table, strlen(table)) != STORE_OK) {
			err = store_errmsg(c);
			store_done(st);
			continue;
		}
		while ((rc = store_step(st)) == STORE_ROW) {
			text = store_col_text(st, 0, &len);
			if (text)
				strv_add(out, text, len);
		}
		if (rc != STORE_DONE)
			err = store_errmsg(c);
		store_done(st);
		if (rc == STORE_DONE)
			return 0;
		strv_free(out);
	}
	snprintf(why, whylen, "cannot read the list of %s%s: %s", table ? "columns of " : "tables",
		 table ? table : "", err);
	return -1;
}

/* The newest migration applied to a store, or -1 with why. */
static int schema_version(struct store_conn *c, char *why, size_t whylen)
{
	struct store_stmt *st = store_prepare(c, "SELECT coalesce(max(number), 0) FROM schema_migrations");
	int rc, v = -1;

	if (!st) {
		snprintf(why, whylen, "it holds no rapport schema (%s)", store_errmsg(c));
		return -1;
	}
	rc = store_step(st);
	if (rc == STORE_ROW)
		v = (int)store_col_int(st, 0);
	else
		snprintf(why, whylen, "cannot read its schema version: %s", store_errmsg(c));
	store_done(st);
	return v;
}

static int64_t count_rows(struct store_conn *c, const struct table *t)
{
	struct buf sql;
	struct store_stmt *st;
	int64_t n = -1;

	buf_init(&sql, 4096);
	buf_puts(&sql, "SELECT count(*) FROM ");
	put_ident(&sql, t->name);
	st = store_prepare(c, sql.data);
	if (st && store_step(st) == STORE_ROW)
		n = store_col_int(st, 0);
	store_done(st);
	buf_free(&sql);
	return n;
}

/* The SELECT of one page of t's rows, after the last key when next is set. */
static char *page_sql(const struct table *t, int next)
{
	struct buf b;

	buf_init(&b, (size_t)1 << 20);
	buf_puts(&b, "SELECT ");
	for (int i = 0; i < t->cols.n; i++) {
		if (i)
			buf_puts(&b, ", ");
		put_ident(&b, t->cols.v[i]);
	}
	buf_puts(&b, " FROM ");
	put_ident(&b, t->name);
	if (next) {
		buf_puts(&b, t->nkeys > 1 ? " WHERE (" : " WHERE ");
		for (int k = 0; k < t->nkeys; k++) {
			if (k)
				buf_puts(&b, ", ");
			put_ident(&b, t->cols.v[t->keys[k]]);
		}
		buf_puts(&b, t->nkeys > 1 ? ") > (" : " > ");
		for (int k = 0; k < t->nkeys; k++)
			buf_puts(&b, k ? ", ?" : "?");
		if (t->nkeys > 1)
			buf_puts(&b, ")");
	}
	buf_puts(&b, " ORDER BY ");
	for (int k = 0; k < t->nkeys; k++) {
		if (k)
			buf_puts(&b, ", ");
		put_ident(&b, t->cols.v[t->keys[k]]);
	}
	buf_printf(&b, " LIMIT %d", COPY_PAGE_ROWS);
	return b.data;
}

/* Finds the self-references of t among the fields of its entity. */
static void find_self_refs(struct table *t)
{
	for (size_t e = 0; entities[e]; e++) {
		const struct entity *ent = entities[e];

		if (strcmp(ent->table, t->name) != 0)
			continue;
		for (size_t f = 0; f < ent->nfields; f++) {
			int i;

			if (ent->fields[f].type != F_REF || ent->fields[f].ref != ent)
				continue;
			i = strv_find(&t->cols, ent->fields[f].name);
			if (i >= 0 && t->nself < COPY_MAX_SELF)
				t->self[t->nself++] = i;
		}
	}
}

/*
 * Checks that the columns the entity descriptions promise are there: the
 * catalog was read right, and the schema is the one this rapport knows.
 */
static int check_entity_columns(const struct table *t, char *why, size_t whylen)
{
	for (size_t e = 0; entities[e]; e++) {
		const struct entity *ent = entities[e];

		if (strcmp(ent->table, t->name) != 0)
			continue;
		for (size_t i = 0; i < nitems(record_columns); i++)
			if (strv_find(&t->cols, record_columns[i]) < 0) {
				snprintf(why, whylen, "table %s has no column %s", t->name,
					 record_columns[i]);
				return -1;
			}
		for (size_t f = 0; f < ent->nfields; f++)
			if (strv_find(&t->cols, ent->fields[f].column ? ent->fields[f].column :
				      ent->fields[f].name) < 0) {
				snprintf(why, whylen, "table %s has no column %s", t->name,
					 ent->fields[f].column ? ent->fields[f].column :
					 ent->fields[f].name);
				return -1;
			}
	}
	return 0;
}

static struct table *add_table(struct plan *p, const char *name)
{
	struct table *t;

	p->t = xrealloc(p->t, sizeof *p->t * (size_t)(p->n + 1));
	t = &p->t[p->n++];
	memset(t, 0, sizeof *t);
	t->name = xstrdup(name);
	t->id = -1;
	return t;
}

/*
 * Reads both catalogs and fills p->t: the tables in copy order with their
 * columns and keys. 0, or -1 with why (then the stores' schemas differ or
 * cannot be read).
 */
static int make_plan(struct plan *p, struct store_conn *sc, struct store_conn *dc, char *why,
		     size_t whylen)
{
	struct strv st = { 0 }, dt = { 0 }, order = { 0 };
	char sub[400];
	int ret = -1;

	if (catalog(sc, NULL, &st, sub, sizeof sub)) {
		snprintf(why, whylen, "source: %s", sub);
		goto out;
	}
	if (catalog(dc, NULL, &dt, sub, sizeof sub)) {
		snprintf(why, whylen, "target: %s", sub);
		goto out;
	}
	for (int i = 0; i < st.n; i++)
		if (!internal_table(st.v[i]) && strv_find(&dt, st.v[i]) < 0) {
			snprintf(why, whylen, "table %s is in the source but not in the target",
				 st.v[i]);
			goto out;
		}
	for (int i = 0; i < dt.n; i++)
		if (!internal_table(dt.v[i]) && strv_find(&st, dt.v[i]) < 0) {
			snprintf(why, whylen, "table %s is in the target but not in the source",
				 dt.v[i]);
			goto out;
		}
	/* known tables in their order, then the others in name order */
	for (size_t k = 0; k < nitems(known_tables); k++)
		if (strv_find(&st, known_tables[k].name) >= 0)
			strv_add(&order, known_tables[k].name, strlen(known_tables[k].name));
	for (int i = 0; i < st.n; i++)
		if (!internal_table(st.v[i]) && strv_find(&order, st.v[i]) < 0)
			strv_add(&order, st.v[i], strlen(st.v[i]));

	for (int i = 0; i < order.n; i++) {
		struct table *t = add_table(p, order.v[i]);
		const struct known_table *kt = NULL;
		struct strv dcols = { 0 };

		if (catalog(sc, t->name, &t->cols, sub, sizeof sub)) {
			snprintf(why, whylen, "source: %s", sub);
			goto out;
		}
		if (catalog(dc, t->name, &dcols, sub, sizeof sub)) {
			snprintf(why, whylen, "target: %s", sub);
			goto out;
		}
		for (int c = 0; c < t->cols.n || c < dcols.n; c++) {
			const char *miss = NULL, *side = NULL;

			if (c < t->cols.n && strv_find(&dcols, t->cols.v[c]) < 0)
				miss = t->cols.v[c], side = "target";
			else if (c < dcols.n && strv_find(&t->cols, dcols.v[c]) < 0)
				miss = dcols.v[c], side = "source";
			if (miss) {
				snprintf(why, whylen, "column %s.%s is missing in the %s", t->name,
					 miss, side);
				strv_free(&dcols);
				goto out;
			}
		}
		strv_free(&dcols);
		if (t->cols.n == 0) {
			snprintf(why, whylen, "table %s shows no columns", t->name);
			goto out;
		}
		if (check_entity_columns(t, why, whylen))
			goto out;
		t->id = strv_find(&t->cols, "id");
		for (size_t k = 0; k < nitems(known_tables); k++)
			if (strcmp(known_tables[k].name, t->name) == 0)
				kt = &known_tables[k];
		if (kt) {
			for (int k = 0; k < COPY_MAX_KEYS && kt->keys[k]; k++) {
				int c = strv_find(&t->cols, kt->keys[k]);

				if (c < 0) {
					snprintf(why, whylen, "table %s has no key column %s",
						 t->name, kt->keys[k]);
					goto out;
				}
				t->keys[t->nkeys] = c;
				t->key_type[t->nkeys++] = kt->key_types[k];
			}
		} else if (t->id >= 0) {
			t->keys[0] = t->id;
			t->key_type[0] = 'i';
			t->nkeys = 1;
		} else {
			snprintf(why, whylen, "table %s has no id column: add it with its key to "
				 "known_tables in src/cli/copy.c", t->name);
			goto out;
		}
		find_self_refs(t);
		t->sql_first = page_sql(t, 0);
		t->sql_next = page_sql(t, 1);
	}
	ret = 0;
out:
	strv_free(&st);
	strv_free(&dt);
	strv_free(&order);
	return ret;
}

static void plan_free(struct plan *p)
{
	for (int i = 0; i < p->n; i++) {
		strv_free(&p->t[i].cols);
		free(p->t[i].name);
		free(p->t[i].sql_first);
		free(p->t[i].sql_next);
	}
	free(p->t);
	p->t = NULL;
	p->n = 0;
}

/* --- reading a table page by page ------------------------------------------ */

struct pager {
	const struct table *t;
	struct store_conn *c;
	struct store_stmt *st;		/* the current page, or NULL */
	int have_last;			/* a row was read: pages go on after its key */
	int in_page;			/* rows of the current page so far */
	int eof;
	int64_t last_int[COPY_MAX_KEYS];
	struct buf last_text[COPY_MAX_KEYS];
};

static void pager_init(struct pager *pg, const struct table *t, struct store_conn *c)
{
	memset(pg, 0, sizeof *pg);
	pg->t = t;
	pg->c = c;
	for (int k = 0; k < COPY_MAX_KEYS; k++)
		buf_init(&pg->last_text[k], (size_t)1 << 20);
}

static void pager_free(struct pager *pg)
{
	store_done(pg->st);
	pg->st = NULL;
	for (int k = 0; k < COPY_MAX_KEYS; k++)
		buf_free(&pg->last_text[k]);
}

/*
 * Steps to the next row of the table, in key order: STORE_ROW (its columns
 * are pg->st's until the next call), STORE_DONE, or an error code.
 */
static int pager_next(struct pager *pg)
{
	const struct table *t = pg->t;
	int rc;

	for (;;) {
		if (!pg->st) {
			if (pg->eof)
				return STORE_DONE;
			pg->st = store_prepare(pg->c, pg->have_last ? t->sql_next : t->sql_first);
			if (!pg->st)
				return STORE_ERROR;
			for (int k = 0; pg->have_last && k < t->nkeys; k++) {
				rc = t->key_type[k] == 'i'
					? store_bind_int(pg->st, k + 1, pg->last_int[k])
					: store_bind_text(pg->st, k + 1, pg->last_text[k].data,
							  pg->last_text[k].len);
				if (rc != STORE_OK)
					return rc;
			}
			pg->in_page = 0;
		}
		rc = store_step(pg->st);
		if (rc == STORE_ROW) {
			pg->in_page++;
			pg->have_last = 1;
			for (int k = 0; k < t->nkeys; k++) {
				size_t len;
				const char *v;

				if (t->key_type[k] == 'i') {
					pg->last_int[k] = store_col_int(pg->st, t->keys[k]);
					continue;
				}
				v = store_col_text(pg->st, t->keys[k], &len);
				buf_reset(&pg->last_text[k]);
				if (v && buf_append(&pg->last_text[k], v, len))
					return STORE_ERROR;
			}
			return STORE_ROW;
		}
		store_done(pg->st);
		pg->st = NULL;
		if (rc != STORE_DONE)
			return rc;
		if (pg->in_page < COPY_PAGE_ROWS) {
			pg->eof = 1;
			return STORE_DONE;
		}
	}
}

/* --- checksums ----------------------------------------------------------- */

/* Adds the row st stands on: BLAKE2b of its columns, 'N' for NULL, 'T' + a
 * 64-bit length + the bytes for a value; added lane by lane mod 2^64. */
static void sum_row(struct sum *s, struct store_stmt *st, int ncols)
{
	crypto_generichash_state h;
	unsigned char d[32], len8[8];

	crypto_generichash_init(&h, NULL, 0, sizeof d);
	for (int i = 0; i < ncols; i++) {
		size_t len = 0;
		const char *v;

		if (store_col_null(st, i)) {
			crypto_generichash_update(&h, (const unsigned char *)"N", 1);
			continue;
		}
		v = store_col_text(st, i, &len);
		for (int b = 0; b < 8; b++)
			len8[b] = (unsigned char)((uint64_t)len >> (8 * b));
		crypto_generichash_update(&h, (const unsigned char *)"T", 1);
		crypto_generichash_update(&h, len8, sizeof len8);
		if (len)
			crypto_generichash_update(&h, (const unsigned char *)v, len);
	}
	crypto_generichash_final(&h, d, sizeof d);
	for (int l = 0; l < 4; l++) {
		uint64_t w = 0;

		for (int b = 0; b < 8; b++)
			w |= (uint64_t)d[8 * l + b] << (8 * b);
		s->lane[l] += w;
	}
	s->rows++;
}

/* The checksum as printed: 16 hex digits of BLAKE2b(rows, lanes). */
static void sum_hex(const struct sum *s, char out[17])
{
	unsigned char in[40], d[32];
	uint64_t words[5] = { (uint64_t)s->rows, s->lane[0], s->lane[1], s->lane[2], s->lane[3] };

	for (int w = 0; w < 5; w++)
		for (int b = 0; b < 8; b++)
			in[8 * w + b] = (unsigned char)(words[w] >> (8 * b));
	crypto_generichash(d, sizeof d, in, sizeof in, NULL, 0);
	hex_encode(d, 8, out);
	out[16] = 0;
}

static int sum_equal(const struct sum *a, const struct sum *b)
{
	return a->rows == b->rows && memcmp(a->lane, b->lane, sizeof a->lane) == 0;
}

static int sum_table(const struct table *t, struct store_conn *c, struct sum *s)
{
	struct pager pg;
	int rc;

	memset(s, 0, sizeof *s);
	pager_init(&pg, t, c);
	while ((rc = pager_next(&pg)) == STORE_ROW)
		sum_row(s, pg.st, t->cols.n);
	pager_free(&pg);
	return rc == STORE_DONE ? STORE_OK : rc;
}

/* --- the copy job ---------------------------------------------------------- */

/* Rows waiting for their INSERT: values back to back in data. */
struct batch {
	struct buf data;
	size_t *off, *len;
	unsigned char *null;
	int rows, ncols, cap;		/* cap rows */
};

/* A self-reference set once its table is complete. */
struct patch {
	int64_t id, ref;
	int col;
};

struct patches {
	struct patch *v;
	size_t n, cap;
};

static int batch_add(struct batch *b, const struct table *t, struct store_stmt *st,
		     struct patches *pt)
{
	int64_t id = 0;
	size_t cell = (size_t)b->rows * (size_t)b->ncols;

	if (t->nself && t->id >= 0)
		id = store_col_int(st, t->id);
	for (int i = 0; i < b->ncols; i++, cell++) {
		const char *v;
		size_t len = 0;
		int s;

		b->null[cell] = (unsigned char)store_col_null(st, i);
		b->off[cell] = b->data.len;
		b->len[cell] = 0;
		if (b->null[cell])
			continue;
		for (s = 0; s < t->nself; s++)
			if (t->self[s] == i)
				break;
		if (s < t->nself) {
			int64_t ref = store_col_int(st, i);

			if (ref > id) {	/* not copied yet: set after the table */
				if (pt->n == pt->cap) {
					pt->cap = pt->cap ? 2 * pt->cap : 256;
					pt->v = xrealloc(pt->v, sizeof *pt->v * pt->cap);
				}
				pt->v[pt->n++] = (struct patch){ .id = id, .ref = ref, .col = i };
				b->null[cell] = 1;
				continue;
			}
		}
		v = store_col_text(st, i, &len);
		if (len && buf_append(&b->data, v, len))
			return STORE_ERROR;
		b->len[cell] = len;
	}
	b->rows++;
	return STORE_OK;
}

static char *insert_sql(const struct table *t, int rows)
{
	struct buf b;

	buf_init(&b, (size_t)16 << 20);
	buf_puts(&b, "INSERT INTO ");
	put_ident(&b, t->name);
	buf_puts(&b, " (");
	for (int i = 0; i < t->cols.n; i++) {
		if (i)
			buf_puts(&b, ", ");
		put_ident(&b, t->cols.v[i]);
	}
	buf_puts(&b, ") VALUES ");
	for (int r = 0; r < rows; r++) {
		buf_puts(&b, r ? ", (" : "(");
		for (int i = 0; i < t->cols.n; i++)
			buf_puts(&b, i ? ", ?" : "?");
		buf_puts(&b, ")");
	}
	return b.data;
}

static int batch_flush(struct plan *p, const struct table *t, struct batch *b,
		       struct store_conn *c, char **full_sql, int full_rows)
{
	struct store_stmt *st;
	char *sql = NULL;
	int rc = STORE_OK, idx = 1;

	if (b->rows == 0)
		return STORE_OK;
	if (b->rows == full_rows) {
		if (!*full_sql)
			*full_sql = insert_sql(t, full_rows);
		st = store_prepare(c, *full_sql);
	} else {
		sql = insert_sql(t, b->rows);
		st = store_prepare(c, sql);
	}
	if (!st) {
		snprintf(p->why, sizeof p->why, "target: %s: %s", t->name, store_errmsg(c));
		free(sql);
		return STORE_ERROR;
	}
	for (size_t cell = 0; cell < (size_t)b->rows * (size_t)b->ncols && rc == STORE_OK;
	     cell++, idx++)
		rc = b->null[cell] ? store_bind_null(st, idx)
				   : store_bind_text(st, idx, b->data.data + b->off[cell],
						     b->len[cell]);
	if (rc == STORE_OK)
		rc = store_step(st);
	if (rc != STORE_DONE) {
		snprintf(p->why, sizeof p->why, "target: inserting into %s: %s", t->name,
			 store_errmsg(c));
		rc = rc == STORE_OK || rc == STORE_ROW ? STORE_ERROR : rc;
	} else {
		rc = STORE_OK;
	}
	store_done(st);
	free(sql);
	buf_reset(&b->data);
	b->rows = 0;
	return rc;
}

static int apply_patches(struct plan *p, const struct table *t, const struct patches *pt,
			 struct store_conn *c)
{
	for (size_t i = 0; i < pt->n; i++) {
		struct buf sql;
		struct store_stmt *st;
		int rc;

		buf_init(&sql, 4096);
		buf_puts(&sql, "UPDATE ");
		put_ident(&sql, t->name);
		buf_puts(&sql, " SET ");
		put_ident(&sql, t->cols.v[pt->v[i].col]);
		buf_puts(&sql, " = ? WHERE ");
		put_ident(&sql, t->cols.v[t->id]);
		buf_puts(&sql, " = ?");
		st = store_prepare(c, sql.data);
		buf_free(&sql);
		rc = st ? store_bind_int(st, 1, pt->v[i].ref) : STORE_ERROR;
		if (rc == STORE_OK)
			rc = store_bind_int(st, 2, pt->v[i].id);
		if (rc == STORE_OK)
			rc = store_step(st);
		store_done(st);
		if (rc != STORE_DONE) {
			snprintf(p->why, sizeof p->why, "target: setting %s.%s of id %" PRId64 ": %s",
				 t->name, t->cols.v[pt->v[i].col], pt->v[i].id, store_errmsg(c));
			return rc == STORE_OK || rc == STORE_ROW ? STORE_ERROR : rc;
		}
	}
	return STORE_OK;
}

static int copy_table(struct plan *p, struct table *t, struct store_conn *src,
		      struct store_conn *dst)
{
	struct pager pg;
	struct batch b = { 0 };
	struct patches pt = { 0 };
	char *full_sql = NULL;
	int per = COPY_INSERT_ROWS, rc;
	int64_t next_note = COPY_PROGRESS_ROWS;

	if (per * t->cols.n > COPY_INSERT_PARAMS)
		per = COPY_INSERT_PARAMS / t->cols.n;
	if (per < 1)
		per = 1;
	b.ncols = t->cols.n;
	b.cap = per;
	b.off = xmalloc(sizeof *b.off * (size_t)per * (size_t)b.ncols);
	b.len = xmalloc(sizeof *b.len * (size_t)per * (size_t)b.ncols);
	b.null = xmalloc((size_t)per * (size_t)b.ncols);
	buf_init(&b.data, COPY_ROW_BYTES_MAX);
	t->copied = 0;
	pager_init(&pg, t, src);
	while ((rc = pager_next(&pg)) == STORE_ROW) {
		if ((rc = batch_add(&b, t, pg.st, &pt)) != STORE_OK) {
			snprintf(p->why, sizeof p->why, "%s: a row too large to copy", t->name);
			break;
		}
		t->copied++;
		if (b.rows == per && (rc = batch_flush(p, t, &b, dst, &full_sql, per)) != STORE_OK)
			break;
		if (t->copied >= next_note) {
			fprintf(stderr, "rapport copy: %s: %" PRId64 " of %" PRId64 " rows (%.0f s)\n",
				t->name, t->copied, t->src_rows, seconds_since(p->t0));
			next_note += COPY_PROGRESS_ROWS;
		}
	}
	if (rc == STORE_DONE)
		rc = batch_flush(p, t, &b, dst, &full_sql, per);
	else if (!p->why[0])
		snprintf(p->why, sizeof p->why, "source: reading %s: %s", t->name,
			 store_errmsg(src));
	pager_free(&pg);
	if (rc == STORE_OK)
		rc = apply_patches(p, t, &pt, dst);
	if (rc == STORE_OK && t->id >= 0 && (rc = store_reset_ids(dst, t->name)) != STORE_OK)
		snprintf(p->why, sizeof p->why, "target: resetting the ids of %s: %s", t->name,
			 store_errmsg(dst));
	free(full_sql);
	free(pt.v);
	free(b.off);
	free(b.len);
	free(b.null);
	buf_free(&b.data);
	return rc;
}

/* The whole copy, one write job: all of it lands or none. */
static int copy_job(struct store_conn *c, void *arg)
{
	struct plan *p = arg;
	struct store_conn *src;
	int rc = STORE_OK;

	p->why[0] = 0;
	if (!(src = store_acquire(p->src))) {
		snprintf(p->why, sizeof p->why, "cannot read the source");
		return STORE_UNAVAILABLE;
	}
	/* Children before parents: the reverse of the copy order. */
	for (int i = p->n - 1; i >= 0 && rc == STORE_OK; i--) {
		struct buf sql;

		buf_init(&sql, 4096);
		buf_puts(&sql, "DELETE FROM ");
		put_ident(&sql, p->t[i].name);
		rc = store_exec(c, sql.data);
		if (rc != STORE_OK)
			snprintf(p->why, sizeof p->why, "target: emptying %s: %s", p->t[i].name,
				 store_errmsg(c));
		buf_free(&sql);
	}
	for (int i = 0; i < p->n && rc == STORE_OK; i++) {
		if (p->t[i].src_rows >= COPY_PROGRESS_ROWS)
			fprintf(stderr, "rapport copy: %s: %" PRId64 " rows\n", p->t[i].name,
				p->t[i].src_rows);
		rc = copy_table(p, &p->t[i], src, c);
	}
	store_release(src);
	if (rc == STORE_OK)
		fprintf(stderr, "rapport copy: committing (%.0f s)\n", seconds_since(p->t0));
	return rc;
}

/* --- the command ----------------------------------------------------------- */

/* Prints the table of counts and checksums; 1 if every table matches. */
static int report(const struct plan *p)
{
	int all = 1;
	int64_t total = 0;

	printf("%-20s %12s %12s  %-16s  %-16s  %s\n", "table", "rows from", "rows to",
	       "checksum from", "checksum to", "same");
	for (int i = 0; i < p->n; i++) {
		const struct table *t = &p->t[i];
		char a[17], b[17];
		int same = sum_equal(&t->src_sum, &t->dst_sum);

		sum_hex(&t->src_sum, a);
		sum_hex(&t->dst_sum, b);
		printf("%-20s %12" PRId64 " %12" PRId64 "  %-16s  %-16s  %s\n", t->name,
		       t->src_sum.rows, t->dst_sum.rows, a, b, same ? "ok" : "DIFFERS");
		all &= same;
		total += t->dst_sum.rows;
	}
	if (all)
		printf("copied %" PRId64 " rows in %d tables from %s to %s\n", total, p->n, p->from,
		       p->to);
	else
		printf("the copy DIFFERS from its source in the tables marked above\n");
	return all;
}

int cli_copy(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "force", no_argument, NULL, 'F' },
		{ 0 },
	};
	const char *from = NULL, *to = NULL;
	struct plan p = { 0 };
	struct store_conn *sc = NULL, *dc = NULL;
	char why[600], shown_from[512], shown_to[512];
	struct buf busy;
	int c, rc = 0, sv, dv, applied = 0;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			from = optarg;
			break;
		case 't':
			to = optarg;
			break;
		case 'F':
			p.force = 1;
			break;
		default:
			return cli_usage_error("copy", "unknown or incomplete option %s",
					       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("copy", "unexpected argument %s", argv[optind]);
	if (!from || !*from)
		return cli_usage_error("copy", "--from URL is required");
	if (!to || !*to)
		return cli_usage_error("copy", "--to URL is required");
	if (strcmp(from, to) == 0)
		return cli_usage_error("copy", "--from and --to name the same store");
	p.from = shown(from, shown_from, sizeof shown_from);
	p.to = shown(to, shown_to, sizeof shown_to);
	p.t0 = time_mono_us();
	if (sodium_init() < 0) {
		fprintf(stderr, "rapport copy: cannot initialise libsodium\n");
		return EXIT_SOFTWARE;
	}

	if (missing_file(from)) {
		fprintf(stderr, "rapport copy: cannot open the source %s: no such file\n", p.from);
		return EXIT_NOINPUT;
	}
	/* The source is only read: opened, not migrated. */
	if (store_open(from, &p.src, why, sizeof why) != 0) {
		fprintf(stderr, "rapport copy: cannot open the source %s: %s\n", p.from, why);
		return EXIT_NOINPUT;
	}
	if (!(sc = store_acquire(p.src))) {
		fprintf(stderr, "rapport copy: cannot read the source %s\n", p.from);
		store_close(p.src);
		return EXIT_NOINPUT;
	}
	if ((sv = schema_version(sc, why, sizeof why)) < 0) {
		fprintf(stderr, "rapport copy: the source %s: %s\n", p.from, why);
		store_release(sc);
		store_close(p.src);
		return EXIT_DATAERR;
	}
	store_release(sc);
	sc = NULL;
	/* The target is migrated to this rapport's schema. (Not cli_open_store:
	 * its messages would show a password in the URL, and the secrets it
	 * adds to settings would be replaced anyway.) */
	if (store_open(to, &p.dst, why, sizeof why) != 0) {
		fprintf(stderr, "rapport copy: cannot open the target %s: %s\n", p.to, why);
		store_close(p.src);
		return EXIT_NOINPUT;
	}
	if (store_migrate(p.dst, &applied, why, sizeof why) != 0) {
		fprintf(stderr, "rapport copy: cannot migrate the target %s: %s\n", p.to, why);
		rc = EXIT_NOINPUT;
		goto out;
	}
	if (applied)
		fprintf(stderr, "rapport copy: applied %d migration%s to %s\n", applied,
			applied == 1 ? "" : "s", p.to);
	if (!(sc = store_acquire(p.src)) || !(dc = store_acquire(p.dst))) {
		fprintf(stderr, "rapport copy: cannot read the %s\n", sc ? "target" : "source");
		rc = EXIT_NOINPUT;
		goto out;
	}
	if ((dv = schema_version(dc, why, sizeof why)) < 0) {
		fprintf(stderr, "rapport copy: the target %s: %s\n", p.to, why);
		rc = EXIT_NOINPUT;
		goto out;
	}
	if (sv != dv) {
		fprintf(stderr, "rapport copy: the source is at schema version %d and the target "
			"at %d: %s\n", sv, dv, sv < dv ? "run rapport migrate on the source first"
			: "the source is newer than this rapport; use a newer rapport");
		rc = EXIT_DATAERR;
		goto out;
	}
	if (make_plan(&p, sc, dc, why, sizeof why)) {
		fprintf(stderr, "rapport copy: the schemas of %s and %s differ: %s\n", p.from, p.to,
			why);
		rc = EXIT_DATAERR;
		goto out;
	}
	/* Counts: for progress, and a target must be empty unless --force. The
	 * settings that opening a store creates (its secrets) do not count: they
	 * are replaced by the source's. */
	buf_init(&busy, 4096);
	for (int i = 0; i < p.n; i++) {
		struct table *t = &p.t[i];

		t->src_rows = count_rows(sc, t);
		t->dst_rows = count_rows(dc, t);
		if (t->src_rows < 0 || t->dst_rows < 0) {
			fprintf(stderr, "rapport copy: cannot count the rows of %s in the %s: %s\n",
				t->name, t->src_rows < 0 ? "source" : "target",
				store_errmsg(t->src_rows < 0 ? sc : dc));
			rc = EXIT_NOINPUT;
			break;
		}
		if (t->dst_rows > 0 && strcmp(t->name, "settings") != 0)
			buf_printf(&busy, "%s%s (%" PRId64 " row%s)", busy.len ? ", " : "", t->name,
				   t->dst_rows, t->dst_rows == 1 ? "" : "s");
	}
	if (rc == 0 && busy.len && !p.force) {
		fprintf(stderr, "rapport copy: the target %s is not empty: %s; use --force to "
			"replace its contents\n", p.to, busy.data);
		rc = EXIT_DATAERR;
	}
	buf_free(&busy);
	if (rc)
		goto out;
	store_release(sc);
	store_release(dc);
	sc = dc = NULL;

	rc = store_write(p.dst, copy_job, &p);
	if (rc != STORE_OK) {
		fprintf(stderr, "rapport copy: the copy failed and the target is unchanged: %s\n",
			p.why[0] ? p.why : "the target's commit failed");
		rc = EXIT_SOFTWARE;
		goto out;
	}
	fprintf(stderr, "rapport copy: copied in %.1f s; comparing the tables\n",
		seconds_since(p.t0));

	if (!(sc = store_acquire(p.src)) || !(dc = store_acquire(p.dst))) {
		fprintf(stderr, "rapport copy: cannot read the %s to compare\n",
			sc ? "target" : "source");
		rc = EXIT_NOINPUT;
		goto out;
	}
	store_refresh(dc);
	for (int i = 0; i < p.n; i++) {
		struct table *t = &p.t[i];

		if (sum_table(t, sc, &t->src_sum) != STORE_OK ||
		    sum_table(t, dc, &t->dst_sum) != STORE_OK) {
			fprintf(stderr, "rapport copy: cannot read %s to compare: %s / %s\n", t->name,
				store_errmsg(sc), store_errmsg(dc));
			rc = EXIT_NOINPUT;
			goto out;
		}
	}
	rc = report(&p) ? 0 : EXIT_SOFTWARE;
	fprintf(stderr, "rapport copy: done in %.1f s\n", seconds_since(p.t0));
out:
	store_release(sc);
	store_release(dc);
	/* the target first: its writer thread may hold a connection of the source */
	store_close(p.dst);
	store_close(p.src);
	plan_free(&p);
	return rc;
}
