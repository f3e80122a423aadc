#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../domain/auth.h"
#include "../http/server.h"
#include "../lib/limits.h"
#include "../lib/log.h"
#include "../lib/util.h"
#include "../store/store.h"
#include "cli.h"

/* HOST:PORT or [V6]:PORT into host (owned by caller's buffer) and port. */
#define AUTH_OPT 1000	/* getopt values of the sign-in settings */

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

/*
 * Reads a PEM file named by option (--tls-cert or --tls-key) into *out (NUL
 * terminated, owned by the caller). 0, or the exit status after printing
 * why: 66 if the file cannot be read, 65 if it holds no PEM block whose
 * BEGIN line ends in marker. libmicrohttpd parses the rest.
 */
static int read_pem(const char *option, const char *path, const char *marker, const char *what,
		    char **out)
{
	FILE *f = fopen(path, "rb");
	char *text;
	size_t len;
	int rc = EXIT_DATAERR;

	if (!f) {
		fprintf(stderr, "rapport serve: cannot read %s %s: %s\n", option, path,
			strerror(errno));
		return EXIT_NOINPUT;
	}
	text = xcalloc(1, LIMIT_TLS_PEM_BYTES + 2);
	len = fread(text, 1, LIMIT_TLS_PEM_BYTES + 1, f);
	if (ferror(f)) {
		fprintf(stderr, "rapport serve: cannot read %s %s: %s\n", option, path,
			strerror(errno ? errno : EIO));
		rc = EXIT_NOINPUT;
	} else if (len > LIMIT_TLS_PEM_BYTES) {
		fprintf(stderr, "rapport serve: %s %s is larger than %d bytes\n", option, path,
			LIMIT_TLS_PEM_BYTES);
	} else if (memchr(text, 0, len) || !strstr(text, "-----BEGIN ") || !strstr(text, marker)) {
		fprintf(stderr, "rapport serve: %s %s holds no %s (-----BEGIN ...%s)\n", option,
			path, what, marker);
	} else {
		*out = text;
		text = NULL;
		rc = 0;
	}
	fclose(f);
	if (text) {
		sodium_memzero(text, LIMIT_TLS_PEM_BYTES + 2);
		free(text);
	}
	return rc;
}

static void free_pem(char *text)
{
	if (text) {
		sodium_memzero(text, strlen(text));
		free(text);
	}
}

/* An option's whole-seconds value within 1..LIMIT_TIMEOUT_MAX. */
static int parse_seconds(const char *s, int *out)
{
	int64_t v;

	if (parse_i64(s, strlen(s), 1, LIMIT_TIMEOUT_MAX, &v))
		return -1;
	*out = (int)v;
	return 0;
}

int cli_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "listen", required_argument, NULL, 'l' },
		{ "threads", required_argument, NULL, 't' },
		{ "request-timeout", required_argument, NULL, 'r' },
		{ "idle-timeout", required_argument, NULL, 'i' },
		{ "max-connections-per-ip", required_argument, NULL, 'm' },
		{ "tls-cert", required_argument, NULL, 'c' },
		{ "tls-key", required_argument, NULL, 'k' },
		{ "session-max-age", required_argument, NULL, AUTH_OPT + 0 },
		{ "session-idle", required_argument, NULL, AUTH_OPT + 1 },
		{ "login-failures", required_argument, NULL, AUTH_OPT + 2 },
		{ "login-window", required_argument, NULL, AUTH_OPT + 3 },
		{ "lockout-after", required_argument, NULL, AUTH_OPT + 4 },
		{ "lockout-seconds", required_argument, NULL, AUTH_OPT + 5 },
		{ "trust-proxy", no_argument, NULL, 'p' },
		{ 0 },
	};
	/* the sign-in settings, in the order of the options above */
	const struct {
		const char *name;
		int *value;
		int64_t max;
	} auth_opts[] = {
		{ "--session-max-age", &auth_limits.session_max_age, 366 * 86400 },
		{ "--session-idle", &auth_limits.session_idle, 366 * 86400 },
		{ "--login-failures", &auth_limits.login_failures, 1000000 },
		{ "--login-window", &auth_limits.login_window, 86400 },
		{ "--lockout-after", &auth_limits.lockout_after, 1000000 },
		{ "--lockout-seconds", &auth_limits.lockout_seconds, 366 * 86400 },
	};
	int64_t v;
	const char *db = CLI_DEFAULT_DB, *listen = "127.0.0.1:8080";
	const char *tls_cert = NULL, *tls_key = NULL;
	char *cert_pem = NULL, *key_pem = NULL;
	struct http_config cfg = {
		.request_timeout = LIMIT_REQUEST_SECONDS,
		.idle_timeout = LIMIT_IDLE_SECONDS,
		.max_per_ip = LIMIT_CONNECTIONS_PER_IP,
	};
	struct http_server *srv;
	struct store *s;
	char host[128], why[512], shown[512];
	sigset_t set;
	int c, sig, rc;
	int64_t threads = 0, per_ip;

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
		case 'r':
			if (parse_seconds(optarg, &cfg.request_timeout))
				return cli_usage_error("serve",
						       "--request-timeout takes 1 to %d seconds",
						       LIMIT_TIMEOUT_MAX);
			break;
		case 'i':
			if (parse_seconds(optarg, &cfg.idle_timeout))
				return cli_usage_error("serve",
						       "--idle-timeout takes 1 to %d seconds",
						       LIMIT_TIMEOUT_MAX);
			break;
		case 'm':
			if (parse_i64(optarg, strlen(optarg), 0, LIMIT_CONNECTIONS, &per_ip))
				return cli_usage_error("serve", "--max-connections-per-ip takes "
						       "0 (no limit) to %d", LIMIT_CONNECTIONS);
			cfg.max_per_ip = (int)per_ip;
			break;
		case 'p':
			auth_limits.trust_proxy = 1;
			break;
		case 'c':
			tls_cert = optarg;
			break;
		case 'k':
			tls_key = optarg;
			break;
		default:
			if (c >= AUTH_OPT && c < AUTH_OPT + (int)nitems(auth_opts)) {
				int i = c - AUTH_OPT;

				if (parse_i64(optarg, strlen(optarg), 1, auth_opts[i].max, &v))
					return cli_usage_error("serve", "%s takes 1 to %lld",
							       auth_opts[i].name,
							       (long long)auth_opts[i].max);
				*auth_opts[i].value = (int)v;
				break;
			}
			return cli_usage_error("serve", "unknown or incomplete option %s",
					       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("serve", "unexpected argument %s", argv[optind]);
	if (parse_listen(listen, host, sizeof host, &cfg.port))
		return cli_usage_error("serve", "--listen takes HOST:PORT, not %s", listen);
	if (!tls_cert != !tls_key)
		return cli_usage_error("serve", "%s needs %s as well",
				       tls_cert ? "--tls-cert" : "--tls-key",
				       tls_cert ? "--tls-key" : "--tls-cert");
	/* Before the store is opened: a bad certificate must not migrate it. */
	if (tls_cert) {
		if ((rc = read_pem("--tls-cert", tls_cert, "CERTIFICATE-----", "PEM certificate",
				   &cert_pem)) != 0)
			return rc;
		if ((rc = read_pem("--tls-key", tls_key, "PRIVATE KEY-----", "PEM private key",
				   &key_pem)) != 0) {
			free_pem(cert_pem);
			return rc;
		}
	}

	/* Every thread inherits this mask; only sigwait below sees the signals. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (!(s = cli_open_store("serve", db))) {
		free_pem(cert_pem);
		free_pem(key_pem);
		return EXIT_NOINPUT;
	}
	cfg.host = host;
	cfg.store = s;
	cfg.threads = (int)threads;
	cfg.extra_threads = store_extra_threads(s);
	cfg.tls_cert_pem = cert_pem;
	cfg.tls_key_pem = key_pem;
	rc = http_start(&cfg, &srv, why, sizeof why);
	/* libmicrohttpd has loaded them into its own credentials. */
	free_pem(cert_pem);
	free_pem(key_pem);
	if (rc == HTTP_START_TLS) {
		fprintf(stderr, "rapport serve: cannot use --tls-cert %s with --tls-key %s: %s\n",
			tls_cert, tls_key, why);
		store_close(s);
		return EXIT_DATAERR;
	}
	if (rc != 0) {
		fprintf(stderr, "rapport serve: %s\n", why);
		store_close(s);
		return EXIT_SOFTWARE;
	}
	cli_redact(db, shown, sizeof shown);
	log_msg(LOG_INFO, "rapport serving %s on %s://%s%s%s:%d/", shown,
		tls_cert ? "https" : "http", strchr(host, ':') ? "[" : "", host,
		strchr(host, ':') ? "]" : "", cfg.port);
	sigwait(&set, &sig);
	log_msg(LOG_INFO, "%s: finishing requests in flight", sig == SIGINT ? "SIGINT" : "SIGTERM");
	http_stop(srv);
	store_close(s);
	log_msg(LOG_INFO, "stopped");
	return 0;
}
