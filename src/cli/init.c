#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../domain/auth.h"
#include "../domain/rules.h"
#include "../store/store.h"
#include "cli.h"

struct admin_job {
	const char *email, *password;
	int64_t id;
	struct err e;
};

static int admin_job(struct store_conn *c, void *arg)
{
	struct admin_job *j = arg;

	return auth_user_create(c, j->email, "Administrator", "admin", j->password, &j->id, &j->e);
}

int cli_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "admin", required_argument, NULL, 'a' },
		{ "demo", no_argument, NULL, 'D' },
		{ 0 },
	};
	const char *db = CLI_DEFAULT_DB, *admin = "admin@example.com";
	const char *env = getenv("RAPPORT_ADMIN_PASSWORD");
	struct admin_job job = { 0 };
	struct store_conn *conn;
	struct store *s;
	char generated[48];
	int c, demo = 0, rc = 0;
	int64_t users;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			db = optarg;
			break;
		case 'a':
			admin = optarg;
			break;
		case 'D':
			demo = 1;
			break;
		default:
			return cli_usage_error("init", "unknown or incomplete option %s",
					       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("init", "unexpected argument %s", argv[optind]);
	if (!email_valid(admin) || strlen(admin) > 254)
		return cli_usage_error("init", "--admin takes an email address, not %s", admin);
	if (env && (strlen(env) < 8 || strlen(env) > 1024))
		return cli_usage_error("init", "RAPPORT_ADMIN_PASSWORD must be 8 to 1024 bytes");

	if (!(s = cli_open_store("init", db)))
		return EXIT_NOINPUT;
	if (!(conn = store_acquire(s))) {
		fprintf(stderr, "rapport init: cannot read %s\n", db);
		store_close(s);
		return EXIT_NOINPUT;
	}
	users = auth_user_count(conn);
	store_release(conn);
	if (users < 0) {
		fprintf(stderr, "rapport init: cannot read the users of %s\n", db);
		rc = EXIT_NOINPUT;
	} else if (users == 0) {
		job.email = admin;
		if (env) {
			job.password = env;
		} else {
			auth_random_text(generated);
			generated[24] = 0;
			job.password = generated;
		}
		if (store_write(s, admin_job, &job) != STORE_OK) {
			fprintf(stderr, "rapport init: cannot create the admin user: %s\n",
				job.e.message);
			rc = EXIT_SOFTWARE;
		} else {
			printf("created admin user %s\n", admin);
			if (!env)
				printf("its password (shown once): %s\n", generated);
		}
	} else {
		printf("%s already has users; left them as they are\n", db);
	}
	if (rc == 0 && demo && cli_demo(s, job.id ? job.id : 1) != 0)
		rc = EXIT_SOFTWARE;
	err_clear(&job.e);
	store_close(s);
	return rc;
}

int cli_migrate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ 0 },
	};
	const char *db = CLI_DEFAULT_DB;
	struct store *s;
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'd')
			return cli_usage_error("migrate", "unknown or incomplete option %s",
					       argv[optind - 1]);
		db = optarg;
	}
	if (optind < argc)
		return cli_usage_error("migrate", "unexpected argument %s", argv[optind]);
	if (!(s = cli_open_store("migrate", db)))
		return EXIT_NOINPUT;
	printf("%s is up to date\n", db);
	store_close(s);
	return 0;
}
