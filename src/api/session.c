/*
 * Signing in and out, who am I, and changing one's own password. Sign-ins
 * are throttled per client address and per account (auth.h), and an account
 * locks after repeated failures; an unknown account is answered exactly like
 * a known one with a wrong password.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../domain/access.h"
#include "../http/request.h"
#include "../http/server.h"
#include "../store/store.h"
#include "api.h"

#define COOKIE_ATTRS "Path=/; HttpOnly; SameSite=Strict"

struct session_job {
	struct principal who;
	int64_t user_id;	/* the account a failed sign-in names, if any */
	char token[AUTH_TOKEN_BYTES];
	json_t *input;		/* a password change */
	struct err e;
};

static void session_job_free(void *p)
{
	struct session_job *j = p;

	err_clear(&j->e);
	json_decref(j->input);
	sodium_memzero(j->token, sizeof j->token);
	free(j);
}

static json_t *user_json(const struct principal *p, const char *token)
{
	json_t *u = json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)p->user_id, "email",
			      p->email, "name", p->name, "role", p->role);

	if (token && p->is_session) {
		char csrf[AUTH_CSRF_BYTES];

		auth_csrf(token, csrf);
		json_object_set_new(u, "csrf_token", json_string(csrf));
	}
	return u;
}

/* The client's address as text, for the throttle. */
static void client_address(struct request *r, char out[INET6_ADDRSTRLEN])
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	const char *real = auth_limits.trust_proxy ? request_header(r, "X-Real-IP") : NULL;

	strcpy(out, "unknown");
	if (real && *real) {
		snprintf(out, INET6_ADDRSTRLEN, "%s", real);
		return;
	}
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out,
			  INET6_ADDRSTRLEN);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
			  INET6_ADDRSTRLEN);
}

/* Whether the browser reached us over HTTPS (here or at the proxy). */
static int secure(struct request *r)
{
	const char *proto = auth_limits.trust_proxy ? request_header(r, "X-Forwarded-Proto") : NULL;

	return http_request_tls(r) || (proto && strcmp(proto, "https") == 0);
}

static void too_many(struct request *r, int seconds)
{
	char after[16];

	snprintf(after, sizeof after, "%d", seconds);
	resp_errorf(r, E_RATE_LIMITED, "too many failed sign-ins; try again in %d seconds",
		    seconds);
	resp_header(r, "Retry-After", after);
}

static int login_job(struct store_conn *c, void *p)
{
	struct session_job *j = p;
	int rc = auth_login_record(c, j->who.user_id, 1);

	if (rc != STORE_OK) {
		err_set(&j->e, E_UNAVAILABLE, NULL);
		return rc;
	}
	return auth_token_create(c, j->who.user_id, "session", NULL, "write", NULL, j->token,
				 &j->who.token_id, &j->e);
}

static void login_finish(struct request *r, int rc)
{
	struct session_job *j = r->job;
	char cookie[AUTH_TOKEN_BYTES + 128];

	if (resp_write_failed(r, rc, &j->e))
		return;
	j->who.is_session = 1;
	snprintf(cookie, sizeof cookie, "rapport_session=%s; Max-Age=%d; " COOKIE_ATTRS "%s",
		 j->token, auth_limits.session_max_age, secure(r) ? "; Secure" : "");
	resp_header(r, "Set-Cookie", cookie);
	resp_header(r, "Cache-Control", "no-store");
	resp_json(r, 201, json_pack("{s:s, s:o}", "token", j->token, "user",
				    user_json(&j->who, j->token)));
}

static int failure_job(struct store_conn *c, void *p)
{
	struct session_job *j = p;

	return auth_login_record(c, j->user_id, 0);
}

static void failure_done(void *p, int rc)
{
	(void)rc;
	session_job_free(p);
}

/* Reads a body of string fields; 0, or -1 with the answer set. */
static int string_fields(struct request *r, const char *const *names, const char **vals,
			 size_t n)
{
	struct err e = { 0 };
	const char *key;
	json_t *v;

	json_object_foreach(r->json, key, v) {
		size_t i;

		for (i = 0; i < n && strcmp(key, names[i]) != 0; i++)
			;
		if (i == n)
			err_field(&e, key, "unknown field");
		else if (!json_is_string(v) || json_string_length(v) > LIMIT_PASSWORD_BYTES)
			err_field(&e, key, "must be a string of at most %d bytes", LIMIT_PASSWORD_BYTES);
		else
			vals[i] = json_string_value(v);
	}
	for (size_t i = 0; i < n && e.code == E_OK; i++)
		if (!vals[i])
			err_field(&e, names[i], "is required");
	if (e.code != E_OK) {
		resp_error(r, &e);
		err_clear(&e);
		return -1;
	}
	return 0;
}

/*
 * Checks a password of the account email for a request, with the throttle:
 * 1 it is right (*who filled), 0 the answer is set (wrong, throttled,
 * locked, unavailable).
 */
static int password_ok(struct request *r, const char *email, const char *password,
		       struct principal *who, const char *wrong_field)
{
	char addr[INET6_ADDRSTRLEN];
	struct store_conn *c;
	int64_t user_id;
	int wait, locked, rc;

	client_address(r, addr);
	if ((wait = auth_login_wait(addr, email)) > 0) {
		too_many(r, wait);
		return 0;
	}
	c = store_acquire(r->store);
	rc = c ? auth_password_check(c, email, password, who, &user_id, &locked) : -1;
	if (c)
		store_release(c);
	if (rc < 0) {	/* not the client's failure: the attempt is given back */
		auth_login_result(addr, email, 1);
		resp_errorf(r, E_UNAVAILABLE, NULL);
		return 0;
	}
	if (locked) {
		too_many(r, locked);
		return 0;
	}
	auth_login_result(addr, email, rc == 1);
	if (rc == 1)
		return 1;
	if (user_id) {	/* counted without waiting, so both kinds answer alike */
		struct session_job *j = xcalloc(1, sizeof *j);

		j->user_id = user_id;
		store_write_async(r->store, failure_job, j, failure_done);
	}
	if (wrong_field) {
		struct err e = { 0 };

		err_field(&e, wrong_field, "is not your current password");
		resp_error(r, &e);
		err_clear(&e);
	} else {
		resp_errorf(r, E_UNAUTHORIZED, "the email or the password is wrong");
	}
	return 0;
}

void api_login(struct request *r)
{
	static const char *const names[] = { "email", "password" };
	const char *vals[2] = { NULL, NULL };
	struct session_job *j;

	if (string_fields(r, names, vals, 2))
		return;
	j = xcalloc(1, sizeof *j);
	if (!password_ok(r, vals[0], vals[1], &j->who, NULL)) {
		session_job_free(j);
		return;
	}
	request_write(r, login_job, j, session_job_free, login_finish, 0);
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
	resp_header(r, "Set-Cookie", secure(r) ? "rapport_session=; Max-Age=0; "
		    COOKIE_ATTRS "; Secure" : "rapport_session=; Max-Age=0; " COOKIE_ATTRS);
	resp_text(r, 204, NULL, NULL, 0);
}

void api_logout(struct request *r)
{
	struct session_job *j;

	if (!r->who.is_session) {
		resp_errorf(r, E_BAD_REQUEST, "these credentials are an API token, not a session");
		return;
	}
	j = xcalloc(1, sizeof *j);
	snprintf(j->token, sizeof j->token, "%s", r->token);
	request_write(r, logout_job, j, session_job_free, logout_finish, 0);
}

void api_me(struct request *r)
{
	resp_header(r, "Cache-Control", "no-store");
	resp_json(r, 200, user_json(&r->who, r->token));
}

static int password_job(struct store_conn *c, void *p)
{
	struct session_job *j = p;
	struct principal self = j->who;
	json_t *rec = NULL;
	int rc;

	/* one's own password is the one change of a user that is not an admin's */
	snprintf(self.role, sizeof self.role, "admin");
	self.read_only = 0;
	rc = record_update(c, &user_entity, j->who.user_id, -1, j->input, &self, &rec, &j->e);
	json_decref(rec);
	return rc;
}

static void password_finish(struct request *r, int rc)
{
	struct session_job *j = r->job;

	if (resp_write_failed(r, rc, &j->e))
		return;
	resp_text(r, 204, NULL, NULL, 0);
}

void api_password(struct request *r)
{
	static const char *const names[] = { "current_password", "new_password" };
	const char *vals[2] = { NULL, NULL };
	struct session_job *j;
	struct principal checked;
	json_t *body;
	struct err e = { 0 };

	if (string_fields(r, names, vals, 2))
		return;
	if (!password_ok(r, r->who.email, vals[0], &checked, "current_password"))
		return;
	body = json_pack("{s:s}", "password", vals[1]);
	j = xcalloc(1, sizeof *j);
	j->who = r->who;
	j->input = record_decode(&user_entity, body, 1, &e);
	json_decref(body);
	if (!j->input) {
		if (e.fields && json_object_get(e.fields, "password")) {
			struct err e2 = { 0 };

			err_field(&e2, "new_password", "%s",
				  json_string_value(json_object_get(e.fields, "password")));
			resp_error(r, &e2);
			err_clear(&e2);
		} else {
			resp_error(r, &e);
		}
		err_clear(&e);
		session_job_free(j);
		return;
	}
	request_write(r, password_job, j, session_job_free, password_finish, 0);
}
