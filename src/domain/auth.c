#include "auth.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "../lib/util.h"
#include "../store/store.h"

/* OWASP's argon2id minimum (19 MiB, 2 passes): memory stays bounded per login. */
#define PW_OPS 2
#define PW_MEM (19u * 1024 * 1024)

static char dummy_hash[crypto_pwhash_STRBYTES];

struct auth_settings auth_limits = {
	.session_max_age = 12 * 3600,
	.session_idle = 3600,
	.login_failures = 5,
	.login_window = 60,
	.lockout_after = 10,
	.lockout_seconds = 900,
};

/* An RFC 3339 UTC time seconds from now (negative: ago). */
static void time_from_now(long long seconds, char out[TIME_BUF])
{
	time_t t = time(NULL) + (time_t)seconds;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, TIME_BUF, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int auth_init(void)
{
	if (sodium_init() < 0)
		return -1;
	if (crypto_pwhash_str_alg(dummy_hash, "not a password", 14, PW_OPS, PW_MEM,
				  crypto_pwhash_ALG_ARGON2ID13) != 0)
		return -1;
	return 0;
}

int auth_password_hash(const char *password, char out[AUTH_HASH_BYTES])
{
	_Static_assert(AUTH_HASH_BYTES >= crypto_pwhash_STRBYTES, "room for a hash");
	return crypto_pwhash_str_alg(out, password, strlen(password), PW_OPS, PW_MEM,
				     crypto_pwhash_ALG_ARGON2ID13) == 0 ? 0 : -1;
}

static void token_hash(const char *token, char out[65])
{
	unsigned char h[32];

	crypto_generichash(h, sizeof h, (const unsigned char *)token, strlen(token), NULL, 0);
	hex_encode(h, sizeof h, out);
}

void auth_random_text(char out[48])
{
	unsigned char r[32];

	randombytes_buf(r, sizeof r);
	b64url_encode(r, sizeof r, out);
}

int auth_user_create(struct store_conn *c, const char *email, const char *name,
		     const char *role, const char *password, int64_t *id, struct err *e)
{
	char hash[crypto_pwhash_STRBYTES], now[TIME_BUF];
	struct store_stmt *st;
	int rc;

	if (crypto_pwhash_str_alg(hash, password, strlen(password), PW_OPS, PW_MEM,
				  crypto_pwhash_ALG_ARGON2ID13) != 0) {
		err_set(e, E_INTERNAL, "cannot hash the password");
		return STORE_ERROR;
	}
	st = store_prepare(c, "INSERT INTO users (created_at, updated_at, version, email, name, "
			      "password_hash, role, disabled) VALUES (?, ?, 1, ?, ?, ?, ?, 0) "
			      "RETURNING id");
	if (!st) {
		err_set(e, E_UNAVAILABLE, NULL);
		return STORE_ERROR;
	}
	time_now_rfc3339(now);
	store_bind_text(st, 1, now, strlen(now));
	store_bind_text(st, 2, now, strlen(now));
	store_bind_text(st, 3, email, strlen(email));
	store_bind_text(st, 4, name, strlen(name));
	store_bind_text(st, 5, hash, strlen(hash));
	store_bind_text(st, 6, role, strlen(role));
	rc = store_step(st);
	if (rc == STORE_ROW) {
		*id = store_col_int(st, 0);
		store_step(st);
		rc = STORE_OK;
	} else if (rc == STORE_CONSTRAINT) {
		err_set(e, E_CONFLICT, "a user with email %s exists", email);
		rc = STORE_ABORT;
	} else {
		err_set(e, E_UNAVAILABLE, NULL);
	}
	store_done(st);
	return rc;
}

int auth_user_find(struct store_conn *c, const char *email, int64_t *id)
{
	struct store_stmt *st = store_prepare(c, "SELECT id FROM users WHERE email = ?");
	int rc;

	if (!st)
		return -1;
	store_bind_text(st, 1, email, strlen(email));
	rc = store_step(st);
	if (rc == STORE_ROW)
		*id = store_col_int(st, 0);
	store_done(st);
	return rc == STORE_ROW ? 1 : rc == STORE_DONE ? 0 : -1;
}

int64_t auth_user_count(struct store_conn *c)
{
	struct store_stmt *st = store_prepare(c, "SELECT count(*) FROM users");
	int64_t n = -1;

	if (!st)
		return -1;
	if (store_step(st) == STORE_ROW)
		n = store_col_int(st, 0);
	store_done(st);
	return n;
}

int auth_token_create(struct store_conn *c, int64_t user_id, const char *kind,
		      const char *name, const char *scope, const char *expires_at,
		      char token[AUTH_TOKEN_BYTES], int64_t *id, struct err *e)
{
	char rnd[48], hash[65], now[TIME_BUF], expires[TIME_BUF];
	int session = strcmp(kind, "session") == 0;
	struct store_stmt *st;
	int rc;

	auth_random_text(rnd);
	snprintf(token, AUTH_TOKEN_BYTES, "rp_%s", rnd);
	token_hash(token, hash);
	time_now_rfc3339(now);
	st = store_prepare(c, "INSERT INTO tokens (user_id, kind, name, hash, created_at, "
			      "expires_at, scope, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
			      "RETURNING id");
	if (!st) {
		err_set(e, E_UNAVAILABLE, NULL);
		return STORE_ERROR;
	}
	store_bind_int(st, 1, user_id);
	store_bind_text(st, 2, kind, strlen(kind));
	if (name)
		store_bind_text(st, 3, name, strlen(name));
	else
		store_bind_null(st, 3);
	store_bind_text(st, 4, hash, strlen(hash));
	store_bind_text(st, 5, now, strlen(now));
	if (session) {
		time_from_now(auth_limits.session_max_age, expires);
		store_bind_text(st, 6, expires, strlen(expires));
	} else if (expires_at) {
		store_bind_text(st, 6, expires_at, strlen(expires_at));
	} else {
		store_bind_null(st, 6);
	}
	store_bind_text(st, 7, scope, strlen(scope));
	if (session)
		store_bind_text(st, 8, now, strlen(now));
	else
		store_bind_null(st, 8);
	rc = store_step(st);
	if (rc == STORE_ROW) {
		if (id)
			*id = store_col_int(st, 0);
		rc = store_step(st);
	}
	store_done(st);
	if (rc != STORE_DONE) {
		err_set(e, E_UNAVAILABLE, NULL);
		return rc == STORE_CONSTRAINT ? STORE_ERROR : rc;
	}
	return STORE_OK;
}

int auth_token_touch(struct store_conn *c, int64_t token_id)
{
	struct store_stmt *st = store_prepare(c, "UPDATE tokens SET last_used_at = ? WHERE id = ?");
	char now[TIME_BUF];
	int rc;

	if (!st)
		return STORE_ERROR;
	time_now_rfc3339(now);
	store_bind_text(st, 1, now, strlen(now));
	store_bind_int(st, 2, token_id);
	rc = store_step(st);
	store_done(st);
	return rc == STORE_DONE ? STORE_OK : rc;
}

void auth_csrf(const char *token, char out[AUTH_CSRF_BYTES])
{
	static const unsigned char ctx[] = "rapport csrf v1";
	unsigned char h[32];

	crypto_generichash(h, sizeof h, (const unsigned char *)token, strlen(token), ctx,
			   sizeof ctx - 1);
	b64url_encode(h, sizeof h, out);
}

int auth_token_revoke(struct store_conn *c, const char *token)
{
	char hash[65], now[TIME_BUF];
	struct store_stmt *st;
	int rc;

	auth_cache_forget(token);
	token_hash(token, hash);
	time_now_rfc3339(now);
	st = store_prepare(c, "UPDATE tokens SET revoked_at = ? WHERE hash = ? AND revoked_at IS NULL");
	if (!st)
		return STORE_ERROR;
	store_bind_text(st, 1, now, strlen(now));
	store_bind_text(st, 2, hash, strlen(hash));
	rc = store_step(st);
	store_done(st);
	return rc == STORE_DONE ? STORE_OK : rc;
}

static void fill_principal(struct store_stmt *st, int first, struct principal *p)
{
	size_t len;
	const char *s;

	p->user_id = store_col_int(st, first);
	s = store_col_text(st, first + 1, &len);
	snprintf(p->role, sizeof p->role, "%.*s", (int)len, s ? s : "");
	s = store_col_text(st, first + 2, &len);
	snprintf(p->email, sizeof p->email, "%.*s", (int)len, s ? s : "");
	s = store_col_text(st, first + 3, &len);
	snprintf(p->name, sizeof p->name, "%.*s", (int)len, s ? s : "");
}

/*
 * Recently seen tokens, so that most requests need no read for credentials.
 * An entry lives AUTH_CACHE_US; a revocation through this process drops it
 * at once, one through another process is seen within that second.
 */
#define AUTH_CACHE_SLOTS 1024
#define AUTH_CACHE_US (1 * 1000000LL)

static struct cache_entry {
	char hash[65];
	int64_t until_us;
	struct principal p;
} auth_cache[AUTH_CACHE_SLOTS];
static pthread_mutex_t auth_cache_lock = PTHREAD_MUTEX_INITIALIZER;

static struct cache_entry *cache_slot(const char *hash)
{
	unsigned v = 0;

	for (int i = 0; i < 8; i++)
		v = v * 16 + (unsigned)(hash[i] <= '9' ? hash[i] - '0' : hash[i] - 'a' + 10);
	return &auth_cache[v % AUTH_CACHE_SLOTS];
}

static int cache_get(const char *hash, struct principal *p)
{
	struct cache_entry *e = cache_slot(hash);
	int hit;

	pthread_mutex_lock(&auth_cache_lock);
	hit = strcmp(e->hash, hash) == 0 && e->until_us > time_mono_us();
	if (hit)
		*p = e->p;
	pthread_mutex_unlock(&auth_cache_lock);
	return hit;
}

static void cache_put(const char *hash, const struct principal *p, int64_t until_us)
{
	struct cache_entry *e = cache_slot(hash);

	pthread_mutex_lock(&auth_cache_lock);
	memcpy(e->hash, hash, sizeof e->hash);
	e->p = *p;
	e->until_us = until_us;
	pthread_mutex_unlock(&auth_cache_lock);
}

void auth_cache_forget(const char *token)
{
	char hash[65];
	struct cache_entry *e;

	if (!token) {
		pthread_mutex_lock(&auth_cache_lock);
		memset(auth_cache, 0, sizeof auth_cache);
		pthread_mutex_unlock(&auth_cache_lock);
		return;
	}
	token_hash(token, hash);
	e = cache_slot(hash);
	pthread_mutex_lock(&auth_cache_lock);
	if (strcmp(e->hash, hash) == 0)
		e->hash[0] = 0;
	pthread_mutex_unlock(&auth_cache_lock);
}

/* The first id of the JSON array in a column, 0 if none. */
static int64_t first_id(struct store_stmt *st, int col)
{
	size_t len;
	const char *s = store_col_text(st, col, &len);
	json_t *a = s ? json_loadb(s, len, 0, NULL) : NULL;
	int64_t id = json_is_integer(json_array_get(a, 0)) ?
		json_integer_value(json_array_get(a, 0)) : 0;

	json_decref(a);
	return id;
}

static int token_query(struct store_conn *c, const char *hash, struct principal *p)
{
	struct store_stmt *st;
	char now[TIME_BUF];
	int rc;

	char idle[TIME_BUF], touch[TIME_BUF];
	int every = auth_limits.session_idle / 4;

	/* a session's use is written down at most every quarter of the idle time
	 * (and at least every minute), so it never looks idle while in use */
	every = every < 1 ? 1 : every > 60 ? 60 : every;
	time_now_rfc3339(now);
	time_from_now(-(long long)auth_limits.session_idle, idle);
	time_from_now(-(long long)every, touch);
	st = store_prepare(c, "SELECT t.id, t.kind, u.id, u.role, u.email, u.name, t.scope, "
			      "t.last_used_at, u.business_unit_ids FROM tokens t JOIN users u "
			      "ON u.id = t.user_id "
			      "WHERE t.hash = ? AND t.revoked_at IS NULL AND (t.expires_at IS NULL "
			      "OR t.expires_at > ?) AND u.disabled = 0 AND (t.kind = 'api' OR "
			      "t.last_used_at > ?)");
	if (!st)
		return -1;
	store_bind_text(st, 1, hash, strlen(hash));
	store_bind_text(st, 2, now, strlen(now));
	store_bind_text(st, 3, idle, strlen(idle));
	rc = store_step(st);
	if (rc == STORE_ROW) {
		size_t len;
		const char *kind, *scope, *used;

		memset(p, 0, sizeof *p);
		p->token_id = store_col_int(st, 0);
		kind = store_col_text(st, 1, &len);
		p->is_session = kind && strcmp(kind, "session") == 0;
		fill_principal(st, 2, p);
		scope = store_col_text(st, 6, &len);
		p->read_only = scope && len == 4 && memcmp(scope, "read", 4) == 0;
		used = store_col_text(st, 7, &len);
		p->touch = p->is_session && used && strncmp(used, touch, len) < 0;
		p->default_unit = first_id(st, 8);
	}
	store_done(st);
	return rc == STORE_ROW ? 1 : rc == STORE_DONE ? 0 : -1;
}

int auth_token_cached(const char *token, struct principal *p)
{
	char hash[65];

	if (strlen(token) > 200)
		return 0;
	token_hash(token, hash);
	return cache_get(hash, p);
}

int auth_token_lookup(struct store_conn *c, const char *token, struct principal *p)
{
	char hash[65];
	int rc;

	if (strlen(token) > 200)
		return 0;
	token_hash(token, hash);
	if (cache_get(hash, p))
		return 1;
	rc = token_query(c, hash, p);
	if (rc == 0) {
		/* perhaps made a moment ago by another process (rapport token create) */
		store_refresh(c);
		rc = token_query(c, hash, p);
	}
	if (rc == 1) {
		struct principal cached = *p;

		cached.touch = 0;	/* the caller writes it down once */
		cache_put(hash, &cached, time_mono_us() + AUTH_CACHE_US);
	}
	return rc;
}

/* Seconds since the epoch of an RFC 3339 UTC time this server wrote. */
static int time_parse_epoch(const char *s, time_t *out)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof tm);
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end)
		return -1;
	*out = timegm(&tm);
	return 0;
}

int auth_password_check(struct store_conn *c, const char *email, const char *password,
			struct principal *p, int64_t *user_id, int *locked_for)
{
	struct store_stmt *st;
	char hash[crypto_pwhash_STRBYTES] = "", now[TIME_BUF], until[TIME_BUF] = "";
	int rc, found = 0;

	*user_id = 0;
	*locked_for = 0;
	st = store_prepare(c, "SELECT id, role, email, name, password_hash, locked_until "
			      "FROM users WHERE email = ? AND disabled = 0");
	if (!st)
		return -1;
	store_bind_text(st, 1, email, strlen(email));
	rc = store_step(st);
	if (rc == STORE_ROW) {
		size_t len;
		const char *h = store_col_text(st, 4, &len);

		memset(p, 0, sizeof *p);
		fill_principal(st, 0, p);
		snprintf(hash, sizeof hash, "%.*s", (int)len, h ? h : "");
		h = store_col_text(st, 5, &len);
		snprintf(until, sizeof until, "%.*s", (int)len, h ? h : "");
		*user_id = p->user_id;
		found = 1;
	}
	store_done(st);
	if (rc != STORE_ROW && rc != STORE_DONE)
		return -1;
	time_now_rfc3339(now);
	if (found && until[0] && strcmp(until, now) > 0) {
		time_t u = 0;

		if (time_parse_epoch(until, &u) == 0 && u > time(NULL))
			*locked_for = (int)(u - time(NULL));
		else
			*locked_for = 1;
		return 0;
	}
	/* Unknown users are checked against a dummy hash so both take as long. */
	rc = crypto_pwhash_str_verify(found ? hash : dummy_hash, password, strlen(password));
	return found && rc == 0 ? 1 : 0;
}

int auth_login_record(struct store_conn *c, int64_t user_id, int ok)
{
	struct store_stmt *st;
	char until[TIME_BUF];
	int rc;

	if (ok)
		st = store_prepare(c, "UPDATE users SET failed_logins = 0, locked_until = NULL "
				      "WHERE id = ? AND failed_logins <> 0");
	else
		/* a lock starts the count again: after it, a full run of failures
		 * locks again, as for an unknown email */
		st = store_prepare(c, "UPDATE users SET failed_logins = CASE WHEN "
				      "failed_logins + 1 >= ? THEN 0 ELSE failed_logins + 1 END, "
				      "locked_until = CASE WHEN failed_logins + 1 >= ? THEN ? "
				      "ELSE locked_until END WHERE id = ?");
	if (!st)
		return STORE_ERROR;
	if (ok) {
		store_bind_int(st, 1, user_id);
	} else {
		time_from_now(auth_limits.lockout_seconds, until);
		store_bind_int(st, 1, auth_limits.lockout_after);
		store_bind_int(st, 2, auth_limits.lockout_after);
		store_bind_text(st, 3, until, strlen(until));
		store_bind_int(st, 4, user_id);
	}
	rc = store_step(st);
	store_done(st);
	return rc == STORE_DONE ? STORE_OK : rc;
}

/*
 * The sign-in throttle: a fixed table of keys ("a" address, "e" email)
 * hashed, with a key random per process (so collisions cannot be planned),
 * into slots. A slot whose window and lock have run out is taken over by
 * the next key; a live one is shared by the keys that meet there, which
 * only makes them throttle each other: never lets anyone through more often.
 */
#define THROTTLE_SLOTS 4096

static struct throttle {
	int64_t window_start_us;
	int failures;		/* in the window, attempts in progress included */
	int in_a_row;		/* consecutive, accounts only */
	int64_t locked_until_us;
} throttle[THROTTLE_SLOTS];
static pthread_mutex_t throttle_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char throttle_key[crypto_generichash_KEYBYTES];
static pthread_once_t throttle_once = PTHREAD_ONCE_INIT;

static void throttle_init(void)
{
	randombytes_buf(throttle_key, sizeof throttle_key);
}

/* The slot of a key; the caller holds throttle_lock. */
static struct throttle *throttle_slot(char kind, const char *text, int64_t now)
{
	int64_t window = (int64_t)auth_limits.login_window * 1000000;
	crypto_generichash_state h;
	unsigned char d[8];
	struct throttle *t;
	uint64_t v;

	crypto_generichash_init(&h, throttle_key, sizeof throttle_key, sizeof d);
	crypto_generichash_update(&h, (const unsigned char *)&kind, 1);
	crypto_generichash_update(&h, (const unsigned char *)text, strlen(text));
	crypto_generichash_final(&h, d, sizeof d);
	memcpy(&v, d, sizeof v);
	t = &throttle[v % THROTTLE_SLOTS];
	if (now - t->window_start_us >= window) {	/* the window ran out */
		t->window_start_us = now;
		t->failures = 0;
	}
	return t;
}

/* Seconds to wait on this slot (0: none); the caller holds throttle_lock. */
static int throttle_wait(struct throttle *t, int max_failures, int64_t now)
{
	int64_t window = (int64_t)auth_limits.login_window * 1000000;

	if (t->locked_until_us > now)
		return (int)((t->locked_until_us - now) / 1000000) + 1;
	if (t->failures >= max_failures)
		return (int)((t->window_start_us + window - now) / 1000000) + 1;
	return 0;
}

/* An address may fail for several accounts behind it (an office). */
#define ADDRESS_FACTOR 4

int auth_login_wait(const char *address, const char *email)
{
	int64_t now = time_mono_us();
	struct throttle *a, *e;
	int wa, we;

	pthread_once(&throttle_once, throttle_init);
	pthread_mutex_lock(&throttle_lock);
	a = throttle_slot('a', address, now);
	e = throttle_slot('e', email, now);
	wa = throttle_wait(a, auth_limits.login_failures * ADDRESS_FACTOR, now);
	we = throttle_wait(e, auth_limits.login_failures, now);
	if (!wa && !we) {
		/* counted as a failure until it is known not to be one, so that
		 * attempts side by side cannot pass the limit together */
		a->failures++;
		e->failures++;
	}
	pthread_mutex_unlock(&throttle_lock);
	return wa > we ? wa : we;
}

void auth_login_forget(const char *email)
{
	struct throttle *t;

	pthread_once(&throttle_once, throttle_init);
	pthread_mutex_lock(&throttle_lock);
	t = throttle_slot('e', email, time_mono_us());
	t->failures = 0;
	t->in_a_row = 0;
	t->locked_until_us = 0;
	pthread_mutex_unlock(&throttle_lock);
}

void auth_login_result(const char *address, const char *email, int ok)
{
	int64_t now = time_mono_us();
	struct throttle *a, *e;

	pthread_once(&throttle_once, throttle_init);
	pthread_mutex_lock(&throttle_lock);
	a = throttle_slot('a', address, now);
	e = throttle_slot('e', email, now);
	if (ok) {	/* it was not a failure after all */
		if (a->failures > 0)
			a->failures--;
		if (e->failures > 0)
			e->failures--;
		e->in_a_row = 0;
	} else if (++e->in_a_row >= auth_limits.lockout_after) {
		e->in_a_row = 0;
		e->locked_until_us = now + (int64_t)auth_limits.lockout_seconds * 1000000;
	}
	pthread_mutex_unlock(&throttle_lock);
}

struct secret_job {
	const char *name;
};

static int secret_insert(struct store_conn *c, void *arg)
{
	struct secret_job *j = arg;
	unsigned char r[32];
	char hex[65];
	struct store_stmt *st;
	int rc;

	randombytes_buf(r, sizeof r);
	hex_encode(r, sizeof r, hex);
	st = store_prepare(c, "INSERT INTO settings (key, value) VALUES (?, ?) "
			      "ON CONFLICT (key) DO NOTHING");
	if (!st)
		return STORE_ERROR;
	store_bind_text(st, 1, j->name, strlen(j->name));
	store_bind_text(st, 2, hex, strlen(hex));
	rc = store_step(st);
	store_done(st);
	return rc == STORE_DONE ? STORE_OK : rc;
}

static int secret_read(struct store_conn *c, const char *name, unsigned char out[32])
{
	struct store_stmt *st = store_prepare(c, "SELECT value FROM settings WHERE key = ?");
	int rc, ok = 0;

	if (!st)
		return -1;
	store_bind_text(st, 1, name, strlen(name));
	rc = store_step(st);
	if (rc == STORE_ROW) {
		size_t len;
		const char *hex = store_col_text(st, 0, &len);

		ok = hex && len == 64 &&
		     sodium_hex2bin(out, 32, hex, len, NULL, NULL, NULL) == 0;
	}
	store_done(st);
	return rc == STORE_ROW && ok ? 1 : rc == STORE_DONE ? 0 : -1;
}

int auth_secret(struct store *s, const char *name, unsigned char out[32])
{
	struct secret_job job = { name };
	struct store_conn *c = store_acquire(s);
	int rc;

	if (!c)
		return -1;
	rc = secret_read(c, name, out);
	if (rc == 0 && store_write(s, secret_insert, &job) == STORE_OK)
		rc = secret_read(c, name, out);
	store_release(c);
	return rc == 1 ? 0 : -1;
}
