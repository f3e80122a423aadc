/* Numbered migrations, embedded from src/store/migrations/<backend>/ at build
 * time. The table ends with an all-zero entry. */
#ifndef RAPPORT_MIGRATE_H
#define RAPPORT_MIGRATE_H

struct migration {
	const char *backend;	/* "sqlite" or "postgres" */
	int number;		/* 1, 2, ... applied in order, never edited */
	const char *name;	/* file name without .sql */
	const char *sql;
};

extern const struct migration migrations[];

#endif
