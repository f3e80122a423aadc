#include "request.h"

#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../store/store.h"

const char *request_header(struct request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *request_cookie(struct request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, name);
}

void resp_text(struct request *r, int status, const char *content_type, char *body, size_t len)
{
	free(r->resp);
	r->status = status;
	r->resp = body;
	r->resp_len = body ? len : 0;
	r->content_type = content_type;
}

void resp_json(struct request *r, int status, json_t *body)
{
	char *s = NULL;

	if (body) {
		s = json_dumps(body, JSON_COMPACT);
		json_decref(body);
	}
	resp_text(r, status, "application/json", s, s ? strlen(s) : 0);
}

void resp_error(struct request *r, const struct err *e)
{
	resp_json(r, err_status(e->code), err_json(e));
}

void resp_errorf(struct request *r, enum err_code code, const char *fmt, ...)
{
	struct err e = { 0 };
	va_list ap;

	e.code = code;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(e.message, sizeof e.message, fmt, ap);
		va_end(ap);
	}
	resp_error(r, &e);
}

void resp_header(struct request *r, const char *name, const char *value)
{
	if (r->nhdr == REQ_MAX_HEADERS)
		abort();	/* handlers set a handful; more is a programming error */
	r->hdr_name[r->nhdr] = xstrdup(name);
	r->hdr_value[r->nhdr] = xstrdup(value);
	r->nhdr++;
}

/* Suspends r's connection until resume(r), which the store's thread calls. */
static void suspend(struct request *r)
{
	r->state = REQ_WAITING;
	r->suspended = 1;
	atomic_fetch_add(r->suspended_count, 1);
	MHD_suspend_connection(r->conn);
}

static void resume(struct request *r)
{
	atomic_int *count = r->suspended_count;

	r->state = REQ_READY;
	MHD_resume_connection(r->conn);
	/* r may be gone from here on */
	atomic_fetch_sub(count, 1);
}

static int write_trampoline(struct store_conn *c, void *arg)
{
	struct request *r = arg;

	return r->job_fn(c, r->job);
}

static void write_done(void *arg, int rc)
{
	struct request *r = arg;

	r->finish(r, rc);
	resume(r);
}

void request_write(struct request *r, int (*fn)(struct store_conn *c, void *job),
		   void *job, void (*job_free)(void *job),
		   void (*finish)(struct request *r, int rc), unsigned flags)
{
	r->job = job;
	r->job_free = job_free;
	r->job_fn = fn;
	r->finish = finish;
	/* Suspend before queueing, so that the writer can never resume first. */
	suspend(r);
	store_write_async_flags(r->store, write_trampoline, r, flags, write_done);
}

static void read_done(void *arg, struct store_stmt *rows, int rc)
{
	struct request *r = arg;

	r->read_finish(r, rows, rc);
	if (r->suspended)
		resume(r);
}

void request_read(struct request *r, struct store_stmt *st,
		  void (*finish)(struct request *r, struct store_stmt *rows, int rc))
{
	r->read_finish = finish;
	/* Suspend before queueing, so that the reader can never resume first. */
	if (store_defers_reads(r->store))
		suspend(r);
	store_read_async(st, read_done, r);
}

int resp_write_failed(struct request *r, int rc, struct err *e)
{
	if (rc == STORE_OK)
		return 0;
	if (e->code == E_OK)
		err_set(e, E_UNAVAILABLE, NULL);
	resp_error(r, e);
	return 1;
}
