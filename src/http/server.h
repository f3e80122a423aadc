/* The HTTP server: libmicrohttpd with a small pool of threads, epoll,
 * suspend/resume for writes handed to the store writer. */
#ifndef RAPPORT_SERVER_H
#define RAPPORT_SERVER_H

#include <stddef.h>

struct store;
struct http_server;
struct request;

struct http_config {
	const char *host;	/* numeric IPv4 or IPv6 address */
	int port;
	int threads;		/* worker threads; 0: one per core plus */
	int extra_threads;	/* these (the store's wish, store_extra_threads) */
	struct store *store;
	/* Seconds to receive one whole request (request line, headers, body),
	 * from the connection being ready for it; 0: LIMIT_REQUEST_SECONDS. */
	int request_timeout;
	int idle_timeout;	/* seconds without progress; 0: LIMIT_IDLE_SECONDS */
	int max_per_ip;		/* open connections from one address; 0: no limit */
	/* PEM text of the certificate (chain) and its private key, both or
	 * neither; with them the server speaks HTTPS only. Read during
	 * http_start only: the caller may wipe them afterwards. */
	const char *tls_cert_pem, *tls_key_pem;
};

/* What http_start returns besides 0. */
enum { HTTP_START_LISTEN = -1, HTTP_START_TLS = -2 };

/*
 * Starts serving; 0, or HTTP_START_LISTEN (cannot bind) or HTTP_START_TLS
 * (the certificate or key is refused) with the reason in why.
 */
int http_start(const struct http_config *cfg, struct http_server **out, char *why, size_t n);
/* Stops accepting, lets requests in flight finish (up to a few seconds), stops. */
void http_stop(struct http_server *srv);

/*
 * Whether r arrived over HTTPS (so that a cookie set in the answer should be
 * Secure). Safe from any thread while r lives.
 */
int http_request_tls(const struct request *r);

#endif
