#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "../domain/auth.h"
#include "../store/store.h"
#include "cli.h"

struct token_job {
	int64_t user_id;
	const char *name;
	char token[AUTH_TOKEN_BYTES];
	struct err e;
};

static int token_job(struct store_conn *c, void *arg)
{
	struct token_job *j = arg;

	return auth_token_create(c, j->user_id, "api", j->name, "write", NULL, j->token, NULL,
				 &j->e);
}

int cli_token(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "user", required_argument, NULL, 'u' },
		{ "name", required_argument, NULL, 'n' },
		{ 0 },
	};
	const char *db = CLI_DEFAULT_DB, *user = NULL;
	struct token_job job = { 0 };
	struct store_conn *conn;
	struct store *s;
	int c, rc = 0, found;

	if (argc < 2 || strcmp(argv[1], "create") != 0)
		return cli_usage_error("token", "the only subcommand is: token create");
	argc--, argv++;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			db = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 'n':
			if (strlen(optarg) > 100)
				return cli_usage_error("token", "--name is at most 100 bytes");
			job.name = optarg;
			break;
		default:
			return cli_usage_error("token", "unknown or incomplete option %s",
					       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("token", "unexpected argument %s", argv[optind]);
	if (!user)
		return cli_usage_error("token", "--user EMAIL is required");
	if (!(s = cli_open_store("token", db)))
		return EXIT_NOINPUT;
	conn = store_acquire(s);
	found = conn ? auth_user_find(conn, user, &job.user_id) : -1;
	if (conn)
		store_release(conn);
	if (found != 1) {
		fprintf(stderr, "rapport token: %s\n", found < 0 ? "cannot read the users" :
			"no user with that email");
		rc = found < 0 ? EXIT_NOINPUT : EXIT_DATAERR;
	} else if (store_write(s, token_job, &job) != STORE_OK) {
		fprintf(stderr, "rapport token: cannot store the token: %s\n", job.e.message);
		rc = EXIT_SOFTWARE;
	} else {
		printf("%s\n", job.token);
	}
	err_clear(&job.e);
	store_close(s);
	return rc;
}
