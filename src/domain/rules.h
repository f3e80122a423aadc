/* What is special about each entity: the check hooks named in entities.c. */
#ifndef RAPPORT_RULES_H
#define RAPPORT_RULES_H

#include "entity.h"

int organization_check(const struct entity *ent, struct store_conn *c, json_t *rec,
		       json_t *old, struct err *e);
int person_check(const struct entity *ent, struct store_conn *c, json_t *rec,
		 json_t *old, struct err *e);
int affiliation_check(const struct entity *ent, struct store_conn *c, json_t *rec,
		      json_t *old, struct err *e);
int interaction_check(const struct entity *ent, struct store_conn *c, json_t *rec,
		      json_t *old, struct err *e);
int custom_field_check(const struct entity *ent, struct store_conn *c, json_t *rec,
		       json_t *old, struct err *e);

int user_check(const struct entity *ent, struct store_conn *c, json_t *rec,
	       json_t *old, struct err *e);
int user_after(const struct entity *ent, struct store_conn *c, const struct principal *who,
	       json_t *rec, json_t *old, json_t *input, struct err *e);
int organization_after(const struct entity *ent, struct store_conn *c,
		       const struct principal *who, json_t *rec, json_t *old, json_t *input,
		       struct err *e);

int user_before_delete(const struct entity *ent, struct store_conn *c, json_t *old,
		       struct err *e);
int team_before_delete(const struct entity *ent, struct store_conn *c, json_t *old,
		       struct err *e);
int organization_before_delete(const struct entity *ent, struct store_conn *c, json_t *old,
			       struct err *e);

/* 1 if s looks like an email address (local@domain.tld, no spaces). */
int email_valid(const char *s);

#endif
