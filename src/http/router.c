#include "router.h"

#include <microhttpd.h>
#include <sodium.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../api/api.h"
#include "../store/store.h"
#include "request.h"

enum {
	R_PUBLIC = 1,	/* no credentials needed */
	R_BODY = 2,	/* takes a JSON object body */
};

struct route {
	const char *method;
	const char *pattern;	/* segments; {entity} and {id} are placeholders */
	void (*fn)(struct request *r);
	unsigned flags;
};

static const struct route routes[] = {
	{ "GET", "/healthz", api_health, R_PUBLIC },
	{ "GET", "/api/v1/openapi.json", api_openapi, R_PUBLIC },
	{ "POST", "/api/v1/session", api_login, R_PUBLIC | R_BODY },
	{ "DELETE", "/api/v1/session", api_logout, 0 },
	{ "GET", "/api/v1/me", api_me, 0 },
	{ "POST", "/api/v1/me/password", api_password, R_BODY },
	{ "GET", "/api/v1/tokens", api_tokens_list, 0 },
	{ "POST", "/api/v1/tokens", api_token_create, R_BODY },
	{ "GET", "/api/v1/tokens/{id}", api_token_get, 0 },
	{ "DELETE", "/api/v1/tokens/{id}", api_token_revoke, 0 },
	{ "GET", "/api/v1/organizations/{id}/timeline", api_timeline, 0 },
	{ "GET", "/api/v1/{entity}/{id}/history", api_history, 0 },
	{ "GET", "/api/v1/{entity}", api_list, 0 },
	{ "POST", "/api/v1/{entity}", api_create, R_BODY },
	{ "GET", "/api/v1/{entity}/{id}", api_get, 0 },
	{ "PATCH", "/api/v1/{entity}/{id}", api_update, R_BODY },
	{ "DELETE", "/api/v1/{entity}/{id}", api_delete, 0 },
};

/* Matches path against pattern; fills r's entity and id. */
static int match(const char *pattern, const char *path, struct request *r)
{
	const struct entity *ent = NULL;
	int64_t id = 0;

	while (*pattern && *path) {
		const char *pe = strchrnul(pattern + 1, '/'), *se = strchrnul(path + 1, '/');
		size_t plen = (size_t)(pe - pattern), slen = (size_t)(se - path);

		if (*pattern != '/' || *path != '/')
			return 0;
		if (plen == 9 && memcmp(pattern, "/{entity}", 9) == 0) {
			if (!(ent = entity_by_collection(path + 1, slen - 1)))
				return 0;
		} else if (plen == 5 && memcmp(pattern, "/{id}", 5) == 0) {
			if (parse_i64(path + 1, slen - 1, 1, INT64_MAX, &id) || path[1] == '+')
				return 0;
		} else if (plen != slen || memcmp(pattern, path, plen) != 0) {
			return 0;
		}
		pattern = pe;
		path = se;
	}
	if (*pattern || *path)
		return 0;
	r->entity = ent;
	r->id = id;
	return 1;
}

static int touch_job(struct store_conn *c, void *arg)
{
	return auth_token_touch(c, *(int64_t *)arg);
}

static void touch_done(void *arg, int rc)
{
	(void)rc;
	free(arg);
}

static int authenticate(struct request *r)
{
	const char *h = request_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
	const char *token = NULL;
	struct store_conn *c;
	int rc;

	if (h && strncasecmp(h, "Bearer ", 7) == 0) {
		token = h + 7;
	} else if (!h) {
		token = request_cookie(r, "rapport_session");
		r->by_cookie = 1;
	}
	if (!token || !*token)
		return 0;
	r->token = token;
	if (auth_token_cached(token, &r->who))	/* most requests: no store at all */
		return 1;
	if (!(c = store_acquire(r->store)))
		return -1;
	rc = auth_token_lookup(c, token, &r->who);
	store_release(c);
	if (rc == 1 && r->who.touch) {
		int64_t *id = xmalloc(sizeof *id);

		*id = r->who.token_id;
		store_write_async(r->store, touch_job, id, touch_done);
	}
	return rc;
}

static int unsafe(const char *method)
{
	return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
	       strcmp(method, "OPTIONS") != 0;
}

/*
 * A browser sends the cookie with any request, also one a hostile page makes
 * it send; only our own pages can read the CSRF token (from the sign-in
 * answer or /api/v1/me) and send it back in X-CSRF-Token.
 */
static int csrf_ok(struct request *r)
{
	const char *sent = request_header(r, "X-CSRF-Token");
	char want[AUTH_CSRF_BYTES];

	if (!r->by_cookie || !unsafe(r->method))
		return 1;
	auth_csrf(r->token, want);
	return sent && strlen(sent) == strlen(want) &&
	       sodium_memcmp(sent, want, strlen(want)) == 0;
}

static enum MHD_Result collect_param(void *cls, enum MHD_ValueKind kind, const char *key,
				     const char *value)
{
	struct request *r = cls;

	(void)kind;
	if (r->nparams == LIMIT_QUERY_PARAMS) {
		r->too_many_params = 1;
		return MHD_NO;
	}
	r->params[r->nparams].key = key;
	r->params[r->nparams].value = value ? value : "";
	r->nparams++;
	return MHD_YES;
}

/* The body checks, in the order a client would want to hear of them. */
static int parse_body(struct request *r)
{
	const char *ct = request_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
	json_error_t jerr;

	if (r->body_too_large) {
		resp_errorf(r, E_TOO_LARGE, "the body is larger than %d bytes", LIMIT_BODY_BYTES);
		return -1;
	}
	if (!ct || !(starts_with_ci(ct, "application/json") ||
		     starts_with_ci(ct, "application/merge-patch+json"))) {
		resp_errorf(r, E_MEDIA_TYPE, "Content-Type must be application/json, not %s",
			    ct ? ct : "absent");
		return -1;
	}
	if (!utf8_valid(r->body.data ? r->body.data : "", r->body.len)) {
		resp_errorf(r, E_INVALID_UTF8, NULL);
		return -1;
	}
	if (json_depth(r->body.data ? r->body.data : "", r->body.len) > LIMIT_JSON_DEPTH) {
		resp_errorf(r, E_TOO_DEEP, "the body is nested deeper than %d levels",
			    LIMIT_JSON_DEPTH);
		return -1;
	}
	r->json = json_loadb(r->body.data ? r->body.data : "", r->body.len,
			     JSON_REJECT_DUPLICATES, &jerr);
	if (!r->json) {
		resp_errorf(r, E_INVALID_JSON, "the body is not valid JSON: %s (line %d, column %d)",
			    jerr.text, jerr.line, jerr.column);
		return -1;
	}
	if (!json_is_object(r->json)) {
		resp_errorf(r, E_INVALID_JSON, "the body must be a JSON object");
		return -1;
	}
	return 0;
}

int router_find(const char *method, const char *path, const struct entity **ent,
		int64_t *id, char *allow, size_t allow_len)
{
	struct request scratch;
	int any = 0;

	if (allow_len)
		allow[0] = '\0';
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		scratch.entity = NULL;
		scratch.id = 0;
		if (!match(routes[i].pattern, path, &scratch))
			continue;
		any = 1;
		if (strcmp(routes[i].method, method) == 0) {
			*ent = scratch.entity;
			*id = scratch.id;
			return (int)i;
		}
		if (allow_len && !strstr(allow, routes[i].method))
			snprintf(allow + strlen(allow), allow_len - strlen(allow), "%s%s",
				 allow[0] ? ", " : "", routes[i].method);
	}
	return any ? -2 : -1;
}

void router_dispatch(struct request *r)
{
	const struct route *found;
	char allow[64];
	int i;

	if (strlen(r->path) > LIMIT_URL_BYTES) {
		resp_errorf(r, E_BAD_REQUEST, "the URL is longer than %d bytes", LIMIT_URL_BYTES);
		return;
	}
	i = router_find(r->method, r->path, &r->entity, &r->id, allow, sizeof allow);
	if (i == -1) {
		resp_errorf(r, E_NO_ROUTE, "no such path: %.200s", r->path);
		return;
	}
	if (i == -2) {
		resp_errorf(r, E_METHOD, "%s is not allowed here; use %s", r->method, allow);
		resp_header(r, "Allow", allow);
		return;
	}
	found = &routes[i];
	if (!(found->flags & R_PUBLIC)) {
		int rc = authenticate(r);

		if (rc < 0) {
			resp_errorf(r, E_UNAVAILABLE, NULL);
			return;
		}
		if (rc == 0) {
			resp_errorf(r, E_UNAUTHORIZED, NULL);
			resp_header(r, "WWW-Authenticate", "Bearer realm=\"rapport\"");
			return;
		}
		if (!csrf_ok(r)) {
			resp_errorf(r, E_FORBIDDEN, "a request signed in by cookie needs the session's "
				    "X-CSRF-Token header (from the sign-in answer or GET /api/v1/me)");
			return;
		}
		if (r->who.read_only && unsafe(r->method)) {
			resp_errorf(r, E_FORBIDDEN, "this token may only read");
			return;
		}
	}
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_param, r);
	if (r->too_many_params) {
		resp_errorf(r, E_BAD_PARAM, "at most %d query parameters", LIMIT_QUERY_PARAMS);
		return;
	}
	if ((found->flags & R_BODY) && parse_body(r) != 0)
		return;
	found->fn(r);
}
