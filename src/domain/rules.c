/*
 * What the field tables cannot say: the rules special to each entity. Each
 * hook sees the record as it will be stored and may read the store (it runs
 * inside the write transaction).
 */
#include "rules.h"

#include <string.h>

#include "../lib/limits.h"
#include "../store/store.h"
#include "access.h"
#include "auth.h"
#include "record.h"

int email_valid(const char *s)
{
	const char *at = strchr(s, '@'), *dot;

	if (!at || at == s || strchr(at + 1, '@'))
		return 0;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == '<' || *p == '>' || *p == ',' || *p == ';')
			return 0;
	dot = strrchr(at + 1, '.');
	return dot && dot > at + 1 && dot[1] != 0;
}

static int is_unit(json_t *rec);

static int64_t get_id(json_t *rec, const char *name)
{
	json_t *v = json_object_get(rec, name);

	return json_is_integer(v) ? json_integer_value(v) : 0;
}

/* Reads one text column of one row; 1 found, 0 not, -1 error. */
static int read_text(struct store_conn *c, const char *sql, int64_t id, char *out, size_t n)
{
	struct store_stmt *st = store_prepare(c, sql);
	int rc;

	if (!st)
		return -1;
	store_bind_int(st, 1, id);
	rc = store_step(st);
	if (rc == STORE_ROW) {
		size_t len;
		const char *s = store_col_text(st, 0, &len);

		snprintf(out, n, "%.*s", (int)len, s ? s : "");
	}
	store_done(st);
	return rc == STORE_ROW ? 1 : rc == STORE_DONE ? 0 : -1;
}

int organization_check(const struct entity *ent, struct store_conn *c, json_t *rec,
		       json_t *old, struct err *e)
{
	int64_t self = old ? get_id(old, "id") : 0, parent = get_id(rec, "parent_id");
	const char *kind = json_string_value(json_object_get(rec, "kind"));
	const char *country = json_string_value(json_object_get(rec, "country"));
	char buf[64];

	(void)ent;
	if (country && (strlen(country) != 2 || country[0] < 'A' || country[0] > 'Z' ||
			country[1] < 'A' || country[1] > 'Z'))
		err_field(e, "country", "must be an ISO 3166-1 alpha-2 code such as SE");
	if (self && old && is_unit(old) && !is_unit(rec)) {
		/* units under it, users in it or records of it would lose their unit */
		struct store_stmt *st = store_prepare(c,
			"SELECT 1 FROM organizations WHERE parent_id = ? AND kind = 'business_unit'");
		int rc = STORE_ERROR;

		if (st) {
			store_bind_int(st, 1, self);
			rc = store_step(st);
			store_done(st);
		}
		if (rc == STORE_ROW)
			err_field(e, "kind", "business units are under this one; it stays a business unit");
		else if (rc != STORE_DONE)
			err_set(e, E_UNAVAILABLE, NULL);
		else if ((rc = access_listed(c, "business_unit_ids", self)) != 0)
			err_set(e, rc < 0 ? E_UNAVAILABLE : E_CONFLICT, rc < 0 ? NULL :
				"users still work in this business unit; it stays one");
	}
	if (!parent)
		return e->code == E_OK ? 0 : -1;
	if (parent == self) {
		err_field(e, "parent_id", "an organization cannot be its own parent");
		return -1;
	}
	if (kind && strcmp(kind, "business_unit") == 0) {
		int rc = read_text(c, "SELECT kind FROM organizations WHERE id = ?", parent,
				   buf, sizeof buf);

		if (rc == 1 && strcmp(buf, "business_unit") != 0)
			err_field(e, "parent_id", "a business unit's parent must be a business unit");
	}
	/* Walk up from the parent: reaching self would make a cycle. */
	for (int depth = 0; self && parent && depth < 64; depth++) {
		struct store_stmt *st = store_prepare(c,
			"SELECT parent_id FROM organizations WHERE id = ?");
		int rc;

		if (!st)
			break;
		store_bind_int(st, 1, parent);
		rc = store_step(st);
		parent = rc == STORE_ROW && !store_col_null(st, 0) ? store_col_int(st, 0) : 0;
		store_done(st);
		if (parent == self) {
			err_field(e, "parent_id", "would make the organization its own ancestor");
			break;
		}
	}
	return e->code == E_OK ? 0 : -1;
}

int person_check(const struct entity *ent, struct store_conn *c, json_t *rec,
		 json_t *old, struct err *e)
{
	const char *g = json_string_value(json_object_get(rec, "given_name"));
	const char *f = json_string_value(json_object_get(rec, "family_name"));

	(void)ent, (void)c, (void)old;
	if ((!g || !*g) && (!f || !*f)) {
		err_field(e, "given_name", "a person needs a given name or a family name");
		return -1;
	}
	return 0;
}

int affiliation_check(const struct entity *ent, struct store_conn *c, json_t *rec,
		      json_t *old, struct err *e)
{
	const char *from = json_string_value(json_object_get(rec, "started_on"));
	const char *to = json_string_value(json_object_get(rec, "ended_on"));

	(void)ent, (void)c, (void)old;
	if (from && to && strcmp(to, from) < 0) {
		err_field(e, "ended_on", "must not be before started_on");
		return -1;
	}
	return 0;
}

int interaction_check(const struct entity *ent, struct store_conn *c, json_t *rec,
		      json_t *old, struct err *e)
{
	int64_t self = old ? get_id(old, "id") : 0;
	int64_t reply = get_id(rec, "reply_to_id"), thread = get_id(rec, "thread_id");

	(void)ent;
	if (self && (reply == self || thread == self)) {
		err_field(e, reply == self ? "reply_to_id" : "thread_id",
			  "an interaction cannot refer to itself");
		return -1;
	}
	if (reply && !thread) {
		struct store_stmt *st = store_prepare(c,
			"SELECT COALESCE(thread_id, id) FROM interactions WHERE id = ?");

		if (!st) {
			err_set(e, E_UNAVAILABLE, NULL);
			return -1;
		}
		store_bind_int(st, 1, reply);
		if (store_step(st) == STORE_ROW)
			json_object_set_new(rec, "thread_id", json_integer(store_col_int(st, 0)));
		store_done(st);
	}
	return 0;
}

int custom_field_check(const struct entity *ent, struct store_conn *c, json_t *rec,
		       json_t *old, struct err *e)
{
	const char *name = json_string_value(json_object_get(rec, "name"));
	const char *type = json_string_value(json_object_get(rec, "type"));
	json_t *options = json_object_get(rec, "options");
	int is_enum = type && strcmp(type, "enum") == 0;

	(void)ent, (void)c, (void)old;
	if (name) {
		int ok = name[0] >= 'a' && name[0] <= 'z';

		for (const char *p = name; ok && *p; p++)
			ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_';
		if (!ok)
			err_field(e, "name", "must start with a-z and hold only a-z, 0-9 and _");
	}
	if (is_enum && json_array_size(options) == 0)
		err_field(e, "options", "an enum field needs at least one option");
	if (!is_enum && json_array_size(options) > 0)
		err_field(e, "options", "only enum fields have options");
	if (type && strcmp(type, "text") != 0 && !json_is_null(json_object_get(rec, "max_length")))
		err_field(e, "max_length", "only text fields have a maximum length");
	return e->code == E_OK ? 0 : -1;
}

static int is_unit(json_t *rec)
{
	const char *k = rec ? json_string_value(json_object_get(rec, "kind")) : NULL;

	return k && strcmp(k, "business_unit") == 0;
}

static int enabled_admin(json_t *rec)
{
	const char *role = json_string_value(json_object_get(rec, "role"));

	return role && strcmp(role, "admin") == 0 && !json_is_true(json_object_get(rec, "disabled"));
}

int user_check(const struct entity *ent, struct store_conn *c, json_t *rec, json_t *old,
	       struct err *e)
{
	struct store_stmt *st;
	int rc;

	(void)ent;
	if (!old || !enabled_admin(old) || (rec && enabled_admin(rec)))
		return 0;
	/* the last admin who can sign in stays one; two processes demoting two
	 * admins at once take turns */
	if (store_lock(c, "last-admin") != STORE_OK) {
		err_set(e, E_UNAVAILABLE, NULL);
		return -1;
	}
	if (!(st = store_prepare(c, "SELECT count(*) FROM users WHERE role = 'admin' AND "
				    "disabled = 0 AND id <> ?"))) {
		err_set(e, E_UNAVAILABLE, NULL);
		return -1;
	}
	store_bind_int(st, 1, get_id(old, "id"));
	rc = store_step(st);
	if (rc == STORE_ROW && store_col_int(st, 0) == 0)
		err_set(e, E_CONFLICT, "the last enabled admin cannot be disabled, demoted or deleted");
	else if (rc != STORE_ROW)
		err_set(e, E_UNAVAILABLE, NULL);
	store_done(st);
	return e->code == E_OK ? 0 : -1;
}

static int exec_id(struct store_conn *c, const char *sql, int64_t id)
{
	struct store_stmt *st = store_prepare(c, sql);
	char now[TIME_BUF];
	int rc;

	if (!st)
		return STORE_ERROR;
	time_now_rfc3339(now);
	store_bind_text(st, 1, now, strlen(now));
	store_bind_int(st, 2, id);
	rc = store_step(st);
	store_done(st);
	return rc == STORE_DONE ? STORE_OK : rc;
}

int user_after(const struct entity *ent, struct store_conn *c, const struct principal *who,
	       json_t *rec, json_t *old, json_t *input, struct err *e)
{
	int64_t id = get_id(rec ? rec : old, "id");
	int rc = access_refresh(c);
	const char *email = json_string_value(json_object_get(rec, "email"));

	(void)ent;
	if (rc == STORE_OK && rec && old &&
	    (json_object_get(input, "password") || json_is_true(json_object_get(input, "disabled")))) {
		/* a new password or a disabled user: their other sessions end */
		struct store_stmt *st = store_prepare(c,
			"UPDATE tokens SET revoked_at = ? WHERE user_id = ? AND kind = 'session' "
			"AND revoked_at IS NULL AND id <> ?");
		char now[TIME_BUF];

		rc = STORE_ERROR;
		if (st) {
			time_now_rfc3339(now);
			store_bind_text(st, 1, now, strlen(now));
			store_bind_int(st, 2, id);
			store_bind_int(st, 3, who && who->user_id == id ? who->token_id : 0);
			rc = store_step(st);
			store_done(st);
			rc = rc == STORE_DONE ? STORE_OK : rc;
		}
		auth_cache_forget(NULL);
	}
	if (rc == STORE_OK && input && json_is_null(json_object_get(input, "locked_until"))) {
		rc = exec_id(c, "UPDATE users SET failed_logins = 0, updated_at = ? WHERE id = ?", id);
		if (email)
			auth_login_forget(email);
	}
	if (rc != STORE_OK)
		err_set(e, E_UNAVAILABLE, NULL);
	return rc;
}

int organization_after(const struct entity *ent, struct store_conn *c,
		       const struct principal *who, json_t *rec, json_t *old, json_t *input,
		       struct err *e)
{
	int rc;

	(void)ent, (void)input, (void)who;
	if (!is_unit(rec) && !is_unit(old))
		return STORE_OK;
	if ((rc = access_refresh(c)) != STORE_OK)
		err_set(e, E_UNAVAILABLE, NULL);
	return rc;
}

/* 409 unless no user lists id in column. */
static int not_listed(struct store_conn *c, const char *column, int64_t id, const char *what,
		      struct err *e)
{
	int rc = access_listed(c, column, id);

	if (rc < 0)
		err_set(e, E_UNAVAILABLE, NULL);
	else if (rc > 0)
		err_set(e, E_CONFLICT, "users still belong to this %s; take them out first", what);
	return rc == 0 ? 0 : -1;
}

int user_before_delete(const struct entity *ent, struct store_conn *c, json_t *old,
		       struct err *e)
{
	return user_check(ent, c, NULL, old, e);
}

int team_before_delete(const struct entity *ent, struct store_conn *c, json_t *old,
		       struct err *e)
{
	(void)ent;
	return not_listed(c, "team_ids", get_id(old, "id"), "team", e);
}

int organization_before_delete(const struct entity *ent, struct store_conn *c, json_t *old,
			       struct err *e)
{
	(void)ent;
	return is_unit(old) ? not_listed(c, "business_unit_ids", get_id(old, "id"),
					 "business unit", e) : 0;
}
