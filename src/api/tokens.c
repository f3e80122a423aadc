/*
 * API tokens of the signed-in user: list, create (the token text is shown
 * once), read and revoke. Admins see and revoke everyone's (?user_id=). A
 * token of another user is not found, as if it did not exist.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../domain/access.h"
#include "../http/request.h"
#include "../store/store.h"
#include "api.h"

#define TOKEN_COLS "id, user_id, name, scope, created_at, expires_at, last_used_at, revoked_at"

static void text_or_null(struct buf *b, struct store_stmt *st, int col)
{
	size_t len;
	const char *s = store_col_text(st, col, &len);

	if (store_col_null(st, col))
		buf_puts(b, "null");
	else
		buf_json_string(b, s ? s : "", s ? len : 0);
}

static void token_text(struct buf *b, struct store_stmt *st)
{
	static const char *const names[] = { "name", "scope", "created_at", "expires_at",
					     "last_used_at", "revoked_at" };

	buf_printf(b, "{\"id\":%lld,\"user_id\":%lld", (long long)store_col_int(st, 0),
		   (long long)store_col_int(st, 1));
	for (int i = 0; i < 6; i++) {
		buf_printf(b, ",\"%s\":", names[i]);
		text_or_null(b, st, 2 + i);
	}
	buf_puts(b, "}");
}

static int is_admin(struct request *r)
{
	return access_role(r->who.role)->directory;
}

void api_tokens_list(struct request *r)
{
	int64_t user = r->who.user_id;
	struct store_conn *c;
	struct store_stmt *st;
	struct buf b;
	int rc, n = 0;

	for (size_t i = 0; i < r->nparams; i++) {
		const char *v = r->params[i].value;

		if (strcmp(r->params[i].key, "user_id") != 0) {
			resp_errorf(r, E_BAD_PARAM, "%s: tokens take only user_id", r->params[i].key);
			return;
		}
		if (parse_i64(v, strlen(v), 1, INT64_MAX, &user)) {
			resp_errorf(r, E_BAD_PARAM, "user_id: must be a positive integer");
			return;
		}
		if (user != r->who.user_id && !is_admin(r)) {
			resp_errorf(r, E_FORBIDDEN, "only admins see other users' tokens");
			return;
		}
	}
	if (!(c = store_acquire(r->store))) {
		resp_errorf(r, E_UNAVAILABLE, NULL);
		return;
	}
	st = store_prepare(c, "SELECT " TOKEN_COLS " FROM tokens WHERE user_id = ? AND "
			      "kind = 'api' ORDER BY id DESC LIMIT 500");
	if (!st) {
		store_release(c);
		resp_errorf(r, E_UNAVAILABLE, NULL);
		return;
	}
	store_bind_int(st, 1, user);
	buf_init(&b, LIMIT_RESPONSE_BYTES);
	buf_puts(&b, "{\"items\":[");
	while ((rc = store_step(st)) == STORE_ROW) {
		if (n++)
			buf_puts(&b, ",");
		token_text(&b, st);
	}
	store_done(st);
	store_release(c);
	if (rc != STORE_DONE) {
		buf_free(&b);
		resp_errorf(r, E_UNAVAILABLE, NULL);
		return;
	}
	buf_puts(&b, "],\"next_cursor\":null}");
	resp_header(r, "Cache-Control", "no-store");
	resp_text(r, 200, "application/json", b.data, b.len);
}

void api_token_get(struct request *r)
{
	struct store_conn *c = store_acquire(r->store);
	struct store_stmt *st;
	struct buf b;
	int rc;

	if (!c || !(st = store_prepare(c, "SELECT " TOKEN_COLS " FROM tokens WHERE id = ? AND "
					  "kind = 'api' AND (user_id = ? OR ? = 1)"))) {
		if (c)
			store_release(c);
		resp_errorf(r, E_UNAVAILABLE, NULL);
		return;
	}
	store_bind_int(st, 1, r->id);
	store_bind_int(st, 2, r->who.user_id);
	store_bind_int(st, 3, is_admin(r));
	buf_init(&b, 1 << 16);
	rc = store_step(st);
	if (rc == STORE_ROW)
		token_text(&b, st);
	store_done(st);
	store_release(c);
	if (rc != STORE_ROW) {
		buf_free(&b);
		resp_errorf(r, rc == STORE_DONE ? E_NOT_FOUND : E_UNAVAILABLE,
			    rc == STORE_DONE ? "no token with id %lld" : NULL, (long long)r->id);
		return;
	}
	resp_text(r, 200, "application/json", b.data, b.len);
}

struct token_job {
	int64_t user_id, id;
	int admin;
	char name[101], scope[8], expires[TIME_BUF];
	char token[AUTH_TOKEN_BYTES];
	char created[TIME_BUF];
	struct err e;
};

static void token_job_free(void *p)
{
	struct token_job *j = p;

	err_clear(&j->e);
	sodium_memzero(j->token, sizeof j->token);
	free(j);
}

static int create_job(struct store_conn *c, void *p)
{
	struct token_job *j = p;

	time_now_rfc3339(j->created);
	return auth_token_create(c, j->user_id, "api", j->name, j->scope,
				 j->expires[0] ? j->expires : NULL, j->token, &j->id, &j->e);
}

static void create_finish(struct request *r, int rc)
{
	struct token_job *j = r->job;
	char loc[64];

	if (resp_write_failed(r, rc, &j->e))
		return;
	snprintf(loc, sizeof loc, "/api/v1/tokens/%lld", (long long)j->id);
	resp_header(r, "Location", loc);
	resp_header(r, "Cache-Control", "no-store");
	resp_json(r, 201, json_pack("{s:I, s:I, s:s, s:s, s:s, s:s?, s:n, s:n, s:s}",
				    "id", (json_int_t)j->id, "user_id", (json_int_t)j->user_id,
				    "name", j->name, "scope", j->scope, "created_at", j->created,
				    "expires_at", j->expires[0] ? j->expires : NULL,
				    "last_used_at", "revoked_at", "token", j->token));
}

void api_token_create(struct request *r)
{
	struct token_job *j = xcalloc(1, sizeof *j);
	struct err e = { 0 };
	const char *key;
	json_t *v;

	snprintf(j->scope, sizeof j->scope, "read");
	json_object_foreach(r->json, key, v) {
		const char *s = json_string_value(v);

		if (!strcmp(key, "name")) {
			if (!s || !*s || utf8_len(s) > 100)
				err_field(&e, key, "must be a string of 1 to 100 characters");
			else
				snprintf(j->name, sizeof j->name, "%s", s);
		} else if (!strcmp(key, "scope")) {
			if (!s || (strcmp(s, "read") && strcmp(s, "write")))
				err_field(&e, key, "must be read or write");
			else
				snprintf(j->scope, sizeof j->scope, "%s", s);
		} else if (!strcmp(key, "expires_at")) {
			char now[TIME_BUF];

			time_now_rfc3339(now);
			if (json_is_null(v))
				continue;
			if (!s || time_parse_rfc3339(s, j->expires) != 0)
				err_field(&e, key, "must be an RFC 3339 date-time");
			else if (strcmp(j->expires, now) <= 0)
				err_field(&e, key, "must be in the future");
		} else {
			err_field(&e, key, "unknown field");
		}
	}
	if (!j->name[0] && !json_object_get(r->json, "name"))
		err_field(&e, "name", "is required");
	if (e.code != E_OK) {
		resp_error(r, &e);
		err_clear(&e);
		token_job_free(j);
		return;
	}
	j->user_id = r->who.user_id;
	request_write(r, create_job, j, token_job_free, create_finish, 0);
}

static int revoke_job(struct store_conn *c, void *p)
{
	struct token_job *j = p;
	struct store_stmt *st = store_prepare(c, "UPDATE tokens SET revoked_at = COALESCE("
					     "revoked_at, ?) WHERE id = ? AND kind = 'api' AND "
					     "(user_id = ? OR ? = 1)");
	char now[TIME_BUF];
	int rc;

	if (!st) {
		err_set(&j->e, E_UNAVAILABLE, NULL);
		return STORE_ERROR;
	}
	time_now_rfc3339(now);
	store_bind_text(st, 1, now, strlen(now));
	store_bind_int(st, 2, j->id);
	store_bind_int(st, 3, j->user_id);
	store_bind_int(st, 4, j->admin);
	rc = store_step(st);
	store_done(st);
	if (rc != STORE_DONE) {
		err_set(&j->e, E_UNAVAILABLE, NULL);
		return rc;
	}
	if (store_changes(c) == 0) {
		err_set(&j->e, E_NOT_FOUND, "no token with id %lld", (long long)j->id);
		return STORE_ABORT;
	}
	return STORE_OK;
}

static void revoke_finish(struct request *r, int rc)
{
	struct token_job *j = r->job;

	auth_cache_forget(NULL);	/* only its hash is known here */
	if (resp_write_failed(r, rc, &j->e))
		return;
	resp_text(r, 204, NULL, NULL, 0);
}

void api_token_revoke(struct request *r)
{
	struct token_job *j = xcalloc(1, sizeof *j);

	j->id = r->id;
	j->user_id = r->who.user_id;
	j->admin = is_admin(r);
	request_write(r, revoke_job, j, token_job_free, revoke_finish, 0);
}
