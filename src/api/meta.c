/* /healthz and the OpenAPI document, generated from the entity descriptions. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../http/request.h"
#include "../store/store.h"
#include "api.h"

#ifndef RAPPORT_VERSION
#define RAPPORT_VERSION "0.1.0"
#endif

void api_health(struct request *r)
{
	struct store_conn *c = store_acquire(r->store);
	struct store_stmt *st = c ? store_prepare(c, "SELECT 1") : NULL;
	int ok = st && store_step(st) == STORE_ROW;

	if (st)
		store_done(st);
	if (c)
		store_release(c);
	if (!ok) {
		resp_errorf(r, E_UNAVAILABLE, NULL);
		return;
	}
	resp_json(r, 200, json_pack("{s:s, s:s, s:s}", "status", "ok", "store",
				     store_backend(r->store), "version", RAPPORT_VERSION));
}

static json_t *ref(const char *name)
{
	char path[128];

	snprintf(path, sizeof path, "#/components/schemas/%s", name);
	return json_pack("{s:s}", "$ref", path);
}

static json_t *field_schema(const struct field *f)
{
	json_t *s = json_object(), *type;

	switch (f->type) {
	case F_TEXT:
		json_object_set_new(s, "type", json_string("string"));
		json_object_set_new(s, "maxLength", json_integer(f->max));
		break;
	case F_EMAIL:
		json_object_set_new(s, "type", json_string("string"));
		json_object_set_new(s, "format", json_string("email"));
		json_object_set_new(s, "maxLength", json_integer(f->max));
		break;
	case F_INT:
		json_object_set_new(s, "type", json_string("integer"));
		json_object_set_new(s, "minimum", json_integer(f->min_int));
		json_object_set_new(s, "maximum", json_integer(f->max_int));
		break;
	case F_BOOL:
		json_object_set_new(s, "type", json_string("boolean"));
		break;
	case F_ENUM: {
		json_t *vals = json_array();

		for (const char *const *v = f->values; *v; v++)
			json_array_append_new(vals, json_string(*v));
		json_object_set_new(s, "type", json_string("string"));
		json_object_set_new(s, "enum", vals);
		break;
	}
	case F_REF:
		json_object_set_new(s, "type", json_string("integer"));
		json_object_set_new(s, "minimum", json_integer(1));
		json_object_set_new(s, "description", json_sprintf("id of a %s", f->ref->name));
		break;
	case F_TIME:
		json_object_set_new(s, "type", json_string("string"));
		json_object_set_new(s, "format", json_string("date-time"));
		break;
	case F_DATE:
		json_object_set_new(s, "type", json_string("string"));
		json_object_set_new(s, "format", json_string("date"));
		break;
	case F_STRLIST:
		json_object_set_new(s, "type", json_string("array"));
		json_object_set_new(s, "maxItems", json_integer(LIMIT_STR_LIST));
		json_object_set_new(s, "items", json_pack("{s:s, s:i}", "type", "string",
							  "maxLength", f->max));
		break;
	case F_IDLIST:
		json_object_set_new(s, "type", json_string("array"));
		json_object_set_new(s, "maxItems", json_integer(LIMIT_ID_LIST));
		json_object_set_new(s, "items", json_pack("{s:s, s:i}", "type", "integer",
							  "minimum", 1));
		json_object_set_new(s, "description", json_sprintf("ids of %s records",
								   f->ref->name));
		break;
	case F_PASSWORD:
		json_object_set_new(s, "type", json_string("string"));
		json_object_set_new(s, "minLength", json_integer(10));
		json_object_set_new(s, "writeOnly", json_true());
		break;
	case F_JSON:
		json_object_set_new(s, "type", json_string("object"));
		break;
	}
	if (f->doc)
		json_object_set_new(s, "description", json_string(f->doc));
	if (!f->required && f->type != F_STRLIST && f->type != F_IDLIST && f->type != F_BOOL) {
		type = json_object_get(s, "type");
		json_object_set_new(s, "type", json_pack("[O, s]", type, "null"));
	}
	if (f->immutable)
		json_object_set_new(s, "x-immutable", json_true());
	if (f->readonly)
		json_object_set_new(s, "readOnly", json_true());
	/* what clients (and the permission walk in tests/api) need to build records */
	if (f->ref)
		json_object_set_new(s, "x-ref", json_string(f->ref->name));
	if (f->unit)
		json_object_set_new(s, "x-business-unit", json_true());
	if (f->search)
		json_object_set_new(s, "x-search", json_true());
	return s;
}

static json_t *entity_schema(const struct entity *ent)
{
	json_t *props = json_object(), *required = json_array();

	json_object_set_new(props, "id", json_pack("{s:s, s:b}", "type", "integer", "readOnly", 1));
	json_object_set_new(props, "created_at", json_pack("{s:s, s:s, s:b}", "type", "string",
							   "format", "date-time", "readOnly", 1));
	json_object_set_new(props, "updated_at", json_pack("{s:s, s:s, s:b}", "type", "string",
							   "format", "date-time", "readOnly", 1));
	json_object_set_new(props, "version", json_pack("{s:s, s:b}", "type", "integer",
							"readOnly", 1));
	json_object_set_new(props, "owner_id", json_pack("{s:[s,s], s:s}", "type", "integer",
							 "null", "description",
							 "The user who owns it; the creator by default"));
	for (size_t i = 0; i < ent->nfields; i++) {
		json_object_set_new(props, ent->fields[i].name, field_schema(&ent->fields[i]));
		if (ent->fields[i].required)
			json_array_append_new(required, json_string(ent->fields[i].name));
	}
	json_object_set_new(props, "tags", json_pack("{s:s, s:i, s:{s:s, s:i, s:i}}", "type",
						      "array", "maxItems", LIMIT_TAGS, "items",
						      "type", "string", "minLength", 1, "maxLength",
						      LIMIT_TAG_BYTES));
	if (!ent->no_custom)
		json_object_set_new(props, "custom",
				    json_pack("{s:s, s:s}", "type", "object", "description",
					      "Values of the custom fields declared for this entity"));
	return json_pack("{s:s, s:s, s:o, s:o, s:b, s:s, s:s, s:s?, s:s?, s:b}", "type", "object",
			 "description", ent->doc, "properties", props, "required", required,
			 "additionalProperties", 0, "x-collection", ent->collection,
			 "x-access", ent->access == ACCESS_SCOPED ? "scoped" :
			 ent->access == ACCESS_AUDIT ? "audit" : "directory",
			 "x-side-kind", ent->side_kind, "x-side-via", ent->side_via,
			 "x-read-only", ent->read_only);
}

static json_t *param(const char *name, const char *in, const char *type, const char *doc)
{
	return json_pack("{s:s, s:s, s:{s:s}, s:s}", "name", name, "in", in, "schema", "type",
			 type, "description", doc);
}

static json_t *responses(int status, json_t *schema, const char *doc)
{
	json_t *r = json_object();
	char code[8];

	snprintf(code, sizeof code, "%d", status);
	if (schema)
		json_object_set_new(r, code, json_pack("{s:s, s:{s:{s:o}}}", "description", doc,
						       "content", "application/json", "schema",
						       schema));
	else
		json_object_set_new(r, code, json_pack("{s:s}", "description", doc));
	json_object_set_new(r, "default", json_pack("{s:s, s:{s:{s:o}}}", "description",
						    "An error", "content", "application/json",
						    "schema", ref("Error")));
	return r;
}

static json_t *list_params(const struct entity *ent)
{
	json_t *ps = json_array();

	json_array_append_new(ps, param("limit", "query", "integer", "1 to 200, default 50"));
	json_array_append_new(ps, param("cursor", "query", "string", "next_cursor of the page before"));
	json_array_append_new(ps, param("sort", "query", "string",
					"a sortable field, -field for descending"));
	if (ent->fts_table)
		json_array_append_new(ps, param("q", "query", "string", "full-text search"));
	json_array_append_new(ps, param("tag", "query", "string", "records carrying this tag"));
	json_array_append_new(ps, param("owner_id", "query", "integer", "equality filter"));
	for (size_t i = 0; i < ent->nfields; i++)
		if (ent->fields[i].filter)
			json_array_append_new(ps, param(ent->fields[i].name, "query",
							ent->fields[i].type == F_REF ? "integer" : "string",
							"equality filter; null for no value"));
	return ps;
}

static json_t *page_schema(const char *name)
{
	return json_pack("{s:s, s:{s:{s:s, s:o}, s:{s:[s,s]}}}", "type", "object", "properties",
			 "items", "type", "array", "items", ref(name), "next_cursor", "type",
			 "string", "null");
}

static json_t *build_openapi(void)
{
	json_t *paths = json_object(), *schemas = json_object(), *session;
	json_t *id_param = json_pack("[{s:s, s:s, s:b, s:{s:s}}]", "name", "id", "in", "path",
				     "required", 1, "schema", "type", "integer");
	json_t *if_match = json_pack("{s:s, s:s, s:b, s:{s:s}, s:s}", "name", "If-Match", "in",
				     "header", "required", 1, "schema", "type", "string",
				     "description", "the ETag of the version you read");

	for (size_t i = 0; entities[i]; i++) {
		const struct entity *ent = entities[i];
		char coll[96], one[112], hist[128];
		json_t *body = json_pack("{s:b, s:{s:{s:o}}}", "required", 1, "content",
					 "application/json", "schema", ref(ent->name));

		snprintf(coll, sizeof coll, "/api/v1/%s", ent->collection);
		snprintf(one, sizeof one, "/api/v1/%s/{id}", ent->collection);
		json_object_set_new(schemas, ent->name, entity_schema(ent));
		if (ent->read_only) {
			json_object_set_new(paths, coll, json_pack("{s:{s:s, s:o, s:o}}",
				"get", "summary", ent->doc, "parameters", list_params(ent),
				"responses", responses(200, page_schema(ent->name), "A page")));
			json_object_set_new(paths, one, json_pack("{s:O, s:{s:o}}",
				"parameters", id_param,
				"get", "responses", responses(200, ref(ent->name), "The record")));
			json_decref(body);
			continue;
		}
		snprintf(hist, sizeof hist, "/api/v1/%s/{id}/history", ent->collection);
		json_object_set_new(paths, hist, json_pack("{s:O, s:{s:s, s:o}}",
			"parameters", id_param, "get", "summary",
			"The audit rows of the record, newest first", "responses",
			responses(200, page_schema("audit"), "A page")));
		json_object_set_new(paths, coll, json_pack(
			"{s:{s:s, s:o, s:o}, s:{s:s, s:O, s:[{s:s, s:s, s:{s:s}}], s:o}}",
			"get", "summary", ent->doc, "parameters", list_params(ent),
			"responses", responses(200, page_schema(ent->name), "A page"),
			"post", "summary", "Create", "requestBody", body,
			"parameters", "name", "Idempotency-Key", "in", "header", "schema", "type",
			"string", "responses", responses(201, ref(ent->name), "Created")));
		json_object_set_new(paths, one, json_pack(
			"{s:O, s:{s:o}, s:{s:[O], s:O, s:o}, s:{s:[O], s:o}}",
			"parameters", id_param,
			"get", "responses", responses(200, ref(ent->name), "The record"),
			"patch", "parameters", if_match, "requestBody", body,
			"responses", responses(200, ref(ent->name), "Changed"),
			"delete", "parameters", if_match,
			"responses", responses(204, NULL, "Deleted")));
		json_decref(body);
	}
	json_object_set_new(paths, "/api/v1/organizations/{id}/timeline", json_pack(
		"{s:O, s:{s:s, s:o, s:o}}", "parameters", id_param, "get", "summary",
		"The organization's interactions, newest first", "parameters",
		list_params(&interaction_entity), "responses",
		responses(200, page_schema("interaction"), "A page")));
	session = json_loads("{\"post\": {\"summary\": \"Log in\", \"security\": [],"
			     " \"requestBody\": {\"content\": {\"application/json\": {\"schema\":"
			     " {\"type\": \"object\", \"properties\": {\"email\": {\"type\":"
			     " \"string\"}, \"password\": {\"type\": \"string\"}}}}}}},"
			     " \"delete\": {\"summary\": \"Log out\"}}", 0, NULL);
	json_object_set_new(json_object_get(session, "post"), "responses",
			    responses(201, NULL, "A session token and cookie"));
	json_object_set_new(json_object_get(session, "delete"), "responses",
			    responses(204, NULL, "Logged out"));
	json_object_set_new(paths, "/api/v1/session", session);
	json_object_set_new(paths, "/api/v1/me", json_pack("{s:{s:s, s:o}}", "get", "summary",
		"The user behind the credentials, with the session's csrf_token",
		"responses", responses(200, NULL, "The user")));
	json_object_set_new(paths, "/api/v1/me/password", json_pack("{s:{s:s, s:o}}", "post",
		"summary", "Change one's own password: {current_password, new_password}; "
		"every other session ends", "responses", responses(204, NULL, "Changed")));
	json_object_set_new(paths, "/api/v1/tokens", json_pack("{s:{s:s, s:o}, s:{s:s, s:o}}",
		"get", "summary", "Your API tokens (admins: ?user_id=)", "responses",
		responses(200, NULL, "The tokens, newest first"),
		"post", "summary", "A new API token: {name, scope: read|write, expires_at?}; "
		"the token text is shown only in this answer", "responses",
		responses(201, NULL, "The token")));
	json_object_set_new(paths, "/api/v1/tokens/{id}", json_pack("{s:O, s:{s:o}, s:{s:o}}",
		"parameters", id_param, "get", "responses", responses(200, NULL, "The token"),
		"delete", "responses", responses(204, NULL, "Revoked")));
	json_object_set_new(paths, "/healthz", json_pack("{s:{s:s, s:[], s:o}}", "get", "summary",
		"Liveness and store reachability", "security", "responses",
		responses(200, NULL, "Serving")));
	json_object_set_new(schemas, "Error", json_pack(
		"{s:s, s:{s:{s:s, s:{s:{s:s}, s:{s:s}, s:{s:s}}}}}", "type", "object",
		"properties", "error", "type", "object", "properties", "code", "type", "string",
		"message", "type", "string", "fields", "type", "object"));
	json_decref(id_param);
	json_decref(if_match);
	return json_pack("{s:s, s:{s:s, s:s, s:s}, s:o, s:{s:o, s:{s:{s:s, s:s}, s:{s:s, s:s, s:s}}}, "
			 "s:[{s:[]}, {s:[]}]}",
			 "openapi", "3.1.0", "info", "title", "rapport", "version", RAPPORT_VERSION,
			 "description", "Relationship management: clients, suppliers, partners, community",
			 "paths", paths, "components", "schemas", schemas, "securitySchemes",
			 "bearer", "type", "http", "scheme", "bearer", "cookie", "type", "apiKey",
			 "in", "cookie", "name", "rapport_session",
			 "security", "bearer", "cookie");
}

static char *openapi_text;
static pthread_once_t openapi_once = PTHREAD_ONCE_INIT;

static void openapi_init(void)
{
	json_t *doc = build_openapi();

	openapi_text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
}

void api_openapi(struct request *r)
{
	pthread_once(&openapi_once, openapi_init);
	if (!openapi_text) {
		resp_errorf(r, E_INTERNAL, "the OpenAPI document could not be built");
		return;
	}
	resp_text(r, 200, "application/json", xstrdup(openapi_text), strlen(openapi_text));
}
