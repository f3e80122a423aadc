/* Every ceiling the server enforces, in one place (STYLE 6). */
#ifndef RAPPORT_LIMITS_H
#define RAPPORT_LIMITS_H

#define LIMIT_BODY_BYTES	(1024 * 1024)	/* request body; larger is 413 */
#define LIMIT_DISCARD_BYTES	(16 * 1024 * 1024) /* past this an oversized body is cut off */
#define LIMIT_JSON_DEPTH	16		/* nesting of arrays/objects in a body */
#define LIMIT_URL_BYTES		4096		/* path plus query string, as sent; larger is 414 */
#define LIMIT_QUERY_PARAMS	32		/* query parameters per request */
#define LIMIT_RESPONSE_BYTES	(64 * 1024 * 1024) /* one page of records */
#define LIMIT_LIST_DEFAULT	50		/* list page size when none is asked */
#define LIMIT_LIST_MAX		200		/* largest page a list returns */
#define LIMIT_CURSOR_BYTES	1024		/* an encoded cursor */
#define LIMIT_Q_BYTES		200		/* a full-text query */
#define LIMIT_Q_TERMS		8		/* words in a full-text query */
#define LIMIT_TAGS		50		/* tags on one record */
#define LIMIT_TAG_BYTES		50		/* one tag */
#define LIMIT_ID_LIST		100		/* ids in one id-list field */
#define LIMIT_STR_LIST		20		/* strings in one string-list field */
#define LIMIT_CUSTOM_FIELDS	100		/* custom fields declared per entity */
#define LIMIT_IDEMPOTENCY_KEY	200		/* bytes of an Idempotency-Key */
#define LIMIT_PASSWORD_BYTES	1024		/* a password */
#define LIMIT_STMT_CACHE	128		/* prepared statements kept per connection */

/* HTTP connections: what a slow, huge or numerous client can hold. */
#define LIMIT_HEADER_BYTES	(8 * 1024)	/* request headers (names, values); larger is 431 */
#define LIMIT_CONNECTION_MEMORY	(16 * 1024)	/* libmicrohttpd's buffer per connection: request
						 * line and headers past it get its own 414/431 */
#define LIMIT_REQUEST_SECONDS	30		/* to receive one whole request; then closed */
#define LIMIT_IDLE_SECONDS	15		/* without any progress; then closed */
#define LIMIT_TIMEOUT_MAX	3600		/* largest --request-timeout and --idle-timeout */
#define LIMIT_CONNECTIONS	4096		/* open connections in all */
#define LIMIT_CONNECTIONS_PER_IP 256		/* from one address (0 turns the limit off) */
#define LIMIT_TLS_PEM_BYTES	(256 * 1024)	/* a --tls-cert or --tls-key file */

#endif
