/*
 * One HTTP request as the handlers see it: method, path, the matched route's
 * entity and id, the parsed body, who is asking, and the response being
 * built. It is created on the first call of the access handler and freed in
 * the completed callback, so handlers allocate through it and never free.
 *
 * A handler either answers at once (resp_*) or hands work to the store
 * writer with request_write(): the connection is suspended, the job runs
 * there, and the connection resumes when the batch holding it is durable.
 * A read can be handed over too (request_read), to be sent with others.
 */
#ifndef RAPPORT_REQUEST_H
#define RAPPORT_REQUEST_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../domain/auth.h"
#include "../domain/record.h"
#include "../lib/err.h"
#include "../lib/limits.h"
#include "../lib/util.h"

struct MHD_Connection;
struct store;
struct store_conn;
struct store_stmt;

enum req_state { REQ_NEW, REQ_WAITING, REQ_READY };

#define REQ_MAX_HEADERS 8

struct request {
	struct MHD_Connection *conn;
	struct store *store;
	const char *method;		/* MHD's string */
	char *path;			/* without the query string */
	int64_t start_us;
	enum req_state state;		/* REQ_READY is set by the writer thread */
	int suspended;			/* went to the writer; only this thread's */
	atomic_int *suspended_count;	/* the server's count of suspended requests */

	/* body */
	struct buf body;
	int body_too_large;
	size_t discarded;		/* bytes received, kept or not */
	json_t *json;			/* parsed body, when the route takes one */

	/* route */
	const struct entity *entity;
	int64_t id;
	struct principal who;
	const char *token;		/* the credentials' token text */
	int by_cookie;			/* it came in the session cookie */

	/* query string, collected once */
	struct list_param params[LIMIT_QUERY_PARAMS + 1];
	size_t nparams;
	int too_many_params;

	/* response */
	int status;
	char *resp;			/* owned, may be NULL for an empty body */
	size_t resp_len;
	const char *content_type;
	char *hdr_name[REQ_MAX_HEADERS], *hdr_value[REQ_MAX_HEADERS];
	int nhdr;

	/* a pending write */
	void *job;
	void (*job_free)(void *job);
	int (*job_fn)(struct store_conn *c, void *job);
	void (*finish)(struct request *r, int rc);

	/* a pending read */
	void (*read_finish)(struct request *r, struct store_stmt *rows, int rc);
};

/* A request header's value, or NULL. */
const char *request_header(struct request *r, const char *name);
/* A cookie's value, or NULL. */
const char *request_cookie(struct request *r, const char *name);

/* Sets the response; body is stolen (may be NULL). */
void resp_json(struct request *r, int status, json_t *body);
void resp_text(struct request *r, int status, const char *content_type, char *body, size_t len);
void resp_error(struct request *r, const struct err *e);
void resp_errorf(struct request *r, enum err_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void resp_header(struct request *r, const char *name, const char *value);
/* For a write's finish: if rc is not STORE_OK, answers with e (503 if the
 * job set no error) and returns 1; else 0. */
int resp_write_failed(struct request *r, int rc, struct err *e);

/*
 * Runs fn(conn, job) in the store writer, suspending the connection until
 * it is durable; then finish(r, rc) builds the response on the writer
 * thread. job is owned by r and freed with job_free when r ends. flags:
 * STORE_JOB_* (store.h), 0 for most jobs.
 */
void request_write(struct request *r, int (*fn)(struct store_conn *c, void *job),
		   void *job, void (*job_free)(void *job),
		   void (*finish)(struct request *r, int rc), unsigned flags);

/*
 * Hands st (from store_read_prepare, its parameters bound) to the store;
 * finish(r, rows, rc) builds the response from its rows. Where the store
 * sends reads later (store_defers_reads), the connection is suspended until
 * then and finish runs on the store's thread; else it runs at once.
 */
void request_read(struct request *r, struct store_stmt *st,
		  void (*finish)(struct request *r, struct store_stmt *rows, int rc));

#endif
