#include "audit.h"

#include <stdlib.h>
#include <string.h>

#include "../lib/util.h"
#include "../store/store.h"

/* Kept by the row itself: not changes of the record's content. */
static int bookkeeping(const char *key)
{
	return !strcmp(key, "id") || !strcmp(key, "created_at") || !strcmp(key, "updated_at") ||
	       !strcmp(key, "version");
}

/* Every field of rec with a value, into side. */
static void all_fields(json_t *side, json_t *rec)
{
	const char *key;
	json_t *v;

	json_object_foreach(rec, key, v) {
		if (bookkeeping(key) || json_is_null(v) ||
		    (json_is_array(v) && json_array_size(v) == 0) ||
		    (json_is_object(v) && json_object_size(v) == 0))
			continue;
		json_object_set(side, key, v);
	}
}

static json_t *changes(const struct entity *ent, json_t *old, json_t *rec, json_t *input)
{
	json_t *before = json_object(), *after = json_object(), *v;
	const char *key;

	if (!old) {
		all_fields(after, rec);
	} else if (!rec) {
		all_fields(before, old);
	} else {
		json_object_foreach(rec, key, v) {
			json_t *was = json_object_get(old, key);

			if (bookkeeping(key) || (was && json_equal(was, v)) ||
			    (!was && json_is_null(v)))
				continue;
			json_object_set(before, key, was ? was : json_null());
			json_object_set(after, key, v);
		}
	}
	for (size_t i = 0; input && i < ent->nfields; i++)
		if (ent->fields[i].type == F_PASSWORD && json_object_get(input, ent->fields[i].name))
			json_object_set_new(after, ent->fields[i].name, json_string("(changed)"));
	return json_pack("{s:o, s:o}", "before", before, "after", after);
}

int audit_record(struct store_conn *c, const struct entity *ent, const struct principal *who,
		 const char *action, json_t *old, json_t *rec, json_t *input, struct err *e)
{
	json_t *state = rec ? rec : old, *ch, *unit;
	struct store_stmt *st;
	char now[TIME_BUF], *text;
	int rc;

	if (ent == &audit_entity)
		return STORE_OK;
	if (!(st = store_prepare(c, "INSERT INTO audit (created_at, updated_at, version, owner_id, "
				    "tags, custom, user_id, entity, record_id, action, "
				    "business_unit_id, changes) VALUES (?, ?, 1, ?, '[]', '{}', ?, ?, "
				    "?, ?, ?, ?)"))) {
		err_set(e, E_UNAVAILABLE, NULL);
		return STORE_ERROR;
	}
	time_now_rfc3339(now);
	store_bind_text(st, 1, now, strlen(now));
	store_bind_text(st, 2, now, strlen(now));
	if (who) {
		store_bind_int(st, 3, who->user_id);
		store_bind_int(st, 4, who->user_id);
	} else {
		store_bind_null(st, 3);
		store_bind_null(st, 4);
	}
	store_bind_text(st, 5, ent->name, strlen(ent->name));
	store_bind_int(st, 6, json_integer_value(json_object_get(state, "id")));
	store_bind_text(st, 7, action, strlen(action));
	unit = json_object_get(state, "business_unit_id");
	if (ent->access == ACCESS_SCOPED && json_is_integer(unit))
		store_bind_int(st, 8, json_integer_value(unit));
	else
		store_bind_null(st, 8);
	ch = changes(ent, old, rec, input);
	text = json_dumps(ch, JSON_COMPACT);
	store_bind_text(st, 9, text, strlen(text));
	free(text);
	json_decref(ch);
	/* nothing reads it back: it may go out with the next statement */
	rc = store_run_later(st);
	if (rc != STORE_OK) {
		err_set(e, rc == STORE_UNAVAILABLE || rc == STORE_BUSY ? E_UNAVAILABLE : E_INTERNAL,
			NULL);
		return rc == STORE_CONSTRAINT ? STORE_ERROR : rc;
	}
	return STORE_OK;
}
