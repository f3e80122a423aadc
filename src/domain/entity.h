/*
 * Each kind of record is described once, here, as a table of fields.
 * Validation, JSON in and out, the SQL of create/read/list/update/delete and
 * the OpenAPI document all walk these descriptions; a domain file adds only
 * what is special about its entity (a check hook).
 *
 * Every record also has the common fields id, created_at, updated_at,
 * version, owner_id, tags (array of strings) and custom (object of values
 * for the custom fields an admin declared for that entity).
 */
#ifndef RAPPORT_ENTITY_H
#define RAPPORT_ENTITY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../lib/err.h"

struct store_conn;

enum ftype {
	F_TEXT,		/* string, at most .max code points */
	F_EMAIL,	/* string that looks like an address */
	F_INT,		/* integer in [.min, .max] */
	F_BOOL,		/* stored 0/1 */
	F_ENUM,		/* one of .values */
	F_REF,		/* id of a .ref record */
	F_TIME,		/* RFC 3339, stored normalised to UTC */
	F_DATE,		/* YYYY-MM-DD */
	F_STRLIST,	/* array of strings (each at most .max), stored as JSON */
	F_IDLIST,	/* array of ids of .ref records, stored as JSON */
	F_PASSWORD,	/* write-only: stored as an argon2id hash in .column, never shown */
	F_JSON,		/* a JSON object the server writes; read-only */
};

/*
 * How the access rules (access.c) apply to an entity. SCOPED records belong
 * to a business unit (their business_unit_id field) and an owner, and may
 * belong to one side of the company (client or business, see side_kind and
 * side_via); DIRECTORY records (users, teams, custom fields) are read by
 * everyone signed in and changed by admins; AUDIT rows are read by admins,
 * and by managers within their business units, and changed by nobody.
 */
enum access_kind { ACCESS_SCOPED = 0, ACCESS_DIRECTORY, ACCESS_AUDIT };

struct entity;

struct field {
	const char *name;		/* JSON name and column name */
	enum ftype type;
	int max;			/* text: code points; lists: item length */
	int64_t min_int, max_int;	/* F_INT bounds */
	const char *const *values;	/* F_ENUM: NULL-terminated */
	const struct entity *ref;	/* F_REF, F_IDLIST */
	const char *doc;		/* one line for the OpenAPI document */
	const char *column;		/* the SQL column when it is not .name */
	unsigned required : 1;		/* must be given on create, never null */
	unsigned filter : 1;		/* ?name=value on lists */
	unsigned sort : 1;		/* ?sort=name or -name */
	unsigned search : 1;		/* covered by q (documentation; FTS is in SQL) */
	unsigned immutable : 1;		/* set on create, refused on update */
	unsigned deflt_false : 1;	/* F_BOOL defaulting to false when absent */
	unsigned unit : 1;		/* F_REF/F_IDLIST of organizations that are business units */
	unsigned readonly : 1;		/* written by the server only */
};

/*
 * Called after the fields were checked one by one, with the whole record as
 * it will be stored (on update: the old record with the change applied), and
 * the old record or NULL on create. Runs inside the write transaction, so it
 * may read the store. Adds to e and returns -1 to refuse.
 */
typedef int (*entity_check_fn)(const struct entity *ent, struct store_conn *c,
			       json_t *rec, json_t *old, struct err *e);
/*
 * Called in the write transaction after the row was written: rec is the
 * stored record (NULL after a delete), old the one before (NULL on create),
 * input what the request gave (NULL on delete), who the user (NULL: the
 * server). Returns a store code.
 */
struct principal;
typedef int (*entity_after_fn)(const struct entity *ent, struct store_conn *c,
			       const struct principal *who, json_t *rec, json_t *old,
			       json_t *input, struct err *e);

struct entity {
	const char *name;		/* singular, as custom fields name it */
	const char *collection;		/* path segment under /api/v1 */
	const char *table;		/* SQL table */
	const char *fts_table;		/* full-text table or NULL (no q) */
	const char *default_sort;	/* e.g. "id" or "-occurred_at" */
	const char *doc;		/* one line for the OpenAPI document */
	const struct field *fields;
	size_t nfields;
	entity_check_fn check;
	entity_after_fn after;
	/* In the delete's transaction, before it: old is the record; -1 with e
	 * refuses (e.g. 409 while other records still name it). */
	int (*before_delete)(const struct entity *ent, struct store_conn *c, json_t *old,
			     struct err *e);
	enum access_kind access;
	const char *side_kind;		/* SCOPED: the field whose value (an organization
					 * kind) puts the record on a side */
	const char *side_via;		/* SCOPED: the organization field whose kind does */
	unsigned admin_write : 1;	/* only admins create, change or delete */
	unsigned read_only : 1;		/* no route creates, changes or deletes these */
	unsigned no_custom : 1;		/* no custom fields can be declared */
	unsigned fts_prefix : 1;	/* q's last word also matches as a prefix */
};

/* All record entities, NULL-terminated, in dependency order. */
extern const struct entity *const entities[];

extern const struct entity organization_entity;
extern const struct entity person_entity;
extern const struct entity affiliation_entity;
extern const struct entity interaction_entity;
extern const struct entity custom_field_entity;
extern const struct entity user_entity;
extern const struct entity team_entity;
extern const struct entity audit_entity;

const struct entity *entity_by_collection(const char *collection, size_t len);
const struct entity *entity_by_name(const char *name);
const struct field *entity_field(const struct entity *ent, const char *name);

/* Value sets shared by several files. */
extern const char *const organization_kinds[];
extern const char *const affiliation_roles[];
extern const char *const interaction_kinds[];
extern const char *const interaction_directions[];
extern const char *const custom_field_types[];
extern const char *const user_roles[];

int enum_has(const char *const *values, const char *v);

#endif
