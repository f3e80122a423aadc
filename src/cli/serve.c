#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../http/server.h"
#include "../lib/log.h"
#include "../lib/util.h"
#include "../store/store.h"
#include "cli.h"

/* HOST:PORT or [V6]:PORT into host (owned by caller's buffer) and port. */
static int parse_listen(const char *s, char *host, size_t n, int *port)
{
	const char *colon;
	int64_t p;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end || end[1] != ':' || (size_t)(end - s - 1) >= n)
			return -1;
		snprintf(host, n, "%.*s", (int)(end - s - 1), s + 1);
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= n || colon == s)
			return -1;
		snprintf(host, n, "%.*s", (int)(colon - s), s);
	}
	if (parse_i64(colon + 1, strlen(colon + 1), 1, 65535, &p))
		return -1;
	*port = (int)p;
	return 0;
}

int cli_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "listen", required_argument, NULL, 'l' },
		{ "threads", required_argument, NULL, 't' },
		{ 0 },
	};
	const char *db = CLI_DEFAULT_DB, *listen = "127.0.0.1:8080";
	struct http_config cfg = { 0 };
	struct http_server *srv;
	struct store *s;
	char host[128], why[256], shown[512];
	sigset_t set;
	int c, sig;
	int64_t threads = 0;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			db = optarg;
			break;
		case 'l':
			listen = optarg;
			break;
		case 't':
			if (parse_i64(optarg, strlen(optarg), 1, 64, &threads))
				return cli_usage_error("serve", "--threads takes 1 to 64");
			break;
		default:
			return cli_usage_error("serve", "unknown or incomplete option %s",
					       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("serve", "unexpected argument %s", argv[optind]);
	if (parse_listen(listen, host, sizeof host, &cfg.port))
		return cli_usage_error("serve", "--listen takes HOST:PORT, not %s", listen);

	/* Every thread inherits this mask; only sigwait below sees the signals. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (!(s = cli_open_store("serve", db)))
		return EXIT_NOINPUT;
	cfg.host = host;
	cfg.store = s;
	cfg.threads = (int)threads;
	if (http_start(&cfg, &srv, why, sizeof why) != 0) {
		fprintf(stderr, "rapport serve: %s\n", why);
		store_close(s);
		return EXIT_SOFTWARE;
	}
	cli_redact(db, shown, sizeof shown);
	log_msg(LOG_INFO, "rapport serving %s on http://%s%s%s:%d/", shown,
		strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", cfg.port);
	sigwait(&set, &sig);
	log_msg(LOG_INFO, "%s: finishing requests in flight", sig == SIGINT ? "SIGINT" : "SIGTERM");
	http_stop(srv);
	store_close(s);
	log_msg(LOG_INFO, "stopped");
	return 0;
}
