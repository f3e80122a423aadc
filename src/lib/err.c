#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
	int status;
	const char *name;
	const char *message;
} err_table[E__COUNT] = {
	[E_OK] = { 200, "ok", "ok" },
	[E_BAD_REQUEST] = { 400, "bad_request", "the request is not valid" },
	[E_INVALID_JSON] = { 400, "invalid_json", "the body is not valid JSON" },
	[E_INVALID_UTF8] = { 400, "invalid_utf8", "the body is not valid UTF-8" },
	[E_TOO_DEEP] = { 400, "too_deep", "the body is nested too deeply" },
	[E_VALIDATION] = { 400, "validation_failed", "some fields are not valid" },
	[E_BAD_CURSOR] = { 400, "invalid_cursor", "the cursor is not valid" },
	[E_BAD_PARAM] = { 400, "invalid_parameter", "a query parameter is not valid" },
	[E_UNAUTHORIZED] = { 401, "unauthorized", "valid credentials are required" },
	[E_FORBIDDEN] = { 403, "forbidden", "you may not do this" },
	[E_NOT_FOUND] = { 404, "not_found", "no such record" },
	[E_NO_ROUTE] = { 404, "no_route", "no such path" },
	[E_METHOD] = { 405, "method_not_allowed", "this path does not take that method" },
	[E_CONFLICT] = { 409, "conflict", "the change conflicts with existing records" },
	[E_STALE] = { 412, "stale_version", "the record has changed since you read it" },
	[E_TOO_LARGE] = { 413, "too_large", "the body is larger than 1 MiB" },
	[E_URI_TOO_LONG] = { 414, "uri_too_long", "the URL is longer than 4096 bytes" },
	[E_MEDIA_TYPE] = { 415, "unsupported_media_type", "the body must be application/json" },
	[E_INVALID_REFERENCE] = { 422, "invalid_reference", "a referenced record does not exist" },
	[E_IDEMPOTENCY] = { 422, "idempotency_key_reused", "the Idempotency-Key was used with another request" },
	[E_PRECONDITION_REQUIRED] = { 428, "precondition_required", "If-Match with the record's ETag is required" },
	[E_RATE_LIMITED] = { 429, "rate_limited", "too many requests" },
	[E_HEADERS_TOO_LARGE] = { 431, "headers_too_large", "the request headers are too large" },
	[E_INTERNAL] = { 500, "internal", "internal error" },
	[E_UNAVAILABLE] = { 503, "unavailable", "the store is not available; try again" },
};

int err_status(enum err_code code)
{
	return code > 0 && code < E__COUNT ? err_table[code].status : 500;
}

const char *err_name(enum err_code code)
{
	return code >= 0 && code < E__COUNT ? err_table[code].name : "internal";
}

/* The format attributes let clang's -Wformat-nonliteral see fmt as checked at the callers. */
__attribute__((format(printf, 3, 0)))
static void vset(struct err *e, enum err_code code, const char *fmt, va_list ap)
{
	e->code = code;
	if (fmt)
		vsnprintf(e->message, sizeof e->message, fmt, ap);
	else
		snprintf(e->message, sizeof e->message, "%s", err_table[code].message);
}

void err_set(struct err *e, enum err_code code, const char *fmt, ...)
{
	va_list ap;

	if (e->code != E_OK)
		return;
	va_start(ap, fmt);
	vset(e, code, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 4, 0)))
static void vfield(struct err *e, enum err_code code, const char *field,
		   const char *fmt, va_list ap)
{
	char msg[256];

	vsnprintf(msg, sizeof msg, fmt, ap);
	if (e->code == E_OK || (e->code == E_VALIDATION && code != E_VALIDATION)) {
		e->code = code;
		snprintf(e->message, sizeof e->message, "%.100s: %.150s", field, msg);
	}
	if (!e->fields)
		e->fields = json_object();
	if (!json_object_get(e->fields, field))
		json_object_set_new(e->fields, field, json_string(msg));
}

void err_field(struct err *e, const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfield(e, E_VALIDATION, field, fmt, ap);
	va_end(ap);
}

void err_field_code(struct err *e, enum err_code code, const char *field,
		    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfield(e, code, field, fmt, ap);
	va_end(ap);
}

void err_clear(struct err *e)
{
	json_decref(e->fields);
	memset(e, 0, sizeof *e);
}

json_t *err_json(const struct err *e)
{
	json_t *inner = json_object();

	json_object_set_new(inner, "code", json_string(err_name(e->code)));
	json_object_set_new(inner, "message",
			    json_string(e->message[0] ? e->message : err_table[e->code].message));
	if (e->fields)
		json_object_set(inner, "fields", e->fields);
	return json_pack("{s:o}", "error", inner);
}
