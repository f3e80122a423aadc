/*
 * Users, passwords and tokens. Passwords are argon2id hashes (libsodium);
 * session and API tokens are random and only their BLAKE2b hash is stored,
 * so a copy of the database does not hand out working credentials.
 */
#ifndef RAPPORT_AUTH_H
#define RAPPORT_AUTH_H

#include <stdint.h>

#include "../lib/err.h"

struct store;
struct store_conn;

struct principal {
	int64_t user_id;
	int64_t token_id;
	char role[16];
	char email[256];
	char name[201];
	int is_session;
	int read_only;		/* an API token of scope "read" */
};

#define AUTH_TOKEN_BYTES 64	/* "rp_" + 43 base64url chars + NUL, with room */
#define AUTH_SESSION_SECONDS (12 * 3600)

/* Once, before any other call: initialises libsodium. 0 or -1. */
int auth_init(void);

/* In a write job: a new user; 409-style E_CONFLICT if the email is taken. */
int auth_user_create(struct store_conn *c, const char *email, const char *name,
		     const char *role, const char *password, int64_t *id, struct err *e);
/* The user's id by email: 1 found, 0 not, -1 error. */
int auth_user_find(struct store_conn *c, const char *email, int64_t *id);
/* Number of users, or -1. */
int64_t auth_user_count(struct store_conn *c);

/* In a write job: a new token of kind "session" or "api" for the user. */
int auth_token_create(struct store_conn *c, int64_t user_id, const char *kind,
		      const char *name, char token[AUTH_TOKEN_BYTES], struct err *e);
/* In a write job: revokes the token; 0 whether or not it existed. */
int auth_token_revoke(struct store_conn *c, const char *token);
/* Drops a token (or, given NULL, every token) from the lookup cache. */
void auth_cache_forget(const char *token);
/* Who holds this token: 1 valid, 0 not (unknown, expired, revoked, disabled), -1 error. */
int auth_token_lookup(struct store_conn *c, const char *token, struct principal *p);
/*
 * Checks email and password: 1 match (p filled), 0 no match, -1 error. An
 * unknown email costs the same hashing work as a wrong password.
 */
int auth_password_check(struct store_conn *c, const char *email, const char *password,
			struct principal *p);

#define AUTH_HASH_BYTES 128	/* an argon2id hash string, with room */
/* The argon2id hash of a password, for storing; 0 or -1. */
int auth_password_hash(const char *password, char out[AUTH_HASH_BYTES]);

/* 32 random bytes as 43 base64url characters. */
void auth_random_text(char out[48]);
/* Loads (or, the first time, creates) a named 32-byte secret in settings. 0 or -1. */
int auth_secret(struct store *s, const char *name, unsigned char out[32]);

#endif
