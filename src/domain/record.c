/*
 * The generic record machinery. Every entity table starts with the same seven
 * columns (id, created_at, updated_at, version, owner_id, tags, custom) and
 * then one column per described field, in the order of the description; the
 * SQL for each entity is built once from that and cached in sql_for().
 *
 * Lists use keyset paging: the cursor carries the sort, the last row's sort
 * value and id, and an HMAC so that a client cannot forge one. NULLs sort
 * first ascending and last descending, on both backends.
 */
#include "record.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../lib/limits.h"
#include "../lib/util.h"
#include "../store/store.h"
#include "access.h"
#include "audit.h"
#include "rules.h"

#define NCOMMON 7
static const char *const common_cols[NCOMMON] = {
	"id", "created_at", "updated_at", "version", "owner_id", "tags", "custom"
};

struct entity_sql {
	const struct entity *ent;
	char *cols;	/* "t.id, t.created_at, ..., t.f1, t.f2" */
	char *get;	/* SELECT cols FROM t WHERE id = ? */
	char *insert;	/* INSERT ... RETURNING the row */
	char *update;	/* UPDATE ... WHERE id = ? AND version = ? */
	char *del;	/* DELETE ... WHERE id = ? AND version = ? */
	char *exists;	/* SELECT 1 FROM t WHERE id = ? */
};

static struct entity_sql sqls[16];
static size_t nsqls;
static pthread_once_t sql_once = PTHREAD_ONCE_INIT;

/* The SQL column of a field. */
static const char *fcol(const struct field *f)
{
	return f->column ? f->column : f->name;
}

static void build_sql(const struct entity *ent)
{
	struct entity_sql *q = &sqls[nsqls++];
	char *returning;
	struct buf b;

	q->ent = ent;
	buf_init(&b, 1 << 16);
	for (int i = 0; i < NCOMMON; i++)
		buf_printf(&b, "%st.%s", i ? ", " : "", common_cols[i]);
	for (size_t i = 0; i < ent->nfields; i++)
		if (ent->fields[i].type == F_PASSWORD)	/* never read back */
			buf_puts(&b, ", NULL");
		else
			buf_printf(&b, ", t.%s", fcol(&ent->fields[i]));
	q->cols = xstrdup(b.data);
	/* the same columns unqualified, for RETURNING */
	buf_reset(&b);
	for (int i = 0; i < NCOMMON; i++)
		buf_printf(&b, "%s%s", i ? ", " : "", common_cols[i]);
	for (size_t i = 0; i < ent->nfields; i++)
		if (ent->fields[i].type == F_PASSWORD)
			buf_puts(&b, ", NULL");
		else
			buf_printf(&b, ", %s", fcol(&ent->fields[i]));
	returning = xstrdup(b.data);

	buf_reset(&b);
	buf_printf(&b, "SELECT %s FROM %s t WHERE t.id = ?", q->cols, ent->table);
	q->get = xstrdup(b.data);

	buf_reset(&b);
	buf_printf(&b, "INSERT INTO %s (created_at, updated_at, version, owner_id, tags, custom",
		   ent->table);
	for (size_t i = 0; i < ent->nfields; i++)
		buf_printf(&b, ", %s", fcol(&ent->fields[i]));
	buf_puts(&b, ") VALUES (?, ?, 1, ?, ?, ?");
	for (size_t i = 0; i < ent->nfields; i++)
		buf_puts(&b, ", ?");
	buf_printf(&b, ") RETURNING %s", returning);
	q->insert = xstrdup(b.data);

	buf_reset(&b);
	buf_printf(&b, "UPDATE %s SET updated_at = ?, version = version + 1, owner_id = ?, "
		   "tags = ?, custom = ?", ent->table);
	for (size_t i = 0; i < ent->nfields; i++)
		if (ent->fields[i].type == F_PASSWORD)	/* kept unless a new one is given */
			buf_printf(&b, ", %s = COALESCE(?, %s)", fcol(&ent->fields[i]),
				   fcol(&ent->fields[i]));
		else
			buf_printf(&b, ", %s = ?", fcol(&ent->fields[i]));
	buf_printf(&b, " WHERE id = ? AND version = ? RETURNING %s", returning);
	q->update = xstrdup(b.data);

	buf_reset(&b);
	buf_printf(&b, "DELETE FROM %s WHERE id = ? AND version = ?", ent->table);
	q->del = xstrdup(b.data);

	buf_reset(&b);
	buf_printf(&b, "SELECT 1 FROM %s WHERE id = ?", ent->table);
	q->exists = xstrdup(b.data);
	buf_free(&b);
	free(returning);
}

static void build_all_sql(void)
{
	for (size_t i = 0; entities[i]; i++)
		build_sql(entities[i]);
}

static const struct entity_sql *sql_for(const struct entity *ent)
{
	pthread_once(&sql_once, build_all_sql);
	for (size_t i = 0; i < nsqls; i++)
		if (sqls[i].ent == ent)
			return &sqls[i];
	abort();	/* an entity missing from entities[] is a programming error */
}

static enum err_code store_err(int rc)
{
	return rc == STORE_UNAVAILABLE || rc == STORE_BUSY ? E_UNAVAILABLE : E_INTERNAL;
}

/* ---- decoding a request body ---- */

static int is_common_readonly(const char *key)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(key, common_cols[i]) == 0)
			return 1;
	return 0;
}

/* Deduplicating append for lists. */
static int array_has(json_t *arr, json_t *v)
{
	size_t i;
	json_t *x;

	json_array_foreach(arr, i, x)
		if (json_equal(x, v))
			return 1;
	return 0;
}

static json_t *decode_strlist(const char *name, json_t *v, int maxitems, int maxlen,
			      int emails, struct err *e)
{
	json_t *out, *x;
	size_t i;

	if (!json_is_array(v)) {
		err_field(e, name, "must be an array of strings");
		return NULL;
	}
	if (json_array_size(v) > (size_t)maxitems) {
		err_field(e, name, "must have at most %d items", maxitems);
		return NULL;
	}
	out = json_array();
	json_array_foreach(v, i, x) {
		const char *s = json_string_value(x);
		const char *a, *z;

		if (!s) {
			err_field(e, name, "item %zu must be a string", i);
			goto fail;
		}
		for (a = s; *a == ' ' || *a == '\t'; a++)
			;
		for (z = a + strlen(a); z > a && (z[-1] == ' ' || z[-1] == '\t'); z--)
			;
		if (z == a) {
			err_field(e, name, "item %zu must not be empty", i);
			goto fail;
		}
		{
			json_t *t = json_stringn(a, (size_t)(z - a));

			if (utf8_len(json_string_value(t)) > (size_t)maxlen) {
				json_decref(t);
				err_field(e, name, "item %zu is longer than %d characters", i, maxlen);
				goto fail;
			}
			if (emails && !email_valid(json_string_value(t))) {
				json_decref(t);
				err_field(e, name, "item %zu is not an email address", i);
				goto fail;
			}
			if (array_has(out, t))
				json_decref(t);
			else
				json_array_append_new(out, t);
		}
	}
	return out;
fail:
	json_decref(out);
	return NULL;
}

static json_t *decode_idlist(const struct field *f, json_t *v, struct err *e)
{
	json_t *out, *x;
	size_t i;

	if (!json_is_array(v)) {
		err_field(e, f->name, "must be an array of ids");
		return NULL;
	}
	if (json_array_size(v) > LIMIT_ID_LIST) {
		err_field(e, f->name, "must have at most %d ids", LIMIT_ID_LIST);
		return NULL;
	}
	out = json_array();
	json_array_foreach(v, i, x) {
		if (!json_is_integer(x) || json_integer_value(x) < 1) {
			err_field(e, f->name, "item %zu must be a positive integer id", i);
			json_decref(out);
			return NULL;
		}
		if (!array_has(out, x))
			json_array_append(out, x);
	}
	return out;
}

static void err_enum(struct err *e, const struct field *f)
{
	struct buf b;

	buf_init(&b, 2048);
	for (const char *const *v = f->values; *v; v++)
		buf_printf(&b, "%s%s", v == f->values ? "" : ", ", *v);
	err_field(e, f->name, "must be one of: %s", b.data);
	buf_free(&b);
}

/* Returns the normalised value (new reference) or NULL with e filled. */
static json_t *decode_value(const struct field *f, json_t *v, struct err *e)
{
	char norm[TIME_BUF];
	const char *s;

	if (f->readonly) {
		err_field(e, f->name, "is read-only");
		return NULL;
	}
	if (json_is_null(v)) {
		if (f->required || f->type == F_PASSWORD) {
			err_field(e, f->name, "is required and cannot be null");
			return NULL;
		}
		if (f->type == F_STRLIST || f->type == F_IDLIST)
			return json_array();
		if (f->type == F_BOOL)
			return json_false();
		return json_null();
	}
	switch (f->type) {
	case F_TEXT:
	case F_EMAIL:
		if (!(s = json_string_value(v))) {
			err_field(e, f->name, "must be a string");
			return NULL;
		}
		if (f->required && !*s) {
			err_field(e, f->name, "must not be empty");
			return NULL;
		}
		if (utf8_len(s) > (size_t)f->max) {
			err_field(e, f->name, "must be at most %d characters", f->max);
			return NULL;
		}
		if (f->type == F_EMAIL && *s && !email_valid(s)) {
			err_field(e, f->name, "is not an email address");
			return NULL;
		}
		return json_incref(v);
	case F_INT:
		if (!json_is_integer(v)) {
			err_field(e, f->name, "must be an integer");
			return NULL;
		}
		if (json_integer_value(v) < f->min_int || json_integer_value(v) > f->max_int) {
			err_field(e, f->name, "must be from %lld to %lld",
				  (long long)f->min_int, (long long)f->max_int);
			return NULL;
		}
		return json_incref(v);
	case F_BOOL:
		if (!json_is_boolean(v)) {
			err_field(e, f->name, "must be true or false");
			return NULL;
		}
		return json_incref(v);
	case F_ENUM:
		if (!(s = json_string_value(v)) || !enum_has(f->values, s)) {
			err_enum(e, f);
			return NULL;
		}
		return json_incref(v);
	case F_REF:
		if (!json_is_integer(v) || json_integer_value(v) < 1) {
			err_field(e, f->name, "must be a positive integer id");
			return NULL;
		}
		return json_incref(v);
	case F_TIME:
		if (!(s = json_string_value(v)) || time_parse_rfc3339(s, norm) != 0) {
			err_field(e, f->name, "must be an RFC 3339 date-time such as 2026-01-31T09:30:00Z");
			return NULL;
		}
		return json_string(norm);
	case F_DATE:
		if (!(s = json_string_value(v)) || time_parse_date(s) != 0) {
			err_field(e, f->name, "must be a date YYYY-MM-DD");
			return NULL;
		}
		return json_incref(v);
	case F_STRLIST:
		return decode_strlist(f->name, v, LIMIT_STR_LIST, f->max,
				      strcmp(f->name, "emails") == 0, e);
	case F_IDLIST:
		return decode_idlist(f, v, e);
	case F_PASSWORD: {
		char hash[AUTH_HASH_BYTES];

		if (!(s = json_string_value(v)) || utf8_len(s) < 10 ||
		    json_string_length(v) > (size_t)f->max) {
			err_field(e, f->name, "must be a string of 10 characters to %d bytes", f->max);
			return NULL;
		}
		if (auth_password_hash(s, hash) != 0) {
			err_set(e, E_INTERNAL, "cannot hash the password");
			return NULL;
		}
		return json_string(hash);
	}
	case F_JSON:
		break;
	}
	err_field(e, f->name, "has an unknown type");
	return NULL;
}

json_t *record_decode(const struct entity *ent, json_t *body, int patch, struct err *e)
{
	const char *key;
	json_t *v, *out;

	if (!json_is_object(body)) {
		err_set(e, E_INVALID_JSON, "the body must be a JSON object");
		return NULL;
	}
	out = json_object();
	json_object_foreach(body, key, v) {
		const struct field *f;
		json_t *n = NULL;

		if (is_common_readonly(key)) {
			err_field(e, key, "is read-only");
		} else if (strcmp(key, "owner_id") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 1)
				err_field(e, key, "must be a positive integer id");
			else
				n = json_incref(v);
		} else if (strcmp(key, "tags") == 0) {
			n = json_is_null(v) ? json_array() :
				decode_strlist("tags", v, LIMIT_TAGS, LIMIT_TAG_BYTES, 0, e);
		} else if (strcmp(key, "custom") == 0) {
			if (ent->no_custom)
				err_field(e, key, "unknown field");
			else if (json_is_null(v))
				n = json_object();
			else if (!json_is_object(v))
				err_field(e, key, "must be an object");
			else if (json_object_size(v) > LIMIT_CUSTOM_FIELDS)
				err_field(e, key, "has more than %d keys", LIMIT_CUSTOM_FIELDS);
			else
				n = json_incref(v);
		} else if (!(f = entity_field(ent, key))) {
			err_field(e, key, "unknown field");
		} else {
			n = decode_value(f, v, e);
		}
		if (n)
			json_object_set_new(out, key, n);
	}
	if (!patch)
		for (size_t i = 0; i < ent->nfields; i++) {
			const struct field *f = &ent->fields[i];

			if (f->required && !json_object_get(body, f->name))
				err_field(e, f->name, "is required");
		}
	if (e->code != E_OK) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* ---- rows to JSON ---- */

/*
 * A row becomes JSON text directly: no intermediate objects on the hot read
 * path. List and object columns (tags, custom, id and string lists) hold
 * JSON that this file wrote, so they are copied as they are.
 */
static void col_raw_json(struct buf *b, struct store_stmt *st, int col, const char *empty)
{
	size_t len;
	const char *s = store_col_text(st, col, &len);

	if (s && len)
		buf_append(b, s, len);
	else
		buf_puts(b, empty);
}

static void col_string(struct buf *b, struct store_stmt *st, int col)
{
	size_t len;
	const char *s = store_col_text(st, col, &len);

	buf_json_string(b, s ? s : "", s ? len : 0);
}

static void row_to_text(struct store_stmt *st, const struct entity *ent, struct buf *b)
{
	buf_printf(b, "{\"id\":%lld,\"created_at\":", (long long)store_col_int(st, 0));
	col_string(b, st, 1);
	buf_puts(b, ",\"updated_at\":");
	col_string(b, st, 2);
	buf_printf(b, ",\"version\":%lld,\"owner_id\":", (long long)store_col_int(st, 3));
	if (store_col_null(st, 4))
		buf_puts(b, "null");
	else
		buf_printf(b, "%lld", (long long)store_col_int(st, 4));
	for (size_t i = 0; i < ent->nfields; i++) {
		const struct field *f = &ent->fields[i];
		int col = NCOMMON + (int)i;

		if (f->type == F_PASSWORD)
			continue;
		buf_printf(b, ",\"%s\":", f->name);
		if (f->type == F_STRLIST || f->type == F_IDLIST)
			col_raw_json(b, st, col, "[]");
		else if (f->type == F_JSON)
			col_raw_json(b, st, col, "{}");
		else if (store_col_null(st, col))
			buf_puts(b, f->type == F_BOOL ? "false" : "null");
		else if (f->type == F_INT || f->type == F_REF)
			buf_printf(b, "%lld", (long long)store_col_int(st, col));
		else if (f->type == F_BOOL)
			buf_puts(b, store_col_int(st, col) ? "true" : "false");
		else
			col_string(b, st, col);
	}
	buf_puts(b, ",\"tags\":");
	col_raw_json(b, st, 5, "[]");
	if (!ent->no_custom) {
		buf_puts(b, ",\"custom\":");
		col_raw_json(b, st, 6, "{}");
	}
	buf_puts(b, "}");
}

static json_t *row_to_json(struct store_stmt *st, const struct entity *ent)
{
	struct buf b;
	json_t *o;

	buf_init(&b, SIZE_MAX / 2);
	row_to_text(st, ent, &b);
	o = json_loadb(b.data, b.len, 0, NULL);
	buf_free(&b);
	if (!o)
		abort();	/* the text above is always JSON */
	return o;
}

static void no_such(const struct entity *ent, int64_t id, struct err *e)
{
	err_set(e, E_NOT_FOUND, "no %s with id %lld", ent->name, (long long)id);
}

/*
 * Prepares the read of one record of ent that who may read, its parameters
 * bound: on connection c, or (c NULL) to hand over to store s. NULL with e
 * set: E_NOT_FOUND when who may read none of ent, else E_UNAVAILABLE.
 */
static struct store_stmt *prepare_get_on(struct store_conn *c, struct store *s,
					 const struct entity *ent, int64_t id,
					 const struct principal *who, struct err *e)
{
	struct store_stmt *st;
	struct buf b;
	int n;

	buf_init(&b, 1 << 16);
	buf_puts(&b, sql_for(ent)->get);
	n = access_read_sql(who, ent, &b);
	st = n < 0 ? NULL : c ? store_prepare(c, b.data) : store_read_prepare(s, b.data);
	buf_free(&b);
	if (!st) {
		if (n < 0)
			no_such(ent, id, e);
		else
			err_set(e, E_UNAVAILABLE, NULL);
		return NULL;
	}
	store_bind_int(st, 1, id);
	for (int i = 0; i < n; i++)
		store_bind_int(st, 2 + i, who->user_id);
	return st;
}

static struct store_stmt *prepare_get(struct store_conn *c, const struct entity *ent,
				      int64_t id, const struct principal *who, struct err *e)
{
	return prepare_get_on(c, NULL, ent, id, who, e);
}

struct store_stmt *record_get_read(struct store *s, const struct entity *ent, int64_t id,
				   const struct principal *who, struct err *e)
{
	return prepare_get_on(NULL, s, ent, id, who, e);
}

int record_get_rows(struct store_stmt *rows, int rc, const struct entity *ent, int64_t id,
		    struct buf *out, int64_t *version, struct err *e)
{
	if (rc == STORE_OK)
		rc = store_step(rows);
	if (rc == STORE_ROW) {
		*version = store_col_int(rows, 3);
		row_to_text(rows, ent, out);
		return 0;
	}
	if (rc == STORE_DONE)
		no_such(ent, id, e);
	else
		err_set(e, store_err(rc), NULL);
	return -1;
}

json_t *record_get(struct store_conn *c, const struct entity *ent, int64_t id,
		   const struct principal *who, struct err *e)
{
	struct store_stmt *st = prepare_get(c, ent, id, who, e);
	json_t *o = NULL;
	int rc;

	if (!st)
		return NULL;
	rc = store_step(st);
	if (rc == STORE_ROW)
		o = row_to_json(st, ent);
	else if (rc == STORE_DONE)
		no_such(ent, id, e);
	else
		err_set(e, store_err(rc), NULL);
	store_done(st);
	return o;
}

/* 1 if sql, with id bound, finds a row; 0 if not, -1 on error. */
static int finds(struct store_conn *c, const char *sql, int64_t id)
{
	struct store_stmt *st = store_prepare(c, sql);
	int rc;

	if (!st)
		return -1;
	store_bind_int(st, 1, id);
	rc = store_step(st);
	store_done(st);
	return rc == STORE_ROW ? 1 : rc == STORE_DONE ? 0 : -1;
}

int record_exists(struct store_conn *c, const struct entity *ent, int64_t id)
{
	return finds(c, sql_for(ent)->exists, id);
}

/* 1 if who may read record id of ent, 0 if not (or it does not exist), -1 on error. */
static int record_readable(struct store_conn *c, const struct entity *ent, int64_t id,
			   const struct principal *who)
{
	struct err e = { 0 };
	struct store_stmt *st;
	int rc;

	if (!who)
		return record_exists(c, ent, id);
	if (!(st = prepare_get(c, ent, id, who, &e))) {
		rc = e.code == E_NOT_FOUND ? 0 : -1;
		err_clear(&e);
		return rc;
	}
	rc = store_step(st);
	store_done(st);
	return rc == STORE_ROW ? 1 : rc == STORE_DONE ? 0 : -1;
}

/* ---- custom fields ---- */

static int custom_value_ok(const char *type, json_t *decl, json_t *v, char *why, size_t n)
{
	if (strcmp(type, "text") == 0) {
		json_int_t max = json_integer_value(json_object_get(decl, "max_length"));
		const char *s = json_string_value(v);

		if (!s)
			return snprintf(why, n, "must be a string"), 0;
		if (utf8_len(s) > (size_t)(max > 0 ? max : 10000))
			return snprintf(why, n, "must be at most %lld characters",
					(long long)(max > 0 ? max : 10000)), 0;
	} else if (strcmp(type, "integer") == 0) {
		if (!json_is_integer(v))
			return snprintf(why, n, "must be an integer"), 0;
	} else if (strcmp(type, "number") == 0) {
		if (!json_is_number(v))
			return snprintf(why, n, "must be a number"), 0;
	} else if (strcmp(type, "boolean") == 0) {
		if (!json_is_boolean(v))
			return snprintf(why, n, "must be true or false"), 0;
	} else if (strcmp(type, "date") == 0) {
		if (!json_is_string(v) || time_parse_date(json_string_value(v)) != 0)
			return snprintf(why, n, "must be a date YYYY-MM-DD"), 0;
	} else if (strcmp(type, "enum") == 0) {
		json_t *opts = json_object_get(decl, "options");

		if (!json_is_string(v) || !array_has(opts, v))
			return snprintf(why, n, "must be one of the field's options"), 0;
	}
	return 1;
}

/* Checks the whole custom object of a record against the declarations. */
/* The custom fields declared for ent: {"name": {type, options, ...}}, new
 * reference, or NULL with e set. */
static json_t *load_decls(struct store_conn *c, const struct entity *ent, struct err *e)
{
	static const char sql[] =
		"SELECT name, type, options, required, max_length FROM custom_fields "
		"WHERE entity = ?";
	struct store_stmt *st;
	json_t *decls;
	int rc;

	if (!(st = store_prepare(c, sql))) {
		err_set(e, E_UNAVAILABLE, NULL);
		return NULL;
	}
	decls = json_object();
	store_bind_text(st, 1, ent->name, strlen(ent->name));
	while ((rc = store_step(st)) == STORE_ROW) {
		size_t nlen, tlen, olen;
		const char *name = store_col_text(st, 0, &nlen);
		const char *type = store_col_text(st, 1, &tlen);
		const char *opts = store_col_text(st, 2, &olen);
		json_t *options = json_loadb(opts ? opts : "[]", opts ? olen : 2, 0, NULL);
		json_t *d = json_pack("{s:s#, s:o, s:b, s:I}",
				      "type", type ? type : "", type ? tlen : 0,
				      "options", options ? options : json_array(),
				      "required", (int)store_col_int(st, 3),
				      "max_length", (json_int_t)store_col_int(st, 4));
		char *fname = xstrndup(name ? name : "", name ? nlen : 0);

		if (!d) {
			free(fname);
			rc = STORE_ERROR;
			break;
		}
		json_object_set_new(decls, fname, d);
		free(fname);
	}
	store_done(st);
	if (rc != STORE_DONE) {
		err_set(e, store_err(rc), NULL);
		json_decref(decls);
		return NULL;
	}
	return decls;
}

/*
 * The declarations read in a write transaction, for its other jobs: whatever
 * would change them runs alone, so nothing commits a change meanwhile
 * (store_txn_seq), and a job that changes a declaration bumps decl_gen,
 * which empties the cache. A slot per transaction: writers that run side by
 * side do not throw each other's out.
 */
#define DECL_SLOTS 16
static struct {
	pthread_mutex_t lock;
	struct decl_slot {
		uint64_t seq;
		unsigned gen;
		json_t *by_entity;	/* entity name -> declarations */
	} slot[DECL_SLOTS];
	unsigned next;			/* the slot to take over next */
} decl_cache = { .lock = PTHREAD_MUTEX_INITIALIZER };
static atomic_uint decl_gen;

/* The slot of transaction seq, taken over if it has none; under the lock. */
static struct decl_slot *decl_slot(uint64_t seq, unsigned gen)
{
	struct decl_slot *s = NULL;

	for (int i = 0; i < DECL_SLOTS && !s; i++)
		if (decl_cache.slot[i].seq == seq)
			s = &decl_cache.slot[i];
	if (!s) {	/* emptied below */
		s = &decl_cache.slot[decl_cache.next++ % DECL_SLOTS];
		s->seq = seq;
		json_decref(s->by_entity);
		s->by_entity = NULL;
	}
	if (s->gen != gen || !s->by_entity) {
		json_decref(s->by_entity);
		s->by_entity = json_object();
		s->gen = gen;
	}
	return s;
}

static json_t *decls_for(struct store_conn *c, const struct entity *ent, struct err *e)
{
	uint64_t seq = store_txn_seq();
	unsigned gen = atomic_load(&decl_gen);
	struct decl_slot *s;
	json_t *d;

	if (!seq)
		return load_decls(c, ent, e);
	pthread_mutex_lock(&decl_cache.lock);
	d = json_incref(json_object_get(decl_slot(seq, gen)->by_entity, ent->name));
	pthread_mutex_unlock(&decl_cache.lock);
	if (d || !(d = load_decls(c, ent, e)))
		return d;
	pthread_mutex_lock(&decl_cache.lock);
	if (atomic_load(&decl_gen) == gen) {	/* what was read is still current */
		s = decl_slot(seq, gen);
		json_object_set(s->by_entity, ent->name, d);
	}
	pthread_mutex_unlock(&decl_cache.lock);
	return d;
}

/* Checks the whole custom object of a record against the declarations. */
static int check_custom(struct store_conn *c, const struct entity *ent, json_t *custom,
			struct err *e)
{
	json_t *decls = NULL, *v;
	const char *key;

	if (ent->no_custom || !(decls = decls_for(c, ent, e)))
		goto out;
	json_object_foreach(custom, key, v) {
		json_t *d = json_object_get(decls, key);
		char field[96], why[128];

		snprintf(field, sizeof field, "custom.%s", key);
		if (!d)
			err_field(e, field, "no custom field %s is declared for %s", key, ent->name);
		else if (!custom_value_ok(json_string_value(json_object_get(d, "type")), d, v,
					  why, sizeof why))
			err_field(e, field, "%s", why);
	}
	json_object_foreach(decls, key, v) {
		char field[96];

		snprintf(field, sizeof field, "custom.%s", key);
		if (json_is_true(json_object_get(v, "required")) &&
		    !json_object_get(custom, key))
			err_field(e, field, "is required");
	}
out:
	json_decref(decls);
	return e->code == E_OK ? 0 : -1;
}

/* Merges a custom patch into base: null removes a key. */
static void merge_custom(json_t *base, json_t *patch)
{
	const char *key;
	json_t *v;

	json_object_foreach(patch, key, v) {
		if (json_is_null(v))
			json_object_del(base, key);
		else
			json_object_set(base, key, v);
	}
}

/* 1 if id is an organization of kind business_unit, 0 if not, -1 on error. */
static int unit_exists(struct store_conn *c, int64_t id)
{
	return finds(c, "SELECT 1 FROM organizations WHERE id = ? AND kind = 'business_unit'", id);
}

/*
 * References named in input must exist and be readable by who: a record
 * they may not read is answered as one that does not exist.
 */
static int check_refs(struct store_conn *c, const struct entity *ent, json_t *input,
		      const struct principal *who, struct err *e)
{
	json_t *owner = json_object_get(input, "owner_id");

	/* Who signed in with a token is there: a user with tokens cannot be
	 * deleted (their rows reference it), so that needs no query. */
	if (json_is_integer(owner) && !(who && who->token_id > 0 &&
					 json_integer_value(owner) == who->user_id)) {
		int rc = record_exists(c, &user_entity, json_integer_value(owner));

		if (rc < 0)
			err_set(e, E_UNAVAILABLE, NULL);
		else if (rc == 0)
			err_field_code(e, E_INVALID_REFERENCE, "owner_id", "no user with id %lld",
				       (long long)json_integer_value(owner));
	}
	for (size_t i = 0; i < ent->nfields; i++) {
		const struct field *f = &ent->fields[i];
		json_t *v = json_object_get(input, f->name), *x;
		size_t j;

		if (!v || json_is_null(v))
			continue;
		if (f->unit) {
			json_t *ids = f->type == F_IDLIST ? json_incref(v) : json_pack("[O]", v);

			json_array_foreach(ids, j, x) {
				int rc = unit_exists(c, json_integer_value(x));

				if (rc <= 0) {
					if (rc < 0)
						err_set(e, E_UNAVAILABLE, NULL);
					else
						err_field_code(e, E_INVALID_REFERENCE, f->name,
							       "no business unit with id %lld",
							       (long long)json_integer_value(x));
					break;
				}
			}
			json_decref(ids);
		} else if (f->type == F_REF) {
			int rc = record_readable(c, f->ref, json_integer_value(v), who);

			if (rc < 0)
				err_set(e, E_UNAVAILABLE, NULL);
			else if (rc == 0)
				err_field_code(e, E_INVALID_REFERENCE, f->name, "no %s with id %lld",
					       f->ref->name, (long long)json_integer_value(v));
		} else if (f->type == F_IDLIST) {
			json_array_foreach(v, j, x) {
				int rc = record_readable(c, f->ref, json_integer_value(x), who);

				if (rc < 0) {
					err_set(e, E_UNAVAILABLE, NULL);
				} else if (rc == 0) {
					err_field_code(e, E_INVALID_REFERENCE, f->name,
						       "no %s with id %lld", f->ref->name,
						       (long long)json_integer_value(x));
					break;
				}
			}
		}
	}
	return e->code == E_OK ? 0 : -1;
}

/* ---- writing ---- */

static void bind_json_text(struct store_stmt *st, int idx, json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	store_bind_text(st, idx, s, strlen(s));
	free(s);
}

static void bind_field(struct store_stmt *st, int idx, const struct field *f, json_t *v)
{
	if (f->type == F_STRLIST || f->type == F_IDLIST) {
		bind_json_text(st, idx, v && !json_is_null(v) ? v : json_array());
		return;
	}
	if (!v || json_is_null(v)) {
		if (f->type == F_BOOL)
			store_bind_int(st, idx, 0);
		else
			store_bind_null(st, idx);
		return;
	}
	switch (f->type) {
	case F_INT:
	case F_REF:
		store_bind_int(st, idx, json_integer_value(v));
		break;
	case F_BOOL:
		store_bind_int(st, idx, json_is_true(v));
		break;
	default:
		store_bind_text(st, idx, json_string_value(v), json_string_length(v));
		break;
	}
}

/* Maps a failed write statement to an error. */
static int write_failed(int rc, const struct entity *ent, struct err *e)
{
	if (rc == STORE_CONSTRAINT)
		err_set(e, E_CONFLICT, "the %s conflicts with an existing record "
			"(a unique value is taken or it is still referenced)", ent->name);
	else
		err_set(e, store_err(rc), NULL);
	return rc == STORE_CONSTRAINT ? STORE_ABORT : rc;
}

/* The row a write's RETURNING gave (the current one of st), as stored. */
static int returned_row(struct store_stmt *st, const struct entity *ent, json_t **out,
			struct err *e)
{
	*out = row_to_json(st, ent);
	if (store_step(st) == STORE_DONE)
		return STORE_OK;
	json_decref(*out);
	*out = NULL;
	err_set(e, E_UNAVAILABLE, NULL);
	return STORE_ERROR;
}

/* After the row was written: the entity's own hook, then the audit row. */
static int after_write(struct store_conn *c, const struct entity *ent,
		       const struct principal *who, const char *action, json_t *old,
		       json_t *rec, json_t *input, struct err *e)
{
	int rc = STORE_OK;

	if (ent == &custom_field_entity)
		atomic_fetch_add(&decl_gen, 1);
	if (ent->after)
		rc = ent->after(ent, c, who, rec, old, input, e);
	if (rc == STORE_OK)
		rc = audit_record(c, ent, who, action, old, rec, input, e);
	return rc;
}

int record_insert(struct store_conn *c, const struct entity *ent, json_t *input,
		  const struct principal *who, json_t **out, struct err *e)
{
	json_t *rec = json_deep_copy(input), *v;
	struct store_stmt *st = NULL;
	char now[TIME_BUF];
	int rc = STORE_ABORT, idx = 1;

	*out = NULL;
	if (!json_object_get(rec, "owner_id") && who)
		json_object_set_new(rec, "owner_id", json_integer(who->user_id));
	if (ent->access == ACCESS_SCOPED && who && who->default_unit > 0 &&
	    entity_field(ent, "business_unit_id") && !json_object_get(rec, "business_unit_id"))
		json_object_set_new(rec, "business_unit_id", json_integer(who->default_unit));
	if (!json_object_get(rec, "tags"))
		json_object_set_new(rec, "tags", json_array());
	/* null custom values mean "not set" on create */
	v = json_object();
	if (json_object_get(rec, "custom"))
		merge_custom(v, json_object_get(rec, "custom"));
	json_object_set_new(rec, "custom", v);
	for (size_t i = 0; i < ent->nfields; i++) {
		const struct field *f = &ent->fields[i];

		if (!json_object_get(rec, f->name))
			json_object_set_new(rec, f->name,
					    f->type == F_STRLIST || f->type == F_IDLIST ? json_array() :
					    f->type == F_BOOL ? json_false() : json_null());
	}
	if (check_custom(c, ent, json_object_get(rec, "custom"), e) ||
	    check_refs(c, ent, rec, who, e) ||
	    access_check_write(c, who, ent, NULL, rec, e) ||
	    (ent->check && ent->check(ent, c, rec, NULL, e)))
		goto out;
	if (!(st = store_prepare(c, sql_for(ent)->insert))) {
		err_set(e, E_UNAVAILABLE, NULL);
		rc = STORE_ERROR;
		goto out;
	}
	time_now_rfc3339(now);
	store_bind_text(st, idx++, now, strlen(now));
	store_bind_text(st, idx++, now, strlen(now));
	if (json_is_integer(json_object_get(rec, "owner_id")))
		store_bind_int(st, idx++, json_integer_value(json_object_get(rec, "owner_id")));
	else
		store_bind_null(st, idx++);
	bind_json_text(st, idx++, json_object_get(rec, "tags"));
	bind_json_text(st, idx++, json_object_get(rec, "custom"));
	for (size_t i = 0; i < ent->nfields; i++)
		bind_field(st, idx++, &ent->fields[i], json_object_get(rec, ent->fields[i].name));
	rc = store_step(st);
	if (rc != STORE_ROW) {
		rc = write_failed(rc, ent, e);
		goto out;
	}
	rc = returned_row(st, ent, out, e);
	store_done(st);
	st = NULL;
	if (rc == STORE_OK)
		rc = after_write(c, ent, who, "create", NULL, *out, input, e);
out:
	if (st)
		store_done(st);
	json_decref(rec);
	if (rc != STORE_OK) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

int record_update(struct store_conn *c, const struct entity *ent, int64_t id,
		  int64_t version, json_t *input, const struct principal *who, json_t **out,
		  struct err *e)
{
	json_t *old, *rec = NULL, *v;
	struct store_stmt *st = NULL;
	const char *key;
	char now[TIME_BUF];
	int rc = STORE_ABORT, idx = 1;

	*out = NULL;
	if (!(old = record_get(c, ent, id, who, e)))
		return e->code == E_NOT_FOUND ? STORE_ABORT : STORE_ERROR;
	if (access_check_write(c, who, ent, old, old, e))	/* may they change it at all */
		goto out;
	if (version < 0)
		version = json_integer_value(json_object_get(old, "version"));
	if (json_integer_value(json_object_get(old, "version")) != version) {
		err_set(e, E_STALE, "the %s is at version %lld, not %lld", ent->name,
			(long long)json_integer_value(json_object_get(old, "version")),
			(long long)version);
		goto out;
	}
	rec = json_deep_copy(old);
	if (!json_object_get(rec, "custom"))	/* entities without custom fields */
		json_object_set_new(rec, "custom", json_object());
	json_object_foreach(input, key, v) {
		const struct field *f = entity_field(ent, key);

		if (f && f->immutable && !json_equal(v, json_object_get(old, key))) {
			err_field(e, key, "cannot be changed once set");
			continue;
		}
		if (strcmp(key, "custom") == 0)
			merge_custom(json_object_get(rec, "custom"), v);
		else
			json_object_set(rec, key, v);
	}
	if (e->code != E_OK || check_custom(c, ent, json_object_get(rec, "custom"), e) ||
	    check_refs(c, ent, input, who, e) || access_check_write(c, who, ent, old, rec, e) ||
	    (ent->check && ent->check(ent, c, rec, old, e)))
		goto out;
	if (!(st = store_prepare(c, sql_for(ent)->update))) {
		err_set(e, E_UNAVAILABLE, NULL);
		rc = STORE_ERROR;
		goto out;
	}
	time_now_rfc3339(now);
	store_bind_text(st, idx++, now, strlen(now));
	if (json_is_integer(json_object_get(rec, "owner_id")))
		store_bind_int(st, idx++, json_integer_value(json_object_get(rec, "owner_id")));
	else
		store_bind_null(st, idx++);
	bind_json_text(st, idx++, json_object_get(rec, "tags"));
	bind_json_text(st, idx++, json_object_get(rec, "custom"));
	for (size_t i = 0; i < ent->nfields; i++)
		bind_field(st, idx++, &ent->fields[i], json_object_get(rec, ent->fields[i].name));
	store_bind_int(st, idx++, id);
	store_bind_int(st, idx++, version);
	rc = store_step(st);
	if (rc == STORE_DONE) {	/* no row had that version any more */
		err_set(e, E_STALE, "the %s changed while you were editing it", ent->name);
		rc = STORE_ABORT;
		goto out;
	}
	if (rc != STORE_ROW) {
		rc = write_failed(rc, ent, e);
		goto out;
	}
	rc = returned_row(st, ent, out, e);
	store_done(st);
	st = NULL;
	if (rc == STORE_OK)
		rc = after_write(c, ent, who, "update", old, *out, input, e);
	if (rc != STORE_OK) {
		json_decref(*out);
		*out = NULL;
	}
out:
	if (st)
		store_done(st);
	json_decref(old);
	json_decref(rec);
	return rc;
}

int record_delete(struct store_conn *c, const struct entity *ent, int64_t id,
		  int64_t version, const struct principal *who, struct err *e)
{
	json_t *old = record_get(c, ent, id, who, e);
	struct store_stmt *st;
	int rc;

	if (!old)
		return e->code == E_NOT_FOUND ? STORE_ABORT : STORE_ERROR;
	if (access_check_write(c, who, ent, old, NULL, e) ||
	    (ent->before_delete && ent->before_delete(ent, c, old, e))) {
		rc = e->code == E_UNAVAILABLE ? STORE_ERROR : STORE_ABORT;
		goto out;
	}
	if (version < 0)
		version = json_integer_value(json_object_get(old, "version"));
	if (json_integer_value(json_object_get(old, "version")) != version) {
		err_set(e, E_STALE, "the %s is not at version %lld", ent->name, (long long)version);
		rc = STORE_ABORT;
		goto out;
	}
	if (!(st = store_prepare(c, sql_for(ent)->del))) {
		err_set(e, E_UNAVAILABLE, NULL);
		rc = STORE_ERROR;
		goto out;
	}
	store_bind_int(st, 1, id);
	store_bind_int(st, 2, version);
	rc = store_step(st);
	store_done(st);
	if (rc != STORE_DONE) {
		rc = write_failed(rc, ent, e);
		goto out;
	}
	if (store_changes(c) != 1) {
		err_set(e, E_STALE, "the %s changed while you were deleting it", ent->name);
		rc = STORE_ABORT;
		goto out;
	}
	rc = after_write(c, ent, who, "delete", old, NULL, NULL, e);
out:
	json_decref(old);
	return rc;
}

/* ---- lists ---- */

static unsigned char cursor_key[crypto_auth_hmacsha256_KEYBYTES];

void record_set_cursor_key(const unsigned char *key, size_t len)
{
	memset(cursor_key, 0, sizeof cursor_key);
	memcpy(cursor_key, key, len < sizeof cursor_key ? len : sizeof cursor_key);
}

#define CURSOR_MAC 16

static void cursor_mac(const struct entity *ent, const unsigned char *p, size_t n,
		       unsigned char mac[CURSOR_MAC])
{
	crypto_auth_hmacsha256_state s;
	unsigned char full[crypto_auth_hmacsha256_BYTES];

	crypto_auth_hmacsha256_init(&s, cursor_key, sizeof cursor_key);
	crypto_auth_hmacsha256_update(&s, (const unsigned char *)ent->collection,
				      strlen(ent->collection) + 1);
	crypto_auth_hmacsha256_update(&s, p, n);
	crypto_auth_hmacsha256_final(&s, full);
	memcpy(mac, full, CURSOR_MAC);
}

/* cursor = b64url(JSON [sort, value, id]) "." b64url(mac) */
static char *cursor_encode(const struct entity *ent, const char *sort, json_t *value,
			   int64_t id)
{
	json_t *a = json_pack("[s, O, I]", sort, value ? value : json_null(), (json_int_t)id);
	char *payload = json_dumps(a, JSON_COMPACT);
	size_t n = strlen(payload);
	unsigned char mac[CURSOR_MAC];
	char *out = xmalloc(n * 4 / 3 + 4 + 1 + CURSOR_MAC * 2 + 4);
	size_t o;

	cursor_mac(ent, (const unsigned char *)payload, n, mac);
	o = b64url_encode((const unsigned char *)payload, n, out);
	out[o++] = '.';
	b64url_encode(mac, CURSOR_MAC, out + o);
	free(payload);
	json_decref(a);
	return out;
}

/* Returns [sort, value, id] (new reference) or NULL. */
static json_t *cursor_decode(const struct entity *ent, const char *cur)
{
	const char *dot = strchr(cur, '.');
	unsigned char payload[LIMIT_CURSOR_BYTES], mac[CURSOR_MAC + 3], want[CURSOR_MAC];
	long n, m;
	json_t *a;

	/* the MAC part has one length: anything else is refused before decoding */
	if (!dot || strlen(cur) > LIMIT_CURSOR_BYTES ||
	    strlen(dot + 1) != (CURSOR_MAC * 4 + 2) / 3)
		return NULL;
	n = b64url_decode(cur, (size_t)(dot - cur), payload);
	m = b64url_decode(dot + 1, strlen(dot + 1), mac);
	if (n <= 0 || m != CURSOR_MAC)
		return NULL;
	cursor_mac(ent, payload, (size_t)n, want);
	if (sodium_memcmp(want, mac, CURSOR_MAC) != 0)
		return NULL;
	a = json_loadb((const char *)payload, (size_t)n, 0, NULL);
	if (!json_is_array(a) || json_array_size(a) != 3 ||
	    !json_is_string(json_array_get(a, 0)) || !json_is_integer(json_array_get(a, 2))) {
		json_decref(a);
		return NULL;
	}
	return a;
}

/* A bound value of a list query. */
struct bindv {
	int is_int, is_null;
	int64_t i;
	const char *s;
	char *owned;
};

struct listq {
	struct buf sql;
	struct bindv binds[LIMIT_QUERY_PARAMS + 8];
	int nbinds;
};

static void bind_add_text(struct listq *q, const char *s, char *owned)
{
	struct bindv *b = &q->binds[q->nbinds++];

	memset(b, 0, sizeof *b);
	b->s = s;
	b->owned = owned;
}

static void bind_add_int(struct listq *q, int64_t v)
{
	struct bindv *b = &q->binds[q->nbinds++];

	memset(b, 0, sizeof *b);
	b->is_int = 1;
	b->i = v;
}

static void bind_add_json(struct listq *q, json_t *v)
{
	if (json_is_integer(v))
		bind_add_int(q, json_integer_value(v));
	else if (json_is_string(v))
		bind_add_text(q, json_string_value(v), NULL);
	else
		bind_add_int(q, 0);
}

/*
 * The words of a full-text query, for the store to phrase: all required.
 * The last may match as a prefix (names as they are typed); in FTS5 that
 * costs a merge of every matching term's list, so large collections of text
 * do without.
 */
static char *fts_query(struct store *s, const char *q, int prefix, struct err *e)
{
	struct store_word words[LIMIT_Q_TERMS];
	const unsigned char *p = (const unsigned char *)q;
	int n = 0;

	while (*p) {
		const unsigned char *start;

		while (*p && *p < 0x80 && !((*p >= '0' && *p <= '9') ||
					    ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')))
			p++;
		start = p;
		while (*p && (*p >= 0x80 || (*p >= '0' && *p <= '9') ||
			      ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')))
			p++;
		if (p == start)
			continue;
		if (n == LIMIT_Q_TERMS) {
			err_set(e, E_BAD_PARAM, "q: at most %d words", LIMIT_Q_TERMS);
			return NULL;
		}
		words[n].p = (const char *)start;
		words[n].len = (size_t)(p - start);
		n++;
	}
	if (!n) {
		err_set(e, E_BAD_PARAM, "q: no words to search for");
		return NULL;
	}
	return store_fts_param(s, words, n, prefix);
}

static int sortable(const struct entity *ent, const char *name)
{
	const struct field *f;

	if (!strcmp(name, "id") || !strcmp(name, "created_at") || !strcmp(name, "updated_at"))
		return 1;
	f = entity_field(ent, name);
	return f && f->sort;
}

/* Adds "AND col = ?" for a filter, parsing its value by the field's type. */
static int add_filter(struct listq *q, const struct entity *ent, const char *key,
		      const char *value, struct err *e)
{
	const struct field *f = entity_field(ent, key);
	enum ftype type;
	int64_t v;

	if (!strcmp(key, "owner_id"))
		type = F_REF;
	else if (f && f->filter)
		type = f->type;
	else {
		err_set(e, E_BAD_PARAM, "%s: not a parameter or filterable field of %s",
			key, ent->collection);
		return -1;
	}
	if (strcmp(value, "null") == 0 && !(f && f->required) && type != F_BOOL) {
		buf_printf(&q->sql, " AND t.%s IS NULL", key);
		return 0;
	}
	switch (type) {
	case F_INT:
	case F_REF:
		if (parse_i64(value, strlen(value), 1, INT64_MAX, &v)) {
			err_set(e, E_BAD_PARAM, "%s: must be a positive integer or null", key);
			return -1;
		}
		bind_add_int(q, v);
		break;
	case F_BOOL:
		if (strcmp(value, "true") && strcmp(value, "false")) {
			err_set(e, E_BAD_PARAM, "%s: must be true or false", key);
			return -1;
		}
		bind_add_int(q, strcmp(value, "true") == 0);
		break;
	case F_ENUM:
		if (!enum_has(f->values, value)) {
			err_set(e, E_BAD_PARAM, "%s: %s is not one of its values", key, value);
			return -1;
		}
		bind_add_text(q, value, NULL);
		break;
	default:
		bind_add_text(q, value, NULL);
		break;
	}
	buf_printf(&q->sql, " AND t.%s = ?", key);
	return 0;
}

static int param_seen(const struct list_param *p, size_t n, size_t upto)
{
	for (size_t i = 0; i < upto && i < n; i++)
		if (strcmp(p[i].key, p[upto].key) == 0)
			return 1;
	return 0;
}

/* The sort column's value in the current row, for a cursor. */
static json_t *col_value(struct store_stmt *st, const struct entity *ent, const char *name)
{
	const struct field *f = entity_field(ent, name);
	int col = 0;
	size_t len;
	const char *s;

	if (f)
		col = NCOMMON + (int)(f - ent->fields);
	else
		for (int i = 0; i < NCOMMON; i++)
			if (!strcmp(common_cols[i], name))
				col = i;
	if (store_col_null(st, col))
		return json_null();
	if (col == 0 || (f && (f->type == F_INT || f->type == F_REF)))
		return json_integer(store_col_int(st, col));
	s = store_col_text(st, col, &len);
	return json_stringn(s ? s : "", s ? len : 0);
}

/* 1 if key is one of the forced filters. */
static int is_forced(const struct list_opts *o, const char *key)
{
	for (size_t i = 0; o && i < o->nforced; i++)
		if (strcmp(o->forced[i].key, key) == 0)
			return 1;
	return 0;
}

int record_list_text(struct store *s, struct store_conn *c, const struct entity *ent,
		     const struct list_param *params, size_t nparams,
		     const struct list_opts *o, struct buf *out, struct err *e)
{
	const struct entity_sql *es = sql_for(ent);
	struct listq q;
	struct store_stmt *st = NULL;
	json_t *cursor = NULL, *last = NULL;
	int64_t last_id = 0;
	int ok = -1;
	const char *sort = o && o->default_sort ? o->default_sort : ent->default_sort;
	int nacc;
	const char *cursor_text = NULL, *qtext = NULL, *tag = NULL, *sortcol, *idexpr;
	char *fq = NULL;
	const struct field *sortfield;
	int nullable;
	int64_t limit = LIMIT_LIST_DEFAULT;
	int desc, rc, n = 0;

	memset(&q, 0, sizeof q);
	buf_init(&q.sql, 1 << 16);
	if (nparams > LIMIT_QUERY_PARAMS) {
		err_set(e, E_BAD_PARAM, "at most %d query parameters", LIMIT_QUERY_PARAMS);
		goto out;
	}
	/* q first: with it the rows may come from the full-text index */
	for (size_t i = 0; i < nparams; i++)
		if (!strcmp(params[i].key, "q"))
			qtext = params[i].value ? params[i].value : "";
	if (qtext) {
		if (!ent->fts_table) {
			err_set(e, E_BAD_PARAM, "q: %s have no full-text search", ent->collection);
			goto out;
		}
		if (strlen(qtext) > LIMIT_Q_BYTES) {
			err_set(e, E_BAD_PARAM, "q: at most %d bytes", LIMIT_Q_BYTES);
			goto out;
		}
		if (!(fq = fts_query(s, qtext, ent->fts_prefix, e)))
			goto out;
		bind_add_text(&q, fq, fq);
	}
	buf_printf(&q.sql, "SELECT %s", es->cols);
	idexpr = store_sql_from(s, &q.sql, ent->table, qtext != NULL);
	for (size_t i = 0; o && i < o->nforced; i++)
		if (add_filter(&q, ent, o->forced[i].key, o->forced[i].value, e))
			goto out;
	if ((nacc = access_read_sql(o ? o->who : NULL, ent, &q.sql)) < 0) {
		err_set(e, E_FORBIDDEN, "your role may not read %s", ent->collection);
		goto out;
	}
	for (int i = 0; i < nacc; i++)
		bind_add_int(&q, o->who->user_id);
	if (o && o->min_id > 0) {
		buf_puts(&q.sql, " AND t.id >= ?");
		bind_add_int(&q, o->min_id);
	}
	for (size_t i = 0; i < nparams; i++) {
		const char *k = params[i].key, *v = params[i].value ? params[i].value : "";

		if (param_seen(params, nparams, i)) {
			err_set(e, E_BAD_PARAM, "%s: given more than once", k);
			goto out;
		}
		if (!strcmp(k, "limit")) {
			if (parse_i64(v, strlen(v), 1, LIMIT_LIST_MAX, &limit)) {
				err_set(e, E_BAD_PARAM, "limit: must be an integer from 1 to %d",
					LIMIT_LIST_MAX);
				goto out;
			}
		} else if (!strcmp(k, "sort")) {
			sort = v;
		} else if (!strcmp(k, "cursor")) {
			cursor_text = v;
		} else if (!strcmp(k, "q")) {
			continue;	/* above */
		} else if (!strcmp(k, "tag")) {
			tag = v;
		} else if (is_forced(o, k)) {
			err_set(e, E_BAD_PARAM, "%s: fixed by the path", k);
			goto out;
		} else if (add_filter(&q, ent, k, v, e)) {
			goto out;
		}
	}
	desc = sort[0] == '-';
	sortcol = sort + desc;
	if (!sortable(ent, sortcol)) {
		err_set(e, E_BAD_PARAM, "sort: %s is not a sortable field of %s", sortcol,
			ent->collection);
		goto out;
	}
	/*
	 * NULLs sort first ascending and last descending on both backends. A
	 * column that cannot be NULL gets no NULLS clause, which would keep
	 * PostgreSQL from walking an index for the order.
	 */
	sortfield = entity_field(ent, sortcol);
	nullable = sortfield && !sortfield->required;
	if (tag) {
		buf_puts(&q.sql, " AND ");
		store_sql_has_tag(s, &q.sql, "t.tags");
		bind_add_text(&q, tag, NULL);
	}
	if (cursor_text) {
		json_t *val;
		int64_t lastid;

		if (!(cursor = cursor_decode(ent, cursor_text))) {
			err_set(e, E_BAD_CURSOR, "cursor: not a cursor this server issued");
			goto out;
		}
		if (strcmp(json_string_value(json_array_get(cursor, 0)), sort) != 0) {
			err_set(e, E_BAD_CURSOR, "cursor: made for sort=%s, not sort=%s",
				json_string_value(json_array_get(cursor, 0)), sort);
			goto out;
		}
		val = json_array_get(cursor, 1);
		lastid = json_integer_value(json_array_get(cursor, 2));
		if (!strcmp(sortcol, "id")) {
			buf_printf(&q.sql, " AND %s %s ?", idexpr, desc ? "<" : ">");
			bind_add_int(&q, lastid);
		} else if (json_is_null(val)) {
			if (desc)
				buf_printf(&q.sql, " AND (t.%s IS NULL AND t.id < ?)", sortcol);
			else
				buf_printf(&q.sql, " AND ((t.%s IS NULL AND t.id > ?) OR t.%s IS NOT NULL)",
					   sortcol, sortcol);
			bind_add_int(&q, lastid);
		} else {
			if (desc && nullable)	/* NULLs come last descending: still to come */
				buf_printf(&q.sql, " AND (t.%s < ? OR (t.%s = ? AND t.id < ?) OR t.%s IS NULL)",
					   sortcol, sortcol, sortcol);
			else if (desc)
				buf_printf(&q.sql, " AND (t.%s < ? OR (t.%s = ? AND t.id < ?))",
					   sortcol, sortcol);
			else
				buf_printf(&q.sql, " AND (t.%s > ? OR (t.%s = ? AND t.id > ?))",
					   sortcol, sortcol);
			bind_add_json(&q, val);
			bind_add_json(&q, val);
			bind_add_int(&q, lastid);
		}
	}
	if (!strcmp(sortcol, "id"))
		buf_printf(&q.sql, " ORDER BY %s %s", idexpr, desc ? "DESC" : "ASC");
	else
		buf_printf(&q.sql, " ORDER BY t.%s %s%s, t.id %s", sortcol, desc ? "DESC" : "ASC",
			   !nullable ? "" : desc ? " NULLS LAST" : " NULLS FIRST",
			   desc ? "DESC" : "ASC");
	buf_puts(&q.sql, " LIMIT ?");
	bind_add_int(&q, limit + 1);

	if (!(st = store_prepare(c, q.sql.data))) {
		err_set(e, E_UNAVAILABLE, NULL);
		goto out;
	}
	for (int i = 0; i < q.nbinds; i++) {
		if (q.binds[i].is_int)
			store_bind_int(st, i + 1, q.binds[i].i);
		else
			store_bind_text(st, i + 1, q.binds[i].s, strlen(q.binds[i].s));
	}
	buf_puts(out, "{\"items\":[");
	while ((rc = store_step(st)) == STORE_ROW) {
		if (n++ == limit)
			break;
		if (n > 1)
			buf_puts(out, ",");
		row_to_text(st, ent, out);
		if (n == limit) {
			last = col_value(st, ent, sortcol);
			last_id = store_col_int(st, 0);
		}
	}
	if (rc != STORE_ROW && rc != STORE_DONE) {
		err_set(e, store_err(rc), NULL);
		goto out;
	}
	if (n > limit && last) {
		char *next = cursor_encode(ent, sort, last, last_id);

		buf_printf(out, "],\"next_cursor\":\"%s\"}", next);
		free(next);
	} else {
		buf_puts(out, "],\"next_cursor\":null}");
	}
	ok = 0;
out:
	if (st)
		store_done(st);
	for (int i = 0; i < q.nbinds; i++)
		free(q.binds[i].owned);
	buf_free(&q.sql);
	json_decref(cursor);
	json_decref(last);
	return ok;
}

json_t *record_list(struct store *s, struct store_conn *c, const struct entity *ent,
		    const struct list_param *params, size_t nparams,
		    const struct list_opts *o, struct err *e)
{
	struct buf b;
	json_t *page = NULL;

	buf_init(&b, SIZE_MAX / 2);
	if (record_list_text(s, c, ent, params, nparams, o, &b, e) == 0)
		page = json_loadb(b.data, b.len, 0, NULL);
	buf_free(&b);
	return page;
}
