/* Logging in and out, and who am I. */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../http/request.h"
#include "../store/store.h"
#include "api.h"

#define COOKIE_ATTRS "Path=/; HttpOnly; SameSite=Strict"

struct session_job {
	struct principal who;
	char token[AUTH_TOKEN_BYTES];
	struct err e;
};

static void session_job_free(void *p)
{
	struct session_job *j = p;

	err_clear(&j->e);
	memset(j->token, 0, sizeof j->token);
	free(j);
}

static json_t *user_json(const struct principal *p)
{
	return json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)p->user_id, "email", p->email,
			 "name", p->name, "role", p->role);
}

static int login_job(struct store_conn *c, void *p)
{
	struct session_job *j = p;

	return auth_token_create(c, j->who.user_id, "session", NULL, j->token, &j->e);
}

static void login_finish(struct request *r, int rc)
{
	struct session_job *j = r->job;
	char cookie[AUTH_TOKEN_BYTES + 128];

	if (rc != STORE_OK) {
		if (j->e.code == E_OK)
			err_set(&j->e, E_UNAVAILABLE, NULL);
		resp_error(r, &j->e);
		return;
	}
	snprintf(cookie, sizeof cookie, "rapport_session=%s; Max-Age=%d; " COOKIE_ATTRS, j->token,
		 AUTH_SESSION_SECONDS);
	resp_header(r, "Set-Cookie", cookie);
	resp_header(r, "Cache-Control", "no-store");
	resp_json(r, 201, json_pack("{s:s, s:o}", "token", j->token, "user", user_json(&j->who)));
}

void api_login(struct request *r)
{
	const char *key, *email = NULL, *password = NULL;
	struct store_conn *c;
	struct err e = { 0 };
	struct session_job *j;
	json_t *v;
	int rc;

	json_object_foreach(r->json, key, v) {
		if (strcmp(key, "email") && strcmp(key, "password"))
			err_field(&e, key, "unknown field");
		else if (!json_is_string(v) || json_string_length(v) > LIMIT_PASSWORD_BYTES)
			err_field(&e, key, "must be a string of at most %d bytes", LIMIT_PASSWORD_BYTES);
		else if (!strcmp(key, "email"))
			email = json_string_value(v);
		else
			password = json_string_value(v);
	}
	if (!email && e.code == E_OK)
		err_field(&e, "email", "is required");
	if (!password && e.code == E_OK)
		err_field(&e, "password", "is required");
	if (e.code != E_OK) {
		resp_error(r, &e);
		err_clear(&e);
		return;
	}
	if (!(c = store_acquire(r->store))) {
		resp_errorf(r, E_UNAVAILABLE, NULL);
		return;
	}
	j = xcalloc(1, sizeof *j);
	rc = auth_password_check(c, email, password, &j->who);
	store_release(c);
	if (rc != 1) {
		session_job_free(j);
		resp_errorf(r, rc < 0 ? E_UNAVAILABLE : E_UNAUTHORIZED,
			    rc < 0 ? NULL : "the email or the password is wrong");
		return;
	}
	request_write(r, login_job, j, session_job_free, login_finish);
}

static int logout_job(struct store_conn *c, void *p)
{
	struct session_job *j = p;

	return auth_token_revoke(c, j->token);
}

static void logout_finish(struct request *r, int rc)
{
	struct session_job *j = r->job;

	/* again after the commit, in case a request cached it meanwhile */
	auth_cache_forget(j->token);
	if (rc != STORE_OK) {
		resp_errorf(r, E_UNAVAILABLE, NULL);
		return;
	}
	resp_header(r, "Set-Cookie", "rapport_session=; Max-Age=0; " COOKIE_ATTRS);
	resp_text(r, 204, NULL, NULL, 0);
}

void api_logout(struct request *r)
{
	const char *h = request_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
	const char *token = h ? h + 7 : request_cookie(r, "rapport_session");
	struct session_job *j;

	if (!r->who.is_session) {
		resp_errorf(r, E_BAD_REQUEST, "these credentials are an API token, not a session");
		return;
	}
	j = xcalloc(1, sizeof *j);
	snprintf(j->token, sizeof j->token, "%s", token);
	request_write(r, logout_job, j, session_job_free, logout_finish);
}

void api_me(struct request *r)
{
	resp_json(r, 200, user_json(&r->who));
}
