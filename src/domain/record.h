/*
 * Generic create/read/list/update/delete of any described entity. Nothing
 * here is written per entity: the SQL, the validation and the JSON come from
 * the struct entity tables. Writes run inside a store write job; reads on a
 * read connection.
 */
#ifndef RAPPORT_RECORD_H
#define RAPPORT_RECORD_H

#include <stdint.h>

#include <jansson.h>

#include "../lib/err.h"
#include "../lib/util.h"
#include "auth.h"
#include "entity.h"

struct store;
struct store_conn;

/*
 * Checks a request body field by field, without the store: unknown fields,
 * types, enums, lengths, times. On success returns the normalised input (new
 * reference: only the fields given, lists deduplicated, times in UTC); on
 * failure NULL with e filled. patch: fields may be null to clear them and
 * required fields may be absent.
 */
json_t *record_decode(const struct entity *ent, json_t *body, int patch, struct err *e);

/*
 * Every call takes who: the user on whose behalf it runs, whose access rules
 * (access.h) apply; NULL is the server itself (no rules, no owner). A record
 * who may not read is E_NOT_FOUND; one they may read but not change is
 * E_FORBIDDEN. Every write also writes its audit row (audit.h).
 */

/* In a write job. *out (new reference) is the stored record. The owner is
 * input's owner_id or who; the business unit input's or who's first. */
int record_insert(struct store_conn *c, const struct entity *ent, json_t *input,
		  const struct principal *who, json_t **out, struct err *e);
/* In a write job. version: what If-Match named (-1 for "*"); 412 when it
 * differs. */
int record_update(struct store_conn *c, const struct entity *ent, int64_t id,
		  int64_t version, json_t *input, const struct principal *who, json_t **out,
		  struct err *e);
int record_delete(struct store_conn *c, const struct entity *ent, int64_t id,
		  int64_t version, const struct principal *who, struct err *e);

/*
 * A read of the record handed over: record_get_read gives the statement
 * (store_read_prepare, bound), or NULL with E_NOT_FOUND or E_UNAVAILABLE in
 * e; record_get_rows, given its rows and rc, appends the record as JSON text
 * to out and sets *version: 0, or -1 with e.
 */
struct store_stmt *record_get_read(struct store *s, const struct entity *ent, int64_t id,
				   const struct principal *who, struct err *e);
int record_get_rows(struct store_stmt *rows, int rc, const struct entity *ent, int64_t id,
		    struct buf *out, int64_t *version, struct err *e);
/* The record, or NULL with E_NOT_FOUND (or E_UNAVAILABLE) in e. */
json_t *record_get(struct store_conn *c, const struct entity *ent, int64_t id,
		   const struct principal *who, struct err *e);

struct list_param {
	const char *key, *value;
};

/* How a caller shapes a list beyond the query string. */
struct list_opts {
	const struct principal *who;		/* whose read access applies; NULL none */
	const struct list_param *forced;	/* equality filters the caller imposes */
	size_t nforced;				/* (a timeline's organization_id) */
	const char *default_sort;		/* instead of the entity's */
	int64_t min_id;				/* only records from this id on */
};

/*
 * A list: params are the query string's pairs (limit, cursor, sort, q, tag,
 * filters); o may be NULL. Returns {"items": [...], "next_cursor": ...} or
 * NULL with e (E_FORBIDDEN when who may read none of ent).
 */
json_t *record_list(struct store *s, struct store_conn *c, const struct entity *ent,
		    const struct list_param *params, size_t nparams,
		    const struct list_opts *o, struct err *e);

/* The same page as JSON text appended to out; 0, or -1 with e. */
int record_list_text(struct store *s, struct store_conn *c, const struct entity *ent,
		     const struct list_param *params, size_t nparams,
		     const struct list_opts *o, struct buf *out, struct err *e);

/* Cursors are signed with this key (from the store's settings). */
void record_set_cursor_key(const unsigned char *key, size_t len);

/* 1 if the record id of ent exists (for references). */
int record_exists(struct store_conn *c, const struct entity *ent, int64_t id);

#endif
