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
	int touch;		/* a session whose last use should be written down */
	int64_t default_unit;	/* the user's first business unit, 0 if none */
};

#define AUTH_TOKEN_BYTES 64	/* "rp_" + 43 base64url chars + NUL, with room */
#define AUTH_CSRF_BYTES 48	/* 43 base64url chars + NUL, with room */

/* What an operator may set (rapport serve options); auth_limits holds them. */
struct auth_settings {
	int session_max_age;	/* seconds a session lives at most */
	int session_idle;	/* seconds a session lives without use */
	int login_failures;	/* failed sign-ins per account per window before 429 */
	int login_window;	/* seconds of that window */
	int lockout_after;	/* consecutive failures that lock an account */
	int lockout_seconds;	/* how long the lock lasts */
	int trust_proxy;	/* client address and scheme from X-Real-IP and
				 * X-Forwarded-Proto (behind a reverse proxy) */
};
extern struct auth_settings auth_limits;

/* Once, before any other call: initialises libsodium. 0 or -1. */
int auth_init(void);

/* In a write job: a new user; 409-style E_CONFLICT if the email is taken. */
int auth_user_create(struct store_conn *c, const char *email, const char *name,
		     const char *role, const char *password, int64_t *id, struct err *e);
/* The user's id by email: 1 found, 0 not, -1 error. */
int auth_user_find(struct store_conn *c, const char *email, int64_t *id);
/* Number of users, or -1. */
int64_t auth_user_count(struct store_conn *c);

/*
 * In a write job: a new token of kind "session" or "api" for the user, of
 * scope "read" or "write"; expires_at NULL for none (sessions always get the
 * session lifetime). *id (if not NULL) is its row id.
 */
int auth_token_create(struct store_conn *c, int64_t user_id, const char *kind,
		      const char *name, const char *scope, const char *expires_at,
		      char token[AUTH_TOKEN_BYTES], int64_t *id, struct err *e);
/* In a write job: notes that a session was used now (idle expiry). */
int auth_token_touch(struct store_conn *c, int64_t token_id);
/* The CSRF token that goes with a session token: a keyless hash of it, so
 * that only who holds the cookie can know it. */
void auth_csrf(const char *token, char out[AUTH_CSRF_BYTES]);

/*
 * Sign-in throttling, per process: before checking a password, whether
 * this client address or this account must wait (0: go on, and the attempt
 * counts as a failure until auth_login_result says it was not; else the
 * seconds to wait, and auth_login_result must not be called). Unknown
 * accounts are throttled and locked exactly like known ones.
 */
int auth_login_wait(const char *address, const char *email);
void auth_login_result(const char *address, const char *email, int ok);
/* An admin lifted the account's lock: this process forgets its failures. */
void auth_login_forget(const char *email);
/* In a write job: revokes the token; 0 whether or not it existed. */
int auth_token_revoke(struct store_conn *c, const char *token);
/* Drops a token (or, given NULL, every token) from the lookup cache. */
void auth_cache_forget(const char *token);
/* Who holds this token, if this process checked it in the last second: 1
 * (p filled) or 0 (ask auth_token_lookup). Needs no store. */
int auth_token_cached(const char *token, struct principal *p);
/* Who holds this token: 1 valid, 0 not (unknown, expired, revoked, disabled), -1 error. */
int auth_token_lookup(struct store_conn *c, const char *token, struct principal *p);
/*
 * Checks email and password: 1 match (p filled), 0 no match, -1 error. An
 * unknown email costs the same hashing work as a wrong password. A known,
 * enabled user's id is in *user_id whatever the outcome (0 if none);
 * *locked_for is the seconds their lock still lasts (then no password is
 * checked and 0 is returned).
 */
int auth_password_check(struct store_conn *c, const char *email, const char *password,
			struct principal *p, int64_t *user_id, int *locked_for);
/* In a write job: one more failed sign-in of the user, locking the account
 * after auth_limits.lockout_after in a row; ok resets the count. */
int auth_login_record(struct store_conn *c, int64_t user_id, int ok);

#define AUTH_HASH_BYTES 128	/* an argon2id hash string, with room */
/* The argon2id hash of a password, for storing; 0 or -1. */
int auth_password_hash(const char *password, char out[AUTH_HASH_BYTES]);

/* 32 random bytes as 43 base64url characters. */
void auth_random_text(char out[48]);
/* Loads (or, the first time, creates) a named 32-byte secret in settings. 0 or -1. */
int auth_secret(struct store *s, const char *name, unsigned char out[32]);

#endif
