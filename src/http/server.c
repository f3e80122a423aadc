/*
 * libmicrohttpd glue. The access handler is called several times per
 * request: the first call only creates the request context (answering then
 * would make libmicrohttpd close the connection), further calls deliver the
 * body, and the last one dispatches. A write suspends the connection; the
 * store writer resumes it, and the next call queues the answer. So does a
 * read handed to a store that sends reads later (request_read).
 *
 * Every answer leaves through queue(), which adds the security headers.
 *
 * Slow clients. libmicrohttpd's connection timeout only measures inactivity,
 * so a client sending a byte every few seconds would hold a connection for
 * ever. Each connection therefore carries a deadline: armed when it is ready
 * for a request (accepted, or the previous answer sent), cleared when the
 * whole request has arrived (the server's turn: routing, the store writer,
 * sending the answer). A reaper thread shuts down the socket of every
 * connection past its deadline; libmicrohttpd then sees the connection end
 * and cleans up as for any client that hangs up. The connection list is
 * guarded by a mutex that the close notification also takes, and
 * libmicrohttpd closes the descriptor only after that notification, so the
 * reaper never touches a descriptor that has been reused.
 */
#include "server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <sodium.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../lib/log.h"
#include "../store/store.h"
#include "request.h"
#include "router.h"

/* How often the reaper looks for connections past their deadline. */
#define REAPER_TICK_MS 200

/* One TCP connection, as the reaper sees it (libmicrohttpd's socket context). */
struct conn_track {
	struct conn_track *prev, *next;
	MHD_socket fd;
	_Atomic int64_t deadline_us;	/* 0 while it is the server's turn */
	size_t uri_bytes;		/* request target of the request being received */
	char addr[INET6_ADDRSTRLEN];
};

struct http_server {
	struct MHD_Daemon *daemon;
	struct store *store;
	atomic_int inflight;
	atomic_int suspended;	/* requests waiting on the store (request.h) */
	atomic_int stopping;	/* new requests are turned away */
	int tls;
	int64_t request_us;	/* to receive one request */

	pthread_mutex_t lock;	/* guards conns and reaper_stop */
	pthread_cond_t wake;
	struct conn_track *conns;
	int reaper_stop;
	pthread_t reaper;

	atomic_int starting;	/* MHD messages are kept for why */
	atomic_int start_error_set;
	char start_error[256];
};

/*
 * Sent with every answer. No inline script or style and no framing: the
 * API's JSON, the OpenAPI document and any page served later all fall under
 * it. no-referrer: URLs carry record ids and search words, which other
 * sites have no need to see.
 */
static const struct {
	const char *name, *value;
} security_headers[] = {
	{ "Content-Security-Policy",
	  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
	  "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'" },
	{ "X-Content-Type-Options", "nosniff" },
	{ "X-Frame-Options", "DENY" },
	{ "Referrer-Policy", "no-referrer" },
};
/* Only over HTTPS (RFC 6797 8.1: ignored, and misleading, over HTTP). */
#define HSTS "max-age=31536000"

static struct conn_track *track_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

/* The connection is ready for a request: the client has request_us for it. */
static void arm_deadline(struct http_server *srv, struct MHD_Connection *conn)
{
	struct conn_track *t = track_of(conn);

	if (t)
		atomic_store(&t->deadline_us, time_mono_us() + srv->request_us);
}

/* The request is in: from here on the time is the server's. */
static void clear_deadline(struct MHD_Connection *conn)
{
	struct conn_track *t = track_of(conn);

	if (t)
		atomic_store(&t->deadline_us, 0);
}

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

static int handler_set(const struct request *r, const char *name)
{
	for (int i = 0; i < r->nhdr; i++)
		if (strcasecmp(r->hdr_name[i], name) == 0)
			return 1;
	return 0;
}

static enum MHD_Result queue(struct http_server *srv, struct request *r)
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
	for (size_t i = 0; i < sizeof security_headers / sizeof security_headers[0]; i++)
		MHD_add_response_header(resp, security_headers[i].name, security_headers[i].value);
	/* Records are personal data: no browser or proxy keeps a copy. */
	if (!handler_set(r, MHD_HTTP_HEADER_CACHE_CONTROL))
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (srv->tls)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_STRICT_TRANSPORT_SECURITY, HSTS);
	clear_deadline(r->conn);
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

static enum MHD_Result add_header_bytes(void *cls, enum MHD_ValueKind kind, const char *key,
					size_t key_size, const char *value, size_t value_size)
{
	size_t *total = cls;

	(void)kind, (void)key, (void)value;
	*total += key_size + value_size + 4;	/* ": " and CRLF */
	return MHD_YES;
}

/* The request headers as sent, about: names, values and separators. */
static size_t header_bytes(struct MHD_Connection *conn)
{
	size_t total = 0;

	MHD_get_connection_values_n(conn, MHD_HEADER_KIND, add_header_bytes, &total);
	return total;
}

/* Called with the request target before libmicrohttpd parses it. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct conn_track *t = track_of(conn);

	(void)cls;
	if (t)
		t->uri_bytes = strnlen(uri, LIMIT_URL_BYTES + 1);
	return NULL;
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
		struct conn_track *t;
		int64_t n = 0;

		r = xcalloc(1, sizeof *r);
		r->conn = conn;
		r->store = srv->store;
		r->suspended_count = &srv->suspended;
		r->method = method;
		r->path = xstrndup(url, strnlen(url, LIMIT_URL_BYTES + 1));
		r->start_us = time_mono_us();
		r->status = 500;
		buf_init(&r->body, LIMIT_BODY_BYTES);
		if (cl && (parse_i64(cl, strlen(cl), 0, INT64_MAX, &n) || n > LIMIT_BODY_BYTES))
			r->body_too_large = 1;
		atomic_fetch_add(&srv->inflight, 1);
		*con_cls = r;
		t = track_of(conn);
		if (t && t->uri_bytes > LIMIT_URL_BYTES) {
			resp_errorf(r, E_URI_TOO_LONG, "the URL is longer than %d bytes",
				    LIMIT_URL_BYTES);
			return queue(srv, r);
		}
		if (header_bytes(conn) > LIMIT_HEADER_BYTES) {
			resp_errorf(r, E_HEADERS_TOO_LARGE,
				    "the request headers are larger than %d bytes",
				    LIMIT_HEADER_BYTES);
			return queue(srv, r);
		}
		if (r->body_too_large && (n > LIMIT_DISCARD_BYTES || expects_continue(conn))) {
			/* Refuse before the body is sent (or rather than read it all). */
			resp_errorf(r, E_TOO_LARGE, "the body is larger than %d bytes",
				    LIMIT_BODY_BYTES);
			return queue(srv, r);
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
			return queue(srv, r);
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
		clear_deadline(conn);
		router_dispatch(r);
		/* Not r->state: the writer may already be changing it. */
		if (r->suspended)
			return MHD_YES;
	}
	return queue(srv, r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	struct request *r = *con_cls;
	char line[600], path[256];
	int n;

	/* Kept alive, the connection now waits for its next request. */
	arm_deadline(srv, conn);
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

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct http_server *srv = cls;
	struct conn_track *t = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *fd =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		const union MHD_ConnectionInfo *ca =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

		if (!fd)
			return;	/* then no deadline: the idle timeout still applies */
		t = xcalloc(1, sizeof *t);
		t->fd = fd->connect_fd;
		atomic_init(&t->deadline_us, time_mono_us() + srv->request_us);
		if (ca && ca->client_addr->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)ca->client_addr)->sin_addr,
				  t->addr, sizeof t->addr);
		else if (ca && ca->client_addr->sa_family == AF_INET6)
			inet_ntop(AF_INET6,
				  &((const struct sockaddr_in6 *)ca->client_addr)->sin6_addr,
				  t->addr, sizeof t->addr);
		pthread_mutex_lock(&srv->lock);
		t->next = srv->conns;
		if (srv->conns)
			srv->conns->prev = t;
		srv->conns = t;
		pthread_mutex_unlock(&srv->lock);
		*socket_context = t;
		return;
	}
	if (!t)
		return;
	pthread_mutex_lock(&srv->lock);
	if (t->prev)
		t->prev->next = t->next;
	else
		srv->conns = t->next;
	if (t->next)
		t->next->prev = t->prev;
	pthread_mutex_unlock(&srv->lock);
	free(t);
	*socket_context = NULL;
}

/* Shuts down the connections whose clients are past their deadline. */
static void *reaper(void *arg)
{
	struct http_server *srv = arg;
	struct timespec at;

	pthread_mutex_lock(&srv->lock);
	while (!srv->reaper_stop) {
		int64_t now = time_mono_us();

		for (struct conn_track *t = srv->conns; t; t = t->next) {
			int64_t d = atomic_load(&t->deadline_us);

			/* The exchange fails if the request has just come in. */
			if (!d || now < d ||
			    !atomic_compare_exchange_strong(&t->deadline_us, &d, 0))
				continue;
			shutdown(t->fd, SHUT_RDWR);
			log_msg(LOG_WARN,
				"http: closed a connection from %s: no whole request within %lld s",
				t->addr[0] ? t->addr : "?", (long long)(srv->request_us / 1000000));
		}
		clock_gettime(CLOCK_MONOTONIC, &at);
		at.tv_nsec += REAPER_TICK_MS * 1000000L;
		if (at.tv_nsec >= 1000000000L) {
			at.tv_sec++;
			at.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&srv->wake, &srv->lock, &at);
	}
	pthread_mutex_unlock(&srv->lock);
	return NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct http_server *srv = cls;
	char msg[512];
	int unset = 0;

	vsnprintf(msg, sizeof msg, fmt, ap);
	msg[strcspn(msg, "\n")] = 0;
	/* The first complaint while starting is the reason start failed. */
	if (atomic_load(&srv->starting) &&
	    atomic_compare_exchange_strong(&srv->start_error_set, &unset, 1))
		snprintf(srv->start_error, sizeof srv->start_error, "%.255s", msg);
	log_msg(LOG_WARN, "http: %s", msg);
}

static void server_free(struct http_server *srv)
{
	pthread_cond_destroy(&srv->wake);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
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
			   (unsigned)((cores > 0 ? cores : 2) + cfg->extra_threads);
	int tls = cfg->tls_cert_pem && cfg->tls_key_pem;
	/* Empty unless TLS: MHD_OPTION_ARRAY with only the end marker adds nothing. */
	struct MHD_OptionItem tls_opts[] = {
		{ tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, (void *)cfg->tls_cert_pem },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)cfg->tls_key_pem },
		{ MHD_OPTION_HTTPS_PRIORITIES, 0,
		  (void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2" },
		{ MHD_OPTION_END, 0, NULL },
	};
	pthread_condattr_t ca;

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
		return HTTP_START_LISTEN;
	}
	if (tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
		snprintf(why, n, "this libmicrohttpd was built without TLS");
		return HTTP_START_TLS;
	}
	if (tls)
		flags |= MHD_USE_TLS;
	srv = xcalloc(1, sizeof *srv);
	srv->store = cfg->store;
	srv->tls = tls;
	srv->request_us = (int64_t)(cfg->request_timeout > 0 ? cfg->request_timeout :
				    LIMIT_REQUEST_SECONDS) * 1000000;
	pthread_mutex_init(&srv->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&srv->wake, &ca);
	pthread_condattr_destroy(&ca);
	atomic_store(&srv->starting, 1);
	srv->daemon = MHD_start_daemon(
		flags, (uint16_t)cfg->port, NULL, NULL, on_access, srv,
		MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv,
		MHD_OPTION_SOCK_ADDR, sa,
		MHD_OPTION_THREAD_POOL_SIZE, threads,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)LIMIT_CONNECTIONS,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		(unsigned)(cfg->max_per_ip > 0 ? cfg->max_per_ip : 0),
		MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)(cfg->idle_timeout > 0 ? cfg->idle_timeout : LIMIT_IDLE_SECONDS),
		MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)LIMIT_CONNECTION_MEMORY,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
		MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv,
		MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
		MHD_OPTION_ARRAY, tls_opts,
		MHD_OPTION_END);
	atomic_store(&srv->starting, 0);
	if (!srv->daemon) {
		/* libmicrohttpd names a failed bind; anything else with TLS on is TLS. */
		if (tls && !strcasestr(srv->start_error, "bind") &&
		    !strcasestr(srv->start_error, "listen")) {
			snprintf(why, n, "%s", srv->start_error[0] ? srv->start_error :
						 "libmicrohttpd refused them without a reason");
			server_free(srv);
			return HTTP_START_TLS;
		}
		snprintf(why, n, "cannot listen on %s:%d (address in use or not permitted)",
			 cfg->host, cfg->port);
		server_free(srv);
		return HTTP_START_LISTEN;
	}
	if (pthread_create(&srv->reaper, NULL, reaper, srv) != 0) {
		snprintf(why, n, "cannot start a thread");
		MHD_stop_daemon(srv->daemon);
		server_free(srv);
		return HTTP_START_LISTEN;
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
	/*
	 * A request suspended on the store must be resumed before the daemon
	 * stops: the store's thread would touch it after. The store bounds
	 * every wait (statement_timeout, the probe of a silent server), so
	 * this ends; slow clients, the other requests in flight, do not count.
	 */
	while (atomic_load(&srv->suspended) > 0)
		usleep(10000);
	MHD_stop_daemon(srv->daemon);
	/* After the daemon: it closed every connection, so the list is empty. */
	pthread_mutex_lock(&srv->lock);
	srv->reaper_stop = 1;
	pthread_cond_signal(&srv->wake);
	pthread_mutex_unlock(&srv->lock);
	pthread_join(srv->reaper, NULL);
	log_flush();
	server_free(srv);
}

int http_request_tls(const struct request *r)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_DAEMON);
	const union MHD_DaemonInfo *di =
		ci ? MHD_get_daemon_info(ci->daemon, MHD_DAEMON_INFO_FLAGS) : NULL;

	return di && (di->flags & MHD_USE_TLS) != 0;
}
