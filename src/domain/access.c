/*
 * The role table and what it means in SQL (reads) and in checks (writes).
 * See access.h; docs/API.md has the same table for people.
 */
#include "access.h"

#include <stdio.h>
#include <string.h>

#include "../lib/util.h"
#include "../store/store.h"

static const struct role_rule role_rules[] = {
	{ .role = "admin", .all_units = 1, .directory = 1, .sides = SIDE_BOTH, .write = W_ALL,
	  .audit = AUDIT_ALL },
	{ .role = "manager", .sides = SIDE_BOTH, .write = W_UNITS, .audit = AUDIT_UNITS },
	{ .role = "client_rm", .sides = SIDE_CLIENT, .write = W_TEAM },
	{ .role = "business_rm", .sides = SIDE_BUSINESS, .write = W_TEAM },
	{ .role = "viewer", .sides = SIDE_BOTH, .write = W_NONE },
};
static const struct role_rule nobody = { .role = "", .sides = 0, .write = W_NONE };

/* Organization kinds by side; every kind is on exactly one. */
static const char *const client_kinds[] = { "client", "prospect", "competitor", NULL };
static const char *const business_kinds[] = {
	"supplier", "service_provider", "partner", "community", "business_unit", NULL
};

const struct role_rule *access_role(const char *role)
{
	for (size_t i = 0; i < nitems(role_rules); i++)
		if (strcmp(role_rules[i].role, role) == 0)
			return &role_rules[i];
	return &nobody;
}

enum side access_kind_side(const char *kind)
{
	if (!kind)
		return SIDE_NONE;
	if (enum_has(client_kinds, kind))
		return SIDE_CLIENT;
	if (enum_has(business_kinds, kind))
		return SIDE_BUSINESS;
	return SIDE_NONE;
}

static const char *side_name(enum side s)
{
	return s == SIDE_CLIENT ? "client" : "business";
}

/* "'a', 'b'" for the kinds of the sides in bits. */
static void kinds_sql(struct buf *sql, unsigned bits)
{
	int first = 1;

	for (int pass = 0; pass < 2; pass++) {
		const char *const *k = pass ? business_kinds : client_kinds;

		if (!(bits & (pass ? SIDE_BUSINESS : SIDE_CLIENT)))
			continue;
		for (; *k; k++, first = 0)
			buf_printf(sql, "%s'%s'", first ? "" : ", ", *k);
	}
}

#define UNITS_SQL "(t.business_unit_id IS NULL OR t.business_unit_id IN " \
	"(SELECT unit_id FROM user_units WHERE user_id = ?))"

int access_read_sql(const struct principal *who, const struct entity *ent, struct buf *sql)
{
	const struct role_rule *r;
	int binds = 0;

	if (!who)
		return 0;
	r = access_role(who->role);
	switch (ent->access) {
	case ACCESS_DIRECTORY:
		return 0;
	case ACCESS_AUDIT:
		if (r->audit == AUDIT_NONE)
			return -1;
		if (r->audit == AUDIT_UNITS) {	/* rows of their units only */
			buf_puts(sql, " AND t.business_unit_id IN "
				 "(SELECT unit_id FROM user_units WHERE user_id = ?)");
			binds++;
		}
		return binds;
	case ACCESS_SCOPED:
		break;
	}
	if (!r->sides)
		return -1;
	if (!r->all_units) {
		buf_puts(sql, " AND " UNITS_SQL);
		binds++;
	}
	if (r->sides != SIDE_BOTH) {
		if (ent->side_kind) {
			buf_printf(sql, " AND t.%s IN (", ent->side_kind);
			kinds_sql(sql, r->sides);
			buf_puts(sql, ")");
		} else if (ent->side_via) {
			buf_printf(sql, " AND (t.%s IS NULL OR t.%s IN (SELECT o.id FROM "
				   "organizations o WHERE o.kind IN (", ent->side_via, ent->side_via);
			kinds_sql(sql, r->sides);
			buf_puts(sql, ")))");
		}
	}
	return binds;
}

/* 1 if the query with the two ids bound finds a row, 0 if not, -1 on error. */
static int found2(struct store_conn *c, const char *sql, int64_t a, int64_t b)
{
	struct store_stmt *st = store_prepare(c, sql);
	int rc;

	if (!st)
		return -1;
	store_bind_int(st, 1, a);
	store_bind_int(st, 2, b);
	rc = store_step(st);
	store_done(st);
	return rc == STORE_ROW ? 1 : rc == STORE_DONE ? 0 : -1;
}

static int64_t get_id(json_t *rec, const char *name)
{
	json_t *v = json_object_get(rec, name);

	return json_is_integer(v) ? json_integer_value(v) : 0;
}

/* The side of a record as stored or about to be: SIDE_NONE if it has none,
 * -1 on error. */
static int record_side(struct store_conn *c, const struct entity *ent, json_t *rec)
{
	int64_t org;
	struct store_stmt *st;
	int rc, side = SIDE_NONE;

	if (ent->side_kind)
		return (int)access_kind_side(json_string_value(json_object_get(rec, ent->side_kind)));
	if (!ent->side_via || !(org = get_id(rec, ent->side_via)))
		return SIDE_NONE;
	if (!(st = store_prepare(c, "SELECT kind FROM organizations WHERE id = ?")))
		return -1;
	store_bind_int(st, 1, org);
	rc = store_step(st);
	if (rc == STORE_ROW) {
		size_t len;
		const char *k = store_col_text(st, 0, &len);
		char kind[32];

		snprintf(kind, sizeof kind, "%.*s", (int)len, k ? k : "");
		side = (int)access_kind_side(kind);
	}
	store_done(st);
	return rc == STORE_ROW || rc == STORE_DONE ? side : -1;
}

/* One state of a scoped record: may who have it changed (or created) so? */
static int check_state(struct store_conn *c, const struct principal *who,
		       const struct role_rule *r, const struct entity *ent, json_t *rec,
		       struct err *e)
{
	int side = record_side(c, ent, rec), rc;
	int64_t unit = get_id(rec, "business_unit_id"), owner = get_id(rec, "owner_id");

	if (side < 0)
		goto unavailable;
	if (side != SIDE_NONE && !(r->sides & (unsigned)side)) {
		err_set(e, E_FORBIDDEN, "a %s may not change %ss of the %s side", who->role,
			ent->name, side_name((enum side)side));
		return -1;
	}
	if (r->all_units)
		return 0;
	if (!unit) {
		err_set(e, E_FORBIDDEN, "only admins may change %ss that belong to no business unit",
			ent->name);
		return -1;
	}
	rc = found2(c, "SELECT 1 FROM user_units WHERE user_id = ? AND unit_id = ?",
		    who->user_id, unit);
	if (rc < 0)
		goto unavailable;
	if (!rc) {
		err_set(e, E_FORBIDDEN, "business unit %lld is not one of yours", (long long)unit);
		return -1;
	}
	if (r->write != W_TEAM || owner == who->user_id)
		return 0;
	rc = owner ? found2(c, "SELECT 1 FROM user_teams a JOIN user_teams b ON "
			       "b.team_id = a.team_id WHERE a.user_id = ? AND b.user_id = ?",
			    who->user_id, owner) : 0;
	if (rc < 0)
		goto unavailable;
	if (!rc) {
		err_set(e, E_FORBIDDEN, "only its owner and the owner's team may change this %s",
			ent->name);
		return -1;
	}
	return 0;
unavailable:
	err_set(e, E_UNAVAILABLE, NULL);
	return -1;
}

static int is_unit(const struct entity *ent, json_t *rec)
{
	const char *kind = rec && ent->side_kind ?
		json_string_value(json_object_get(rec, ent->side_kind)) : NULL;

	return kind && strcmp(kind, "business_unit") == 0;
}

/*
 * The business-unit tree is what the access rules are made of: creating or
 * deleting a unit, or moving one (its kind or parent), would change who sees
 * what, so only a role that changes the directory (admins) may.
 */
static int changes_tree(const struct entity *ent, json_t *old, json_t *rec)
{
	if (!is_unit(ent, old) && !is_unit(ent, rec))
		return 0;
	if (!old || !rec)
		return 1;
	return !json_equal(json_object_get(old, ent->side_kind),
			   json_object_get(rec, ent->side_kind)) ||
	       !json_equal(json_object_get(old, "parent_id"), json_object_get(rec, "parent_id"));
}

int access_check_write(struct store_conn *c, const struct principal *who,
		       const struct entity *ent, json_t *old, json_t *rec, struct err *e)
{
	const struct role_rule *r;

	if (!who)
		return 0;
	r = access_role(who->role);
	if (ent->read_only) {
		err_set(e, E_FORBIDDEN, "%s cannot be changed", ent->collection);
		return -1;
	}
	if (who->read_only) {
		err_set(e, E_FORBIDDEN, "this token may only read");
		return -1;
	}
	if (r->write == W_NONE) {
		err_set(e, E_FORBIDDEN, "a %s may not change records", who->role);
		return -1;
	}
	if (r->write == W_ALL && r->directory)	/* admins: no record to look at */
		return 0;
	if (ent->access != ACCESS_SCOPED || ent->admin_write) {
		if (r->directory)
			return 0;
		err_set(e, E_FORBIDDEN, "only admins may change %s", ent->collection);
		return -1;
	}
	if ((old && check_state(c, who, r, ent, old, e)) ||
	    (rec && rec != old && check_state(c, who, r, ent, rec, e)))
		return -1;
	if (!r->directory && changes_tree(ent, old, rec)) {
		err_set(e, E_FORBIDDEN, "only admins create, move or delete business units");
		return -1;
	}
	return 0;
}

int access_listed(struct store_conn *c, const char *column, int64_t id)
{
	struct store_stmt *st;
	struct buf sql;
	int rc = STORE_DONE, found = 0;

	buf_init(&sql, 256);
	buf_printf(&sql, "SELECT %s FROM users", column);
	st = store_prepare(c, sql.data);
	buf_free(&sql);
	if (!st)
		return -1;
	while (!found && (rc = store_step(st)) == STORE_ROW) {
		size_t len, i;
		const char *text = store_col_text(st, 0, &len);
		json_t *a = text ? json_loadb(text, len, 0, NULL) : NULL, *v;

		json_array_foreach(a, i, v)
			if (json_integer_value(v) == id)
				found = 1;
		json_decref(a);
	}
	store_done(st);
	return found ? 1 : rc == STORE_DONE ? 0 : -1;
}

static int run(struct store_conn *c, const char *sql)
{
	struct store_stmt *st = store_prepare(c, sql);
	int rc;

	if (!st)
		return STORE_ERROR;
	rc = store_step(st);
	store_done(st);
	return rc == STORE_DONE ? STORE_OK : rc;
}

/* Inserts (user, id) into table for every id in the JSON array text. */
static int insert_ids(struct store_conn *c, const char *sql, int64_t user, const char *text,
		      size_t len)
{
	json_t *a = json_loadb(text, len, 0, NULL), *v;
	size_t i;
	int rc = STORE_OK;

	json_array_foreach(a, i, v) {
		if (!json_is_integer(v))
			continue;
		if ((rc = found2(c, sql, user, json_integer_value(v))) < 0)
			break;
		rc = STORE_OK;
	}
	json_decref(a);
	return rc < 0 ? STORE_ERROR : STORE_OK;
}

int access_refresh(struct store_conn *c)
{
	struct store_stmt *st;
	struct user_lists {
		int64_t id;
		char *teams, *units;
	} *u = NULL;
	size_t n = 0, cap = 0;
	int rc;

	if ((rc = run(c, "DELETE FROM user_teams")) != STORE_OK ||
	    (rc = run(c, "DELETE FROM user_units")) != STORE_OK)
		return rc;
	if (!(st = store_prepare(c, "SELECT id, team_ids, business_unit_ids FROM users")))
		return STORE_ERROR;
	while ((rc = store_step(st)) == STORE_ROW) {
		size_t len;
		const char *s;

		if (n == cap)
			u = xrealloc(u, sizeof *u * (cap = cap ? cap * 2 : 64));
		u[n].id = store_col_int(st, 0);
		s = store_col_text(st, 1, &len);
		u[n].teams = xstrndup(s ? s : "[]", s ? len : 2);
		s = store_col_text(st, 2, &len);
		u[n].units = xstrndup(s ? s : "[]", s ? len : 2);
		n++;
	}
	store_done(st);
	rc = rc == STORE_DONE ? STORE_OK : rc;
	for (size_t i = 0; i < n; i++) {
		if (rc == STORE_OK)
			rc = insert_ids(c, "INSERT INTO user_teams (user_id, team_id) VALUES (?, ?)",
					u[i].id, u[i].teams, strlen(u[i].teams));
		if (rc == STORE_OK)
			rc = insert_ids(c, "INSERT INTO user_units (user_id, unit_id) VALUES (?, ?)",
					u[i].id, u[i].units, strlen(u[i].units));
		free(u[i].teams);
		free(u[i].units);
	}
	free(u);
	/* every unit under a user's unit, one level per pass (the tree has no cycles) */
	for (int depth = 0; rc == STORE_OK && depth < 64; depth++) {
		rc = run(c, "INSERT INTO user_units (user_id, unit_id) SELECT u.user_id, o.id "
			    "FROM user_units u JOIN organizations o ON o.parent_id = u.unit_id "
			    "AND o.kind = 'business_unit' WHERE NOT EXISTS (SELECT 1 FROM "
			    "user_units x WHERE x.user_id = u.user_id AND x.unit_id = o.id)");
		if (rc == STORE_OK && store_changes(c) == 0)
			break;
	}
	return rc;
}
