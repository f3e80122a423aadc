/* The rapport subcommands. Each takes argc/argv after the subcommand name
 * and returns the process exit status (sysexits: 64 usage, 65 bad data,
 * 66 no store, 70 internal failure). */
#ifndef RAPPORT_CLI_H
#define RAPPORT_CLI_H

#define EXIT_USAGE 64
#define EXIT_DATAERR 65
#define EXIT_NOINPUT 66
#define EXIT_SOFTWARE 70

struct store;

int cli_serve(int argc, char **argv);
int cli_init(int argc, char **argv);
int cli_migrate(int argc, char **argv);
int cli_token(int argc, char **argv);
int cli_copy(int argc, char **argv);

/* Prints "rapport CMD: MESSAGE" on stderr and returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* url with any password replaced by ***, for messages. */
void cli_redact(const char *url, char *out, size_t n);
/* Opens and migrates the store at url; NULL after printing why (exit 66). */
struct store *cli_open_store(const char *cmd, const char *url);
/* Adds the demo data set through the record machinery. 0 or -1. */
int cli_demo(struct store *s, long long owner_id);
/* The default store URL. */
#define CLI_DEFAULT_DB "rapport.db"

#endif
