#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../domain/auth.h"
#include "../domain/record.h"
#include "../store/store.h"
#include "cli.h"

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "rapport %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see rapport --help)\n");
	return EXIT_USAGE;
}

void cli_redact(const char *url, char *out, size_t n)
{
	const char *scheme = strstr(url, "://"), *at, *colon;

	snprintf(out, n, "%s", url);
	if (!scheme || !(at = strchr(scheme + 3, '@')))
		return;
	colon = memchr(scheme + 3, ':', (size_t)(at - scheme - 3));
	if (colon)
		snprintf(out, n, "%.*s:***%s", (int)(colon - url), url, at);
}

struct store *cli_open_store(const char *cmd, const char *url_in)
{
	char url[512];
	struct store *s;
	unsigned char key[32];
	char why[512];
	int applied = 0;

	cli_redact(url_in, url, sizeof url);
	if (auth_init() != 0) {
		fprintf(stderr, "rapport %s: cannot initialise libsodium\n", cmd);
		return NULL;
	}
	if (store_open(url_in, &s, why, sizeof why) != 0) {
		fprintf(stderr, "rapport %s: cannot open store %s: %s\n", cmd, url, why);
		return NULL;
	}
	if (store_migrate(s, &applied, why, sizeof why) != 0) {
		fprintf(stderr, "rapport %s: cannot migrate store %s: %s\n", cmd, url, why);
		store_close(s);
		return NULL;
	}
	if (applied)
		fprintf(stderr, "rapport %s: applied %d migration%s to %s\n", cmd, applied,
			applied == 1 ? "" : "s", url);
	if (auth_secret(s, "cursor_key", key) != 0) {
		fprintf(stderr, "rapport %s: cannot read or create the cursor key in %s\n", cmd, url);
		store_close(s);
		return NULL;
	}
	record_set_cursor_key(key, sizeof key);
	return s;
}
