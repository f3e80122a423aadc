/*
 * The five verbs of every entity, and an organization's timeline. Reads run
 * on the calling thread with a read connection; writes become jobs for the
 * store writer, and their answer (including an Idempotency-Key's stored
 * answer) is built inside the job so that it commits with the change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../domain/access.h"
#include "../http/request.h"
#include "../store/store.h"
#include "api.h"

/* Reads If-Match: the version it names, -1 for "*"; 0 if absent, -2 if bad. */
static int64_t if_match(struct request *r)
{
	const char *h = request_header(r, "If-Match");
	int64_t v;
	size_t n;

	if (!h)
		return 0;
	while (*h == ' ')
		h++;
	if (strcmp(h, "*") == 0)
		return -1;
	if (strncmp(h, "W/", 2) == 0)
		h += 2;
	n = strlen(h);
	if (n >= 2 && h[0] == '"' && h[n - 1] == '"') {
		h++;
		n -= 2;
	}
	if (parse_i64(h, n, 1, INT64_MAX, &v))
		return -2;
	return v;
}

/*
 * What can be refused before the store is asked: the entity takes no writes
 * (405), or (on create) the credentials may create nothing of it (403). The
 * rules that depend on the record run in the write job, after its read
 * check, so that a record the user may not read is 404 whatever the role.
 */
static int can_write(struct request *r, int creating)
{
	const struct role_rule *rule = access_role(r->who.role);

	if (r->entity->read_only) {
		resp_errorf(r, E_METHOD, "%s cannot be changed; use GET", r->entity->collection);
		resp_header(r, "Allow", "GET");
		return 0;
	}
	if (!creating)
		return 1;
	if (r->who.read_only) {
		resp_errorf(r, E_FORBIDDEN, "this token may only read");
		return 0;
	}
	if (rule->write == W_NONE) {
		resp_errorf(r, E_FORBIDDEN, "a %s may not change records", r->who.role);
		return 0;
	}
	if ((r->entity->admin_write || r->entity->access != ACCESS_SCOPED) && !rule->directory) {
		resp_errorf(r, E_FORBIDDEN, "only admins may change %s", r->entity->collection);
		return 0;
	}
	return 1;
}

static void get_finish(struct request *r, struct store_stmt *rows, int rc)
{
	struct err e = { 0 };
	struct buf b;
	int64_t version;
	char etag[32];

	buf_init(&b, LIMIT_RESPONSE_BYTES);
	if (record_get_rows(rows, rc, r->entity, r->id, &b, &version, &e) != 0) {
		buf_free(&b);
		resp_error(r, &e);
		err_clear(&e);
		return;
	}
	snprintf(etag, sizeof etag, "\"%lld\"", (long long)version);
	resp_header(r, "ETag", etag);
	resp_text(r, 200, "application/json", b.data, b.len);
}

/* The read goes with others where the store sends them together. */
void api_get(struct request *r)
{
	struct err e = { 0 };
	struct store_stmt *st = record_get_read(r->store, r->entity, r->id, &r->who, &e);

	if (!st) {
		resp_error(r, &e);
		err_clear(&e);
		return;
	}
	request_read(r, st, get_finish);
}

static void list(struct request *r, const struct list_opts *o)
{
	struct store_conn *c = store_acquire(r->store);
	struct err e = { 0 };
	struct buf b;
	int rc;

	if (!c) {
		resp_errorf(r, E_UNAVAILABLE, NULL);
		return;
	}
	buf_init(&b, LIMIT_RESPONSE_BYTES);
	rc = record_list_text(r->store, c, r->entity, r->params, r->nparams, o, &b, &e);
	store_release(c);
	if (rc != 0) {
		buf_free(&b);
		resp_error(r, &e);
		err_clear(&e);
		return;
	}
	resp_text(r, 200, "application/json", b.data, b.len);
}

void api_list(struct request *r)
{
	struct list_opts o = { .who = &r->who };

	/* the audit trail is asked for by ?entity=...&id=... */
	if (r->entity == &audit_entity)
		for (size_t i = 0; i < r->nparams; i++)
			if (strcmp(r->params[i].key, "id") == 0)
				r->params[i].key = "record_id";
	list(r, &o);
}

/* 1 if who may read the record the path names; else answers and returns 0. */
static int readable(struct request *r, const struct entity *ent)
{
	struct store_conn *c = store_acquire(r->store);
	struct err e = { 0 };
	json_t *rec;

	if (!c) {
		resp_errorf(r, E_UNAVAILABLE, NULL);
		return 0;
	}
	rec = record_get(c, ent, r->id, &r->who, &e);
	store_release(c);
	if (!rec) {
		resp_error(r, &e);
		err_clear(&e);
		return 0;
	}
	json_decref(rec);
	return 1;
}

void api_timeline(struct request *r)
{
	struct list_param forced = { "organization_id", NULL };
	struct list_opts o = { .who = &r->who, .forced = &forced, .nforced = 1,
			       .default_sort = "-occurred_at" };
	char id[24];

	if (!readable(r, &organization_entity))
		return;
	snprintf(id, sizeof id, "%lld", (long long)r->id);
	forced.value = id;
	r->entity = &interaction_entity;
	list(r, &o);
}

/*
 * The audit id of the record's creation: its history starts there. (A
 * store may give a deleted record's id to a new one; the rows of the one
 * before are not this record's history.) -1 with the answer set.
 */
static int64_t born(struct request *r)
{
	struct store_conn *c = store_acquire(r->store);
	struct store_stmt *st = c ? store_prepare(c, "SELECT max(id) FROM audit WHERE entity = ? "
						  "AND record_id = ? AND action = 'create'") : NULL;
	int64_t id = -1;

	if (st) {
		store_bind_text(st, 1, r->entity->name, strlen(r->entity->name));
		store_bind_int(st, 2, r->id);
		if (store_step(st) == STORE_ROW)
			id = store_col_null(st, 0) ? 0 : store_col_int(st, 0);
		store_done(st);
	}
	if (c)
		store_release(c);
	if (id < 0)
		resp_errorf(r, E_UNAVAILABLE, NULL);
	return id;
}

void api_history(struct request *r)
{
	struct list_param forced[2] = { { "entity", r->entity->name }, { "record_id", NULL } };
	struct list_opts o = { .forced = forced, .nforced = 2, .default_sort = "-id" };
	char id[24];

	if (r->entity->read_only) {
		resp_errorf(r, E_NO_ROUTE, "%s have no history", r->entity->collection);
		return;
	}
	if (!readable(r, r->entity) || (o.min_id = born(r)) < 0)
		return;
	snprintf(id, sizeof id, "%lld", (long long)r->id);
	forced[1].value = id;
	r->entity = &audit_entity;
	list(r, &o);	/* whoever reads the record reads its history */
}

/* ---- writes ---- */

struct write_job {
	const struct entity *ent;
	json_t *input;
	int64_t id, version, user_id;
	struct principal who;
	const char *collection;
	char key[LIMIT_IDEMPOTENCY_KEY + 1];	/* Idempotency-Key or "" */
	char hash[65];				/* of method, path and body */
	/* the answer */
	struct err e;
	int status;
	char *body;
	char location[96];
	char etag[32];
};

static void job_free(void *p)
{
	struct write_job *j = p;

	json_decref(j->input);
	err_clear(&j->e);
	free(j->body);
	free(j);
}

static struct write_job *job_new(struct request *r, json_t *input)
{
	struct write_job *j = xcalloc(1, sizeof *j);

	j->ent = r->entity;
	j->input = input;
	j->id = r->id;
	j->user_id = r->who.user_id;
	j->who = r->who;
	return j;
}

/* The stored answer to an earlier POST with this key: 1 found (j filled), 0, -1. */
static int idempotent_replay(struct store_conn *c, struct write_job *j)
{
	struct store_stmt *st = store_prepare(c,
		"SELECT request_hash, status, location, body FROM idempotency "
		"WHERE user_id = ? AND key = ?");
	int rc;

	if (!st)
		return -1;
	store_bind_int(st, 1, j->user_id);
	store_bind_text(st, 2, j->key, strlen(j->key));
	rc = store_step(st);
	if (rc == STORE_ROW) {
		size_t len;
		const char *h = store_col_text(st, 0, &len);

		if (len != 64 || memcmp(h, j->hash, 64) != 0) {
			err_set(&j->e, E_IDEMPOTENCY, "Idempotency-Key %s was used with another request",
				j->key);
		} else {
			const char *loc = store_col_text(st, 2, &len);
			const char *body;

			j->status = (int)store_col_int(st, 1);
			snprintf(j->location, sizeof j->location, "%.*s", (int)len, loc ? loc : "");
			body = store_col_text(st, 3, &len);
			j->body = xstrndup(body, len);
		}
	}
	store_done(st);
	return rc == STORE_ROW ? 1 : rc == STORE_DONE ? 0 : -1;
}

static int idempotent_save(struct store_conn *c, struct write_job *j)
{
	struct store_stmt *st = store_prepare(c,
		"INSERT INTO idempotency (user_id, key, request_hash, status, location, body, "
		"created_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
	char now[TIME_BUF];
	int rc;

	if (!st)
		return STORE_ERROR;
	time_now_rfc3339(now);
	store_bind_int(st, 1, j->user_id);
	store_bind_text(st, 2, j->key, strlen(j->key));
	store_bind_text(st, 3, j->hash, 64);
	store_bind_int(st, 4, j->status);
	store_bind_text(st, 5, j->location, strlen(j->location));
	store_bind_text(st, 6, j->body, strlen(j->body));
	store_bind_text(st, 7, now, strlen(now));
	rc = store_step(st);
	store_done(st);
	return rc == STORE_DONE ? STORE_OK : rc;
}

/* Turns the stored record into the job's answer. */
static void job_answer(struct write_job *j, int status, json_t *rec)
{
	j->status = status;
	j->body = json_dumps(rec, JSON_COMPACT);
	snprintf(j->etag, sizeof j->etag, "\"%lld\"",
		 (long long)json_integer_value(json_object_get(rec, "version")));
	if (status == 201)
		snprintf(j->location, sizeof j->location, "/api/v1/%s/%lld", j->ent->collection,
			 (long long)json_integer_value(json_object_get(rec, "id")));
	json_decref(rec);
}

static int create_job(struct store_conn *c, void *p)
{
	struct write_job *j = p;
	json_t *rec;
	int rc;

	if (j->key[0]) {
		char lock[LIMIT_IDEMPOTENCY_KEY + 48];

		/* the same key on another process waits here for the first answer */
		snprintf(lock, sizeof lock, "idempotency:%lld:%s", (long long)j->user_id, j->key);
		rc = store_lock(c, lock);
		if (rc != STORE_OK)
			return rc;
		rc = idempotent_replay(c, j);
		if (rc != 0)
			return rc < 0 ? STORE_ERROR : STORE_ABORT;
	}
	rc = record_insert(c, j->ent, j->input, &j->who, &rec, &j->e);
	if (rc != STORE_OK)
		return rc;
	job_answer(j, 201, rec);
	if (j->key[0])
		return idempotent_save(c, j);
	return STORE_OK;
}

static int update_job(struct store_conn *c, void *p)
{
	struct write_job *j = p;
	json_t *rec;
	int rc = record_update(c, j->ent, j->id, j->version, j->input, &j->who, &rec, &j->e);

	if (rc == STORE_OK)
		job_answer(j, 200, rec);
	return rc;
}

static int delete_job(struct store_conn *c, void *p)
{
	struct write_job *j = p;
	int rc = record_delete(c, j->ent, j->id, j->version, &j->who, &j->e);

	if (rc == STORE_OK)
		j->status = 204;
	return rc;
}

/*
 * Runs on the writer thread once the batch is durable (or failed). A job
 * that answers without changing anything (an idempotent replay) returns
 * STORE_ABORT with its answer set and no error.
 */
static void finish(struct request *r, int rc)
{
	struct write_job *j = r->job;

	/* a user's role, units, password or state changed: credentials are
	 * looked up afresh (again after the commit: one may have been cached
	 * from the old state meanwhile) */
	if (j->ent == &user_entity || j->ent == &team_entity)
		auth_cache_forget(NULL);
	if ((rc == STORE_OK || rc == STORE_ABORT) && j->e.code == E_OK &&
	    (j->body || j->status == 204)) {
		resp_text(r, j->status, "application/json", j->body, j->body ? strlen(j->body) : 0);
		j->body = NULL;
		if (j->location[0])
			resp_header(r, "Location", j->location);
		if (j->etag[0])
			resp_header(r, "ETag", j->etag);
		return;
	}
	if (j->e.code == E_OK)
		err_set(&j->e, rc == STORE_UNAVAILABLE || rc == STORE_BUSY ? E_UNAVAILABLE :
			E_INTERNAL, NULL);
	resp_error(r, &j->e);
}

static void request_hash(struct request *r, char out[65])
{
	crypto_generichash_state s;
	unsigned char h[32];

	crypto_generichash_init(&s, NULL, 0, sizeof h);
	crypto_generichash_update(&s, (const unsigned char *)r->method, strlen(r->method) + 1);
	crypto_generichash_update(&s, (const unsigned char *)r->path, strlen(r->path) + 1);
	crypto_generichash_update(&s, (const unsigned char *)(r->body.data ? r->body.data : ""),
				  r->body.len);
	crypto_generichash_final(&s, h, sizeof h);
	hex_encode(h, sizeof h, out);
}

static json_t *decode(struct request *r, int patch)
{
	struct err e = { 0 };
	json_t *input = record_decode(r->entity, r->json, patch, &e);

	if (!input) {
		resp_error(r, &e);
		err_clear(&e);
	}
	return input;
}

/*
 * May creating a record of ent run beside other such creates (in concurrent
 * transactions, on an engine with several writers)? Only when it adds rows
 * and reads: a record scoped to business units (not users, teams or custom
 * fields, whose unique names and access tables must be written one at a
 * time), with no hook after the write (an organization may be a business
 * unit, which rebuilds the access tables), and no Idempotency-Key (its job
 * takes a lock of its own).
 */
static unsigned side_by_side(const struct entity *ent, const char *key)
{
	return !key && ent->access == ACCESS_SCOPED && !ent->after ? STORE_JOB_SIDE_BY_SIDE : 0;
}

void api_create(struct request *r)
{
	const char *key = request_header(r, "Idempotency-Key");
	struct write_job *j;
	json_t *input;

	if (!can_write(r, 1) || !(input = decode(r, 0)))
		return;
	j = job_new(r, input);
	if (key) {
		if (!*key || strlen(key) > LIMIT_IDEMPOTENCY_KEY) {
			resp_errorf(r, E_BAD_REQUEST, "Idempotency-Key must be 1 to %d bytes",
				    LIMIT_IDEMPOTENCY_KEY);
			job_free(j);
			return;
		}
		snprintf(j->key, sizeof j->key, "%s", key);
		request_hash(r, j->hash);
	}
	request_write(r, create_job, j, job_free, finish, side_by_side(r->entity, key));
}

/* If-Match is required for changes; returns 0 and sets the answer if not usable. */
static int need_version(struct request *r, int64_t *version)
{
	*version = if_match(r);
	if (*version == 0) {
		resp_errorf(r, E_PRECONDITION_REQUIRED, "send If-Match with the ETag you read");
		return 0;
	}
	if (*version == -2) {
		resp_errorf(r, E_BAD_REQUEST, "If-Match must be an ETag such as \"3\"");
		return 0;
	}
	return 1;
}

void api_update(struct request *r)
{
	struct write_job *j;
	int64_t version;
	json_t *input;

	if (!can_write(r, 0) || !need_version(r, &version) || !(input = decode(r, 1)))
		return;
	j = job_new(r, input);
	j->version = version;
	request_write(r, update_job, j, job_free, finish, 0);
}

void api_delete(struct request *r)
{
	struct write_job *j;
	int64_t version;

	if (!can_write(r, 0) || !need_version(r, &version))
		return;
	j = job_new(r, NULL);
	j->version = version;
	request_write(r, delete_job, j, job_free, finish, 0);
}
