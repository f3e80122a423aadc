/*
 * The one error model. Every failure a client can cause has a code here; the
 * table in err.c maps it to the HTTP status and the stable string clients see.
 * A struct err travels down the call chain; the first failure fills it and
 * the callers only pass it back up.
 */
#ifndef RAPPORT_ERR_H
#define RAPPORT_ERR_H

#include <jansson.h>

enum err_code {
	E_OK = 0,
	E_BAD_REQUEST,		/* 400 generic */
	E_INVALID_JSON,		/* 400 body is not JSON */
	E_INVALID_UTF8,		/* 400 */
	E_TOO_DEEP,		/* 400 nesting over the limit */
	E_VALIDATION,		/* 400 one or more fields are wrong; see fields */
	E_BAD_CURSOR,		/* 400 */
	E_BAD_PARAM,		/* 400 query parameter wrong */
	E_UNAUTHORIZED,		/* 401 */
	E_FORBIDDEN,		/* 403 */
	E_NOT_FOUND,		/* 404 */
	E_NO_ROUTE,		/* 404 */
	E_METHOD,		/* 405 */
	E_CONFLICT,		/* 409 */
	E_STALE,		/* 412 If-Match does not match */
	E_TOO_LARGE,		/* 413 */
	E_URI_TOO_LONG,		/* 414 path plus query over LIMIT_URL_BYTES */
	E_MEDIA_TYPE,		/* 415 */
	E_INVALID_REFERENCE,	/* 422 a referenced record does not exist */
	E_IDEMPOTENCY,		/* 422 key reused with another body */
	E_PRECONDITION_REQUIRED,/* 428 If-Match missing */
	E_RATE_LIMITED,		/* 429 */
	E_HEADERS_TOO_LARGE,	/* 431 headers over LIMIT_HEADER_BYTES */
	E_INTERNAL,		/* 500 */
	E_UNAVAILABLE,		/* 503 store cannot be reached */
	E__COUNT
};

struct err {
	enum err_code code;
	char message[256];
	json_t *fields;		/* owned: {"field": "what is wrong"} or NULL */
};

/* Sets code and message (printf-style); keeps the first error if one is set. */
void err_set(struct err *e, enum err_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Adds a per-field message and makes the error E_VALIDATION if none is set. */
void err_field(struct err *e, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Forces code (used when a field error belongs to another code, e.g. 422). */
void err_field_code(struct err *e, enum err_code code, const char *field,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void err_clear(struct err *e);
int err_status(enum err_code code);
const char *err_name(enum err_code code);
/* {"error": {"code", "message", "fields"?}}; new reference. */
json_t *err_json(const struct err *e);

#endif
