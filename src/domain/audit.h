/*
 * The audit trail: one append-only row per create, update and delete, written
 * by the record machinery inside the same write transaction, so a change and
 * its row commit or vanish together. Rows are read through the generic list
 * machinery as the entity "audit" (entities.c), which no route can change.
 */
#ifndef RAPPORT_AUDIT_H
#define RAPPORT_AUDIT_H

#include <jansson.h>

#include "../lib/err.h"
#include "auth.h"
#include "entity.h"

struct store_conn;

/*
 * In a write job: the row for action ("create", "update", "delete") on a
 * record of ent by who (NULL: the server), from old (NULL on create) to rec
 * (NULL on delete). Only the fields that changed are kept, before and after;
 * a write-only field (a password) is noted as "(changed)", never its value.
 * A store code, with e set on failure.
 */
int audit_record(struct store_conn *c, const struct entity *ent, const struct principal *who,
		 const char *action, json_t *old, json_t *rec, json_t *input, struct err *e);

#endif
