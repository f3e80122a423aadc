/*
 * Who may see and change what: one table of role rules (access.c) that the
 * generic record machinery consults for every entity, list, search and
 * write, so that a new entity gets access control from its description
 * (entity.h: access, side_kind, side_via and its business_unit_id field).
 *
 * Reads are filtered in SQL: a record the user may not read is simply not
 * found (404 for one record, absent from lists and searches). Writes are
 * checked in the write transaction on the record as it was and as it would
 * be; a readable record the user may not change is 403.
 */
#ifndef RAPPORT_ACCESS_H
#define RAPPORT_ACCESS_H

#include <stdint.h>

#include <jansson.h>

#include "../lib/err.h"
#include "auth.h"
#include "entity.h"

struct buf;
struct store_conn;

enum side { SIDE_NONE = 0, SIDE_CLIENT = 1, SIDE_BUSINESS = 2, SIDE_BOTH = 3 };
enum write_scope { W_NONE, W_TEAM, W_UNITS, W_ALL };
enum audit_scope { AUDIT_NONE, AUDIT_UNITS, AUDIT_ALL };

struct role_rule {
	const char *role;
	unsigned all_units : 1;		/* sees and changes every business unit */
	unsigned directory : 1;		/* changes users, teams and custom fields */
	unsigned sides;			/* enum side bits it works on */
	enum write_scope write;		/* which records of its units it changes */
	enum audit_scope audit;		/* which audit rows it reads */
};

/* The rule of a role name; unknown roles get a rule that allows nothing. */
const struct role_rule *access_role(const char *role);

/* The side an organization kind is on (business_unit is the business side). */
enum side access_kind_side(const char *kind);

/*
 * Appends " AND (...)" to sql (whose table alias is t): the records of ent
 * that who may read. Returns how many '?' it added, each to be bound to
 * who->user_id in order; -1 if who may read none of ent at all. who NULL:
 * no condition (the server itself).
 */
int access_read_sql(const struct principal *who, const struct entity *ent, struct buf *sql);

/*
 * In a write job: may who change old (NULL on create) into rec (NULL on
 * delete)? Both states are checked: the side, the business unit and, for
 * roles limited to their team, the owner. 0, or -1 with e (E_FORBIDDEN, or
 * E_UNAVAILABLE).
 */
int access_check_write(struct store_conn *c, const struct principal *who,
		       const struct entity *ent, json_t *old, json_t *rec, struct err *e);

/* 1 if some user lists id in column ("team_ids", "business_unit_ids"), 0 if
 * none, -1 on error. */
int access_listed(struct store_conn *c, const char *column, int64_t id);

/* In a write job: rebuilds user_teams and user_units from users and the
 * business-unit tree. A store code. */
int access_refresh(struct store_conn *c);

#endif
