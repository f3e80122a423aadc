/*
 * The descriptions of the record entities. Adding an entity is adding a
 * table of fields here (and its migration); the machinery in record.c and the
 * API read these tables. Rules that a field table cannot say live in the
 * check hooks in rules.c.
 */
#include "entity.h"

#include <string.h>

#include "../lib/limits.h"
#include "../lib/util.h"
#include "rules.h"

#define TEXT(n, m) .name = n, .type = F_TEXT, .max = m
#define INT_MAX64 INT64_MAX

const char *const organization_kinds[] = {
	"client", "prospect", "supplier", "service_provider", "partner",
	"competitor", "community", "business_unit", NULL
};
static const char *const organization_tiers[] = {
	"strategic", "key", "standard", "occasional", NULL
};
const char *const affiliation_roles[] = {
	"executive", "decision_maker", "finance", "technical", "purchasing",
	"influencer", "champion", "blocker", "user", "other", NULL
};
const char *const interaction_kinds[] = {
	"meeting", "call", "email", "message", "visit", "event", "note", NULL
};
const char *const interaction_directions[] = { "inbound", "outbound", "internal", NULL };
const char *const custom_field_types[] = {
	"text", "integer", "number", "boolean", "date", "enum", NULL
};
const char *const user_roles[] = {
	"admin", "manager", "client_rm", "business_rm", "viewer", NULL
};
static const char *const custom_field_entities[] = {
	"organization", "person", "affiliation", "interaction", NULL
};
static const char *const audit_actions[] = { "create", "update", "delete", NULL };

/* The business unit a scoped record belongs to (access.h). */
#define BUSINESS_UNIT \
	{ .name = "business_unit_id", .type = F_REF, .ref = &organization_entity, .unit = 1, \
	  .filter = 1, .doc = "The business unit the record belongs to; by default the " \
	  "creating user's first" }

static const struct field organization_fields[] = {
	{ TEXT("name", 200), .required = 1, .sort = 1, .search = 1, .doc = "Display name" },
	{ .name = "kind", .type = F_ENUM, .values = organization_kinds, .required = 1,
	  .filter = 1, .sort = 1, .doc = "What the organization is to us" },
	{ .name = "parent_id", .type = F_REF, .ref = &organization_entity, .filter = 1,
	  .doc = "Parent organization; a business unit's parent is a business unit" },
	{ .name = "tier", .type = F_ENUM, .values = organization_tiers, .filter = 1, .sort = 1,
	  .doc = "How important the relationship is; sets the expected contact cadence" },
	{ TEXT("industry", 100), .filter = 1, .search = 1 },
	{ TEXT("website", 300), .search = 1 },
	{ .name = "email", .type = F_EMAIL, .max = 254, .search = 1 },
	{ TEXT("phone", 50) },
	{ TEXT("country", 2), .filter = 1, .sort = 1, .doc = "ISO 3166-1 alpha-2" },
	{ TEXT("city", 100), .filter = 1, .search = 1 },
	{ TEXT("notes", 10000) },
	BUSINESS_UNIT,
};
const struct entity organization_entity = {
	.name = "organization", .collection = "organizations", .table = "organizations",
	.fts_table = "organizations_fts", .fts_prefix = 1, .default_sort = "id",
	.doc = "Any counterparty: clients, suppliers, partners, community bodies, our business units",
	.fields = organization_fields, .nfields = nitems(organization_fields),
	.check = organization_check, .after = organization_after,
	.before_delete = organization_before_delete, .side_kind = "kind",
};

static const struct field person_fields[] = {
	{ TEXT("given_name", 100), .sort = 1, .search = 1 },
	{ TEXT("family_name", 100), .sort = 1, .search = 1 },
	{ .name = "emails", .type = F_STRLIST, .max = 254, .search = 1,
	  .doc = "Email addresses, the first is the main one" },
	{ .name = "phones", .type = F_STRLIST, .max = 50 },
	{ TEXT("language", 35), .filter = 1, .doc = "BCP 47 language tag" },
	{ TEXT("notes", 10000) },
	BUSINESS_UNIT,
};
const struct entity person_entity = {
	.name = "person", .collection = "people", .table = "people",
	.fts_table = "people_fts", .fts_prefix = 1, .default_sort = "id",
	.doc = "A human being",
	.fields = person_fields, .nfields = nitems(person_fields),
	.check = person_check,
};

static const struct field affiliation_fields[] = {
	{ .name = "person_id", .type = F_REF, .ref = &person_entity, .required = 1,
	  .filter = 1, .immutable = 1 },
	{ .name = "organization_id", .type = F_REF, .ref = &organization_entity,
	  .required = 1, .filter = 1, .immutable = 1 },
	{ .name = "role", .type = F_ENUM, .values = affiliation_roles, .required = 1,
	  .filter = 1, .sort = 1, .doc = "The part the person plays in buying or deciding" },
	{ TEXT("title", 200) },
	{ .name = "is_primary", .type = F_BOOL, .deflt_false = 1, .filter = 1,
	  .doc = "The main contact of the organization" },
	{ .name = "started_on", .type = F_DATE, .sort = 1 },
	{ .name = "ended_on", .type = F_DATE, .sort = 1 },
	BUSINESS_UNIT,
};
const struct entity affiliation_entity = {
	.name = "affiliation", .collection = "affiliations", .table = "affiliations",
	.default_sort = "id", .doc = "A person at an organization",
	.fields = affiliation_fields, .nfields = nitems(affiliation_fields),
	.check = affiliation_check, .side_via = "organization_id",
};

static const struct field interaction_fields[] = {
	{ .name = "organization_id", .type = F_REF, .ref = &organization_entity, .filter = 1 },
	{ .name = "kind", .type = F_ENUM, .values = interaction_kinds, .required = 1,
	  .filter = 1, .sort = 1 },
	{ .name = "direction", .type = F_ENUM, .values = interaction_directions,
	  .required = 1, .filter = 1 },
	{ TEXT("channel", 50), .filter = 1, .doc = "e.g. phone, video, in_person, email" },
	{ .name = "occurred_at", .type = F_TIME, .required = 1, .sort = 1 },
	{ TEXT("subject", 500), .search = 1 },
	{ TEXT("body", 100000), .search = 1 },
	{ TEXT("language", 35), .filter = 1 },
	{ .name = "person_ids", .type = F_IDLIST, .ref = &person_entity,
	  .doc = "People who took part" },
	{ .name = "user_ids", .type = F_IDLIST, .ref = &user_entity,
	  .doc = "Users who took part" },
	{ .name = "thread_id", .type = F_REF, .ref = &interaction_entity, .filter = 1,
	  .doc = "First interaction of the thread; derived from reply_to_id when absent" },
	{ .name = "reply_to_id", .type = F_REF, .ref = &interaction_entity, .filter = 1 },
	BUSINESS_UNIT,
};
const struct entity interaction_entity = {
	.name = "interaction", .collection = "interactions", .table = "interactions",
	.fts_table = "interactions_fts", .default_sort = "id",
	.doc = "A meeting, call, email, message, visit, event or note",
	.fields = interaction_fields, .nfields = nitems(interaction_fields),
	.check = interaction_check, .side_via = "organization_id",
};

static const struct field custom_field_fields[] = {
	{ .name = "entity", .type = F_ENUM, .values = custom_field_entities, .required = 1,
	  .filter = 1, .immutable = 1 },
	{ TEXT("name", 40), .required = 1, .filter = 1, .sort = 1, .immutable = 1,
	  .doc = "Key under `custom`: [a-z][a-z0-9_]*" },
	{ .name = "type", .type = F_ENUM, .values = custom_field_types, .required = 1,
	  .immutable = 1 },
	{ TEXT("label", 100) },
	{ .name = "options", .type = F_STRLIST, .max = 100, .doc = "Values of an enum field" },
	{ .name = "required", .type = F_BOOL, .deflt_false = 1 },
	{ .name = "max_length", .type = F_INT, .min_int = 1, .max_int = 10000,
	  .doc = "Longest text value" },
};
const struct entity custom_field_entity = {
	.name = "custom_field", .collection = "custom-fields", .table = "custom_fields",
	.default_sort = "id", .doc = "A field an admin adds to an entity",
	.fields = custom_field_fields, .nfields = nitems(custom_field_fields),
	.check = custom_field_check, .admin_write = 1, .no_custom = 1,
	.access = ACCESS_DIRECTORY,
};

static const struct field user_fields[] = {
	{ .name = "email", .type = F_EMAIL, .max = 254, .required = 1, .filter = 1, .sort = 1,
	  .doc = "Sign-in name; unique" },
	{ TEXT("name", 200), .required = 1, .sort = 1 },
	{ .name = "role", .type = F_ENUM, .values = user_roles, .required = 1, .filter = 1,
	  .doc = "admin, manager, client_rm, business_rm or viewer (see the access rules)" },
	{ .name = "password", .type = F_PASSWORD, .column = "password_hash", .required = 1,
	  .max = LIMIT_PASSWORD_BYTES, .doc = "Write-only; at least 10 characters" },
	{ .name = "team_ids", .type = F_IDLIST, .ref = &team_entity, .doc = "Teams of the user" },
	{ .name = "business_unit_ids", .type = F_IDLIST, .ref = &organization_entity, .unit = 1,
	  .doc = "Business units the user works in (and every unit under them)" },
	{ .name = "disabled", .type = F_BOOL, .deflt_false = 1, .filter = 1,
	  .doc = "A disabled user cannot sign in and their tokens stop working" },
	{ .name = "locked_until", .type = F_TIME,
	  .doc = "Set by repeated failed sign-ins; an admin clears it with null" },
};
const struct entity user_entity = {
	.name = "user", .collection = "users", .table = "users",
	.default_sort = "id", .doc = "Staff who sign in",
	.fields = user_fields, .nfields = nitems(user_fields),
	.check = user_check, .after = user_after, .before_delete = user_before_delete,
	.admin_write = 1, .no_custom = 1, .access = ACCESS_DIRECTORY,
};

static const struct field team_fields[] = {
	{ TEXT("name", 100), .required = 1, .sort = 1 },
	{ .name = "business_unit_id", .type = F_REF, .ref = &organization_entity, .unit = 1,
	  .filter = 1 },
	{ TEXT("description", 1000) },
};
const struct entity team_entity = {
	.name = "team", .collection = "teams", .table = "teams",
	.default_sort = "id", .doc = "A group of users; its members change each other's records",
	.fields = team_fields, .nfields = nitems(team_fields),
	.before_delete = team_before_delete, .admin_write = 1, .no_custom = 1, .access = ACCESS_DIRECTORY,
};

static const struct field audit_fields[] = {
	{ .name = "user_id", .type = F_REF, .ref = &user_entity, .filter = 1, .readonly = 1,
	  .doc = "Who made the change" },
	{ TEXT("entity", 40), .filter = 1, .readonly = 1, .doc = "The kind of record, e.g. organization" },
	{ .name = "record_id", .type = F_INT, .min_int = 1, .max_int = INT_MAX64, .filter = 1,
	  .readonly = 1 },
	{ .name = "action", .type = F_ENUM, .values = audit_actions, .filter = 1, .readonly = 1 },
	{ .name = "business_unit_id", .type = F_REF, .ref = &organization_entity, .filter = 1,
	  .readonly = 1 },
	{ .name = "changes", .type = F_JSON, .readonly = 1,
	  .doc = "{\"before\": {...}, \"after\": {...}} with the fields that changed" },
};
const struct entity audit_entity = {
	.name = "audit", .collection = "audit", .table = "audit",
	.default_sort = "-id", .doc = "Who changed what and when; append-only",
	.fields = audit_fields, .nfields = nitems(audit_fields),
	.no_custom = 1, .read_only = 1, .access = ACCESS_AUDIT,
};

const struct entity *const entities[] = {
	&organization_entity, &person_entity, &affiliation_entity,
	&interaction_entity, &custom_field_entity, &team_entity, &user_entity,
	&audit_entity, NULL
};

const struct entity *entity_by_collection(const char *collection, size_t len)
{
	for (size_t i = 0; entities[i]; i++)
		if (strlen(entities[i]->collection) == len &&
		    memcmp(entities[i]->collection, collection, len) == 0)
			return entities[i];
	return NULL;
}

const struct entity *entity_by_name(const char *name)
{
	for (size_t i = 0; entities[i]; i++)
		if (strcmp(entities[i]->name, name) == 0)
			return entities[i];
	return NULL;
}

const struct field *entity_field(const struct entity *ent, const char *name)
{
	for (size_t i = 0; i < ent->nfields; i++)
		if (strcmp(ent->fields[i].name, name) == 0)
			return &ent->fields[i];
	return NULL;
}

int enum_has(const char *const *values, const char *v)
{
	for (; *values; values++)
		if (strcmp(*values, v) == 0)
			return 1;
	return 0;
}
