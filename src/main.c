/* rapport: the command. Dispatches to src/cli/, one file per subcommand. */
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

#ifndef RAPPORT_VERSION
#define RAPPORT_VERSION "0.1.0"
#endif

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
} commands[] = {
	{ "serve", cli_serve, "serve [--db URL] [--listen HOST:PORT] [--threads N] [--request-timeout S]\n"
	  "        [--idle-timeout S] [--max-connections-per-ip N] [--tls-cert FILE --tls-key FILE]\n"
	  "        [--session-max-age S] [--session-idle S] [--login-failures N]\n"
	  "        [--login-window S] [--lockout-after N] [--lockout-seconds S] [--trust-proxy]" },
	{ "init", cli_init, "init [--db URL] [--admin EMAIL] [--demo]" },
	{ "migrate", cli_migrate, "migrate [--db URL]" },
	{ "token", cli_token, "token create [--db URL] --user EMAIL [--name NAME]" },
	{ "copy", cli_copy, "copy --from URL --to URL [--force]" },
};

static void help(FILE *f)
{
	fprintf(f, "rapport %s: relationship management server\n\nusage:\n", RAPPORT_VERSION);
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  rapport %s\n", commands[i].usage);
	fprintf(f, "  rapport --help | --version\n\n"
		   "URL is a SQLite file (PATH or sqlite:PATH; the default is rapport.db) or a\n"
		   "PostgreSQL database (postgres://USER@HOST:PORT/DB; see README.md).\n"
		   "init takes the admin password from RAPPORT_ADMIN_PASSWORD, or prints a new one.\n"
		   "copy copies every record, user, token and setting, ids kept, into an empty\n"
		   "store (--force: replaces what it holds) and compares both sides table by table.\n"
		   "Exit status: 0 ok, 64 wrong arguments, 65 bad data or refused, 66 store cannot\n"
		   "be opened, 70 failed (for copy: a table differs after the copy).\n");
}

int main(int argc, char **argv)
{
	/*
	 * Freed memory stays with the process up to this much instead of going
	 * back to the kernel at once: SQLite frees a little at every savepoint,
	 * and a madvise per write job cost the store writer a tenth of its time.
	 */
	mallopt(M_TRIM_THRESHOLD, 32 * 1024 * 1024);

	if (argc < 2) {
		help(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		help(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("rapport %s\n", RAPPORT_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "rapport: unknown command %s (see rapport --help)\n", argv[1]);
	return EXIT_USAGE;
}
