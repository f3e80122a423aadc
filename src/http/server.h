/* The HTTP server: libmicrohttpd with a small pool of threads, epoll,
 * suspend/resume for writes handed to the store writer. */
#ifndef RAPPORT_SERVER_H
#define RAPPORT_SERVER_H

#include <stddef.h>

struct store;
struct http_server;

struct http_config {
	const char *host;	/* numeric IPv4 or IPv6 address */
	int port;
	int threads;		/* worker threads; 0 means one per core */
	struct store *store;
};

/* Starts serving; 0, or -1 with the reason in why. */
int http_start(const struct http_config *cfg, struct http_server **out, char *why, size_t n);
/* Stops accepting, lets requests in flight finish (up to a few seconds), stops. */
void http_stop(struct http_server *srv);

#endif
