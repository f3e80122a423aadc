/*
 * libmicrohttpd glue. The access handler is called several times per
 * request: the first call only creates the request context (answering then
 * would make libmicrohttpd close the connection), further calls deliver the
 * body, and the last one dispatches. A write suspends the connection; the
 * store writer resumes it, and the next call queues the answer.
 */
#include "server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <sodium.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../lib/log.h"
#include "../store/store.h"
#include "request.h"
#include "router.h"

struct http_server {
	struct MHD_Daemon *daemon;
	struct store *store;
	atomic_int inflight;
	atomic_int stopping;	/* new requests are turned away */
};

static void request_free(struct request *r)
{
	if (r->job_free)
		r->job_free(r->job);
	json_decref(r->json);
	buf_free(&r->body);
	free(r->path);
	free(r->resp);
	for (int i = 0; i < r->nhdr; i++) {
		free(r->hdr_name[i]);
		free(r->hdr_value[i]);
	}
	free(r);
}

/* The ETag a handler set, or (for other successful reads) one from the body. */
static const char *read_etag(struct request *r, char buf[40])
{
	unsigned char h[16];

	for (int i = 0; i < r->nhdr; i++)
		if (strcmp(r->hdr_name[i], "ETag") == 0)
			return r->hdr_value[i];
	crypto_generichash(h, sizeof h, (const unsigned char *)(r->resp ? r->resp : ""),
			   r->resp_len, NULL, 0);
	buf[0] = 'W';
	buf[1] = '/';
	buf[2] = '"';
	hex_encode(h, 8, buf + 3);
	strcpy(buf + 19, "\"");
	resp_header(r, "ETag", buf);
	return buf;
}

static enum MHD_Result queue(struct request *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (r->status == 200 && strcmp(r->method, "GET") == 0) {
		char buf[40];
		const char *etag = read_etag(r, buf);
		const char *inm = request_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH);

		if (inm && (strcmp(inm, etag) == 0 || strcmp(inm, "*") == 0))
			resp_text(r, 304, NULL, NULL, 0);
	}

	resp = MHD_create_response_from_buffer(r->resp_len, r->resp, MHD_RESPMEM_MUST_FREE);
	if (!resp)
		return MHD_NO;
	r->resp = NULL;
	if (r->resp_len && r->content_type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
	for (int i = 0; i < r->nhdr; i++)
		MHD_add_response_header(resp, r->hdr_name[i], r->hdr_value[i]);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	ret = MHD_queue_response(r->conn, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

static int expects_continue(struct MHD_Connection *conn)
{
	const char *e = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);

	return e && strcasecmp(e, "100-continue") == 0;
}

/*
 * Decodes %XX in place, as libmicrohttpd would, except %00: a NUL would cut
 * the path or a parameter short behind our back, so it stays as written.
 */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	char *w = s;

	(void)cls, (void)conn;
	for (const char *p = s; *p; p++) {
		int hi, lo;

		if (p[0] == '%' && (hi = hexval(p[1])) >= 0 && (lo = hexval(p[2])) >= 0 &&
		    (hi || lo)) {
			*w++ = (char)(hi * 16 + lo);
			p += 2;
		} else {
			*w++ = *p;
		}
	}
	*w = 0;
	return (size_t)(w - s);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version,
				 const char *upload_data, size_t *upload_data_size,
				 void **con_cls)
{
	struct http_server *srv = cls;
	struct request *r = *con_cls;

	(void)version;
	if (!r) {
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		int64_t n = 0;

		r = xcalloc(1, sizeof *r);
		r->conn = conn;
		r->store = srv->store;
		r->method = method;
		r->path = xstrndup(url, strnlen(url, LIMIT_URL_BYTES + 1));
		r->start_us = time_mono_us();
		r->status = 500;
		buf_init(&r->body, LIMIT_BODY_BYTES);
		if (cl && (parse_i64(cl, strlen(cl), 0, INT64_MAX, &n) || n > LIMIT_BODY_BYTES))
			r->body_too_large = 1;
		atomic_fetch_add(&srv->inflight, 1);
		*con_cls = r;
		if (r->body_too_large && (n > LIMIT_DISCARD_BYTES || expects_continue(conn))) {
			/* Refuse before the body is sent (or rather than read it all). */
			resp_errorf(r, E_TOO_LARGE, "the body is larger than %d bytes",
				    LIMIT_BODY_BYTES);
			return queue(r);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		/* Past the limit the body is read and dropped, so that the client,
		 * still sending, sees the 413 instead of a reset connection. */
		if (!r->body_too_large &&
		    buf_append(&r->body, upload_data, *upload_data_size) != 0) {
			r->body_too_large = 1;
			buf_free(&r->body);
		}
		r->discarded += *upload_data_size;
		*upload_data_size = 0;
		if (r->discarded > LIMIT_DISCARD_BYTES) {
			resp_errorf(r, E_TOO_LARGE, "the body is larger than %d bytes",
				    LIMIT_BODY_BYTES);
			return queue(r);
		}
		return MHD_YES;
	}
	if (r->state == REQ_NEW && atomic_load(&srv->stopping)) {
		/* Shutting down: nothing may wait on the writer any more. */
		resp_errorf(r, E_UNAVAILABLE, "the server is shutting down");
		resp_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
		r->state = REQ_READY;
	}
	if (r->state == REQ_NEW) {
		router_dispatch(r);
		/* Not r->state: the writer may already be changing it. */
		if (r->suspended)
			return MHD_YES;
	}
	return queue(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	struct request *r = *con_cls;
	char line[600], path[256];
	int n;

	(void)conn;
	if (!r)
		return;
	log_escape(r->path, path, sizeof path);
	n = snprintf(line, sizeof line, "%s %s %d %lldus%s\n", r->method, path,
		     toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? r->status : 499,
		     (long long)(time_mono_us() - r->start_us),
		     toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted");
	if (n > 0)
		log_line(line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
	request_free(r);
	*con_cls = NULL;
	atomic_fetch_sub(&srv->inflight, 1);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof msg, fmt, ap);
	msg[strcspn(msg, "\n")] = 0;
	log_msg(LOG_WARN, "http: %s", msg);
}

int http_start(const struct http_config *cfg, struct http_server **out, char *why, size_t n)
{
	struct http_server *srv;
	struct sockaddr_in6 a6;
	struct sockaddr_in a4;
	struct sockaddr *sa;
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC |
			 MHD_USE_ERROR_LOG | MHD_USE_TURBO;
	const char *host = strcmp(cfg->host, "localhost") == 0 ? "127.0.0.1" : cfg->host;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned threads = cfg->threads > 0 ? (unsigned)cfg->threads :
			   (unsigned)(cores > 0 ? cores : 2);

	memset(&a4, 0, sizeof a4);
	memset(&a6, 0, sizeof a6);
	if (inet_pton(AF_INET, host, &a4.sin_addr) == 1) {
		a4.sin_family = AF_INET;
		a4.sin_port = htons((uint16_t)cfg->port);
		sa = (struct sockaddr *)&a4;
	} else if (inet_pton(AF_INET6, host, &a6.sin6_addr) == 1) {
		a6.sin6_family = AF_INET6;
		a6.sin6_port = htons((uint16_t)cfg->port);
		sa = (struct sockaddr *)&a6;
		flags |= MHD_USE_IPv6;
	} else {
		snprintf(why, n, "%s is not a numeric IPv4 or IPv6 address", cfg->host);
		return -1;
	}
	srv = xcalloc(1, sizeof *srv);
	srv->store = cfg->store;
	srv->daemon = MHD_start_daemon(flags, (uint16_t)cfg->port, NULL, NULL, on_access, srv,
				       MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
				       MHD_OPTION_SOCK_ADDR, sa,
				       MHD_OPTION_THREAD_POOL_SIZE, threads,
				       MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096,
				       MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
				       MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
				       MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384,
				       MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
				       MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
				       MHD_OPTION_END);
	if (!srv->daemon) {
		snprintf(why, n, "cannot listen on %s:%d (address in use or not permitted)",
			 cfg->host, cfg->port);
		free(srv);
		return -1;
	}
	*out = srv;
	return 0;
}

void http_stop(struct http_server *srv)
{
	MHD_socket fd = MHD_quiesce_daemon(srv->daemon);

	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	/*
	 * Let requests in flight, including suspended writes, finish. A request
	 * that starts from now on (on a kept-alive connection) is answered 503
	 * at once, so none can be suspended when the daemon stops.
	 */
	atomic_store(&srv->stopping, 1);
	for (int i = 0; i < 1000 && atomic_load(&srv->inflight) > 0; i++)
		usleep(10000);
	MHD_stop_daemon(srv->daemon);
	log_flush();
	free(srv);
}
