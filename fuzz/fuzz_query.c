/*
 * libFuzzer target: the query string of a list, with its limit, sort, q,
 * tag, filter and cursor parsing, through record_list_text() on a real
 * SQLite store holding a few records of every entity.
 *
 * Input: a query string, optionally after "COLLECTION?" (or "timeline?",
 * the interactions of organization 1 as GET .../organizations/1/timeline
 * lists them); without one, every entity gets the same query. Pairs are
 * split at '&' and '=' and percent-decoded as libmicrohttpd does ('+' is a
 * space, a bad %XX stays as it is, a decoded NUL ends the string), at most
 * LIMIT_QUERY_PARAMS + 1 of them (the router refuses more).
 *
 * Two kinds of cursor value are rewritten before the call, so the fuzzer can
 * reach past the signature check:
 *   "!" I OP ...   a cursor the server genuinely issued (number I modulo
 *                  their count), changed by OP: '^' then byte pairs
 *                  (position, xor mask) flip bytes; '+' appends the rest;
 *                  '<' then one byte cuts it to that length; else as it is.
 *   "$" JSON       the JSON signed with the server's key, as if issued.
 *
 * Besides the sanitizers, it checks: a failure is a client error
 * (bad_param or bad_cursor, never internal or unavailable); a page is valid
 * JSON with items and next_cursor; the next_cursor it gives is accepted and
 * leads to a page without the records of this one.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "domain/auth.h"
#include "domain/entity.h"
#include "domain/record.h"
#include "lib/err.h"
#include "lib/limits.h"
#include "lib/util.h"
#include "store/store.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                      \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "fuzz_query: %s:%d: %s does not hold\n", __FILE__, \
				__LINE__, #cond);                                        \
			abort();                                                         \
		}                                                                        \
	} while (0)

static struct store *store;
static char dir[256];
static const unsigned char key[32] = "rapport fuzz cursor key 0123456";

#define MAX_CURSORS 256
static char *cursors[MAX_CURSORS];
static size_t ncursors;

/* ---- the store ---- */

static const char *const seed_records[][2] = {
	{ "custom_field", "{\"entity\":\"organization\",\"name\":\"segment\",\"type\":\"enum\","
			  "\"options\":[\"a\",\"b\"]}" },
	{ "custom_field", "{\"entity\":\"person\",\"name\":\"nick\",\"type\":\"text\","
			  "\"max_length\":20}" },
	{ "organization", "{\"name\":\"Acme AB\",\"kind\":\"client\",\"tier\":\"key\","
			  "\"country\":\"SE\",\"city\":\"Stockholm\",\"industry\":\"Steel\","
			  "\"tags\":[\"vip\"],\"custom\":{\"segment\":\"a\"}}" },
	{ "organization", "{\"name\":\"Beta \\\"quoted\\\" \\\\ back\",\"kind\":\"prospect\","
			  "\"tags\":[\"vip\",\"new\"]}" },
	{ "organization", "{\"name\":\"Gamma \\u2713 \\u6771\\u4eac\",\"kind\":\"business_unit\","
			  "\"tier\":\"strategic\",\"country\":\"JP\"}" },
	{ "organization", "{\"name\":\"Delta\\u0001ctl\\ttab\",\"kind\":\"business_unit\","
			  "\"parent_id\":3,\"tier\":\"key\"}" },
	{ "organization", "{\"name\":\"acme lower\",\"kind\":\"partner\",\"industry\":\"Steel\","
			  "\"tags\":[\"a&b=c\"]}" },
	{ "person", "{\"given_name\":\"Ada\",\"family_name\":\"Lovelace\","
		    "\"emails\":[\"ada@example.com\"],\"language\":\"en\",\"custom\":{\"nick\":\"ada\"}}" },
	{ "person", "{\"family_name\":\"Turing\",\"phones\":[\"+44 1\"],\"tags\":[\"vip\"]}" },
	{ "person", "{\"given_name\":\"\\u00c5sa\",\"family_name\":\"\\u00d6berg\",\"language\":\"sv\"}" },
	{ "affiliation", "{\"person_id\":1,\"organization_id\":1,\"role\":\"champion\","
			 "\"is_primary\":true,\"started_on\":\"2020-01-01\"}" },
	{ "affiliation", "{\"person_id\":2,\"organization_id\":1,\"role\":\"user\","
			 "\"ended_on\":\"2024-06-30\"}" },
	{ "affiliation", "{\"person_id\":3,\"organization_id\":2,\"role\":\"finance\"}" },
	{ "interaction", "{\"organization_id\":1,\"kind\":\"meeting\",\"direction\":\"inbound\","
			 "\"occurred_at\":\"2026-01-31T09:30:00+01:00\",\"subject\":\"Kick-off\","
			 "\"person_ids\":[1,2],\"user_ids\":[1],\"tags\":[\"q1\"]}" },
	{ "interaction", "{\"organization_id\":1,\"kind\":\"email\",\"direction\":\"outbound\","
			 "\"occurred_at\":\"2026-02-01T10:00:00Z\",\"subject\":\"Re: Kick-off\","
			 "\"reply_to_id\":1,\"body\":\"steel prices\"}" },
	{ "interaction", "{\"organization_id\":1,\"kind\":\"call\",\"direction\":\"inbound\","
			 "\"occurred_at\":\"2026-02-01T10:00:00Z\",\"channel\":\"phone\"}" },
	{ "interaction", "{\"organization_id\":2,\"kind\":\"note\",\"direction\":\"internal\","
			 "\"occurred_at\":\"2025-12-24T18:00:00-05:00\",\"language\":\"en\"}" },
	{ "interaction", "{\"kind\":\"event\",\"direction\":\"internal\","
			 "\"occurred_at\":\"2024-02-29T12:00:00Z\",\"subject\":\"Fair\"}" },
};

struct seed_job {
	const struct entity *ent;
	json_t *input;
	struct err e;
};

static int owner_job(struct store_conn *c, void *arg)
{
	int64_t id;

	return auth_user_create(c, "fuzz@example.com", "Fuzz", "admin", "fuzz password", &id,
				arg);
}

/* The owner of the seed records; a list with "ROLE:" runs as this user in that role. */
static struct principal as_user = { .user_id = 1, .role = "admin" };

static int seed_job(struct store_conn *c, void *arg)
{
	struct seed_job *j = arg;
	json_t *out = NULL;
	int rc = record_insert(c, j->ent, j->input, &as_user, &out, &j->e);

	json_decref(out);
	return rc;
}

/* At exit: the store and its folder go. (A crash leaves them for a look.) */
static void remove_store(void)
{
	static const char *const files[] = { "t.db", "t.db-wal", "t.db-shm", "t.db-journal" };
	char path[sizeof dir + 16];

	if (store)
		store_close(store);
	store = NULL;
	for (size_t i = 0; i < ncursors; i++)
		free(cursors[i]);
	ncursors = 0;
	for (size_t i = 0; i < nitems(files); i++) {
		snprintf(path, sizeof path, "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

static void die(const char *what, const char *why)
{
	fprintf(stderr, "fuzz_query: %s: %s\n", what, why);
	exit(1);
}

static void open_store(void)
{
	const char *tmp = getenv("TMPDIR");
	char path[sizeof dir + 16], why[256];
	int applied;

	snprintf(dir, sizeof dir, "%s/rapport-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		die("mkdtemp", dir);
	atexit(remove_store);
	snprintf(path, sizeof path, "%s/t.db", dir);
	if (auth_init() != 0)
		die("auth_init", "libsodium");
	if (store_open(path, &store, why, sizeof why) ||
	    store_migrate(store, &applied, why, sizeof why))
		die("store", why);
	record_set_cursor_key(key, sizeof key);
	{
		struct err e = { 0 };

		if (store_write(store, owner_job, &e) != STORE_OK)
			die("owner", e.message);
	}
	for (size_t i = 0; i < nitems(seed_records); i++) {
		const struct entity *ent = entity_by_name(seed_records[i][0]);
		json_t *body = json_loads(seed_records[i][1], 0, NULL);
		struct seed_job j = { .ent = ent };

		if (!ent || !body)
			die("seed", seed_records[i][1]);
		/* a refused record is reported, not fatal: the lists still run */
		if (!(j.input = record_decode(ent, body, 0, &j.e)) ||
		    store_write(store, seed_job, &j) != STORE_OK)
			fprintf(stderr, "fuzz_query: seed record %zu refused: %s\n", i + 1,
				j.e.message);
		json_decref(body);
		json_decref(j.input);
		err_clear(&j.e);
	}
}

/* ---- one list call ---- */

/* record_list_text on a read connection; the page as JSON or NULL with *code. */
static json_t *list(const struct entity *ent, const struct list_param *params, size_t n,
		    const struct list_opts *o, enum err_code *code)
{
	struct store_conn *c = store_acquire(store);
	struct err e = { 0 };
	json_t *page = NULL;
	struct buf b;
	int rc;

	CHECK(c != NULL);
	buf_init(&b, LIMIT_RESPONSE_BYTES);
	rc = record_list_text(store, c, ent, params, n, o, &b, &e);
	store_release(c);
	*code = e.code;
	if (rc == 0) {
		json_error_t jerr;

		CHECK(e.code == E_OK);
		page = json_loadb(b.data, b.len, 0, &jerr);
		if (!page)
			fprintf(stderr, "fuzz_query: not JSON (%s): %.300s\n", jerr.text, b.data);
		CHECK(page != NULL);
		CHECK(json_is_array(json_object_get(page, "items")));
		CHECK(json_array_size(json_object_get(page, "items")) <= LIMIT_LIST_MAX);
		CHECK(json_is_string(json_object_get(page, "next_cursor")) ||
		      json_is_null(json_object_get(page, "next_cursor")));
	} else {
		int client = e.code == E_BAD_PARAM || e.code == E_BAD_CURSOR ||
			     (e.code == E_FORBIDDEN && o && o->who);

		if (!client)
			fprintf(stderr, "fuzz_query: %s: %s (%s)\n", ent->collection,
				err_name(e.code), e.message);
		CHECK(client);
	}
	err_clear(&e);
	buf_free(&b);
	return page;
}

static int page_has_id(json_t *page, json_int_t id)
{
	json_t *it;
	size_t i;

	json_array_foreach(json_object_get(page, "items"), i, it)
		if (json_integer_value(json_object_get(it, "id")) == id)
			return 1;
	return 0;
}

/* Lists, then follows next_cursor once: accepted, and no record twice. */
static void list_and_follow(const struct entity *ent, struct list_param *params, size_t n,
			    const struct list_opts *o)
{
	struct list_param next[LIMIT_QUERY_PARAMS + 2];
	enum err_code code;
	json_t *page = list(ent, params, n, o, &code), *page2, *it;
	const char *cur;
	size_t m = 0, i;

	if (!page)
		return;
	cur = json_string_value(json_object_get(page, "next_cursor"));
	if (cur && n <= LIMIT_QUERY_PARAMS) {
		for (i = 0; i < n; i++)
			if (strcmp(params[i].key, "cursor") != 0)
				next[m++] = params[i];
		next[m].key = "cursor";
		next[m++].value = cur;
		page2 = list(ent, next, m, o, &code);
		if (!page2)
			fprintf(stderr, "fuzz_query: the next_cursor %s was refused\n", cur);
		CHECK(page2 != NULL);
		json_array_foreach(json_object_get(page2, "items"), i, it)
			CHECK(!page_has_id(page, json_integer_value(json_object_get(it, "id"))));
		json_decref(page2);
	}
	json_decref(page);
}

/* ---- the input ---- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

/* Percent-decodes p[0..n) as libmicrohttpd does; a NUL ends the string. */
static char *unescape(const char *p, size_t n)
{
	char *out = xmalloc(n + 1);
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int hi, lo;

		if (p[i] == '+') {
			out[o++] = ' ';
		} else if (p[i] == '%' && i + 2 < n &&
			   (hi = hexval((unsigned char)p[i + 1])) >= 0 &&
			   (lo = hexval((unsigned char)p[i + 2])) >= 0) {
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[o++] = p[i];
		}
	}
	out[o] = 0;
	return out;
}

/* A cursor signed with the server's key, in the server's format. */
static char *sign_cursor(const struct entity *ent, const char *payload)
{
	crypto_auth_hmacsha256_state s;
	unsigned char full[crypto_auth_hmacsha256_BYTES];
	size_t n = strlen(payload);
	char *out = xmalloc(n * 4 / 3 + 4 + 1 + 32 + 4);
	size_t o;

	crypto_auth_hmacsha256_init(&s, key, sizeof key);
	crypto_auth_hmacsha256_update(&s, (const unsigned char *)ent->collection,
				      strlen(ent->collection) + 1);
	crypto_auth_hmacsha256_update(&s, (const unsigned char *)payload, n);
	crypto_auth_hmacsha256_final(&s, full);
	o = b64url_encode((const unsigned char *)payload, n, out);
	out[o++] = '.';
	b64url_encode(full, 16, out + o);
	return out;
}

/* Base64url as cursors use it: what decodes, encodes back to the same text. */
static void check_b64(const char *s)
{
	size_t n = strlen(s);
	unsigned char *bytes;
	char *again;
	long m;

	if (n > LIMIT_CURSOR_BYTES)
		return;
	bytes = xmalloc(n * 3 / 4 + 3);
	m = b64url_decode(s, n, bytes);
	if (m >= 0) {
		again = xmalloc(4 * ((size_t)m / 3 + 1) + 1);
		b64url_encode(bytes, (size_t)m, again);
		if (strcmp(again, s) != 0)
			fprintf(stderr, "fuzz_query: %s decodes but encodes back as %s\n", s, again);
		CHECK(strcmp(again, s) == 0);
		free(again);
	}
	free(bytes);
}

/* params with each "$" cursor signed for ent; the signed ones are new strings. */
static struct list_param *signed_params(const struct entity *ent, const struct list_param *params,
					size_t n, struct list_param *out)
{
	for (size_t k = 0; k < n; k++) {
		out[k] = params[k];
		if (!strcmp(params[k].key, "cursor") && params[k].value[0] == '$')
			out[k].value = sign_cursor(ent, params[k].value + 1);
	}
	return out;
}

/* A genuine cursor changed as "!" I OP ... asks. */
static char *mutate_cursor(const char *v)
{
	const unsigned char *u = (const unsigned char *)v;
	struct buf b;
	char *out;

	if (!ncursors || !u[1])
		return xstrdup(v);
	buf_init(&b, 4 * LIMIT_CURSOR_BYTES);
	buf_puts(&b, cursors[u[1] % ncursors]);
	if (u[2] == '^') {
		for (const unsigned char *p = u + 3; p[0] && p[1]; p += 2) {
			size_t pos = p[0] % b.len;
			char c = (char)(b.data[pos] ^ p[1]);

			if (c)
				b.data[pos] = c;
		}
	} else if (u[2] == '+') {
		buf_puts(&b, v + 3);
	} else if (u[2] == '<' && u[3]) {
		b.len = u[3] % (b.len + 1);
		b.data[b.len] = 0;
	}
	out = xstrdup(b.data);
	buf_free(&b);
	return out;
}

/* Collects the cursors that lists of ent under every sort hand out. */
static void collect_cursors(const struct entity *ent)
{
	struct list_param p[2] = { { "limit", "1" }, { "sort", NULL } };
	char sorts[2][64];

	for (size_t i = 0; i < ent->nfields + 3; i++) {
		const char *name = i == 0 ? "id" : i == 1 ? "created_at" :
				   i == 2 ? "updated_at" : ent->fields[i - 3].name;

		if (i >= 3 && !ent->fields[i - 3].sort)
			continue;
		snprintf(sorts[0], sizeof sorts[0], "%s", name);
		snprintf(sorts[1], sizeof sorts[1], "-%s", name);
		for (int k = 0; k < 2; k++) {
			enum err_code code;
			json_t *page;
			const char *cur;

			p[1].value = sorts[k];
			page = list(ent, p, 2, NULL, &code);
			cur = json_string_value(json_object_get(page, "next_cursor"));
			if (cur && ncursors < MAX_CURSORS)
				cursors[ncursors++] = xstrdup(cur);
			json_decref(page);
		}
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	open_store();
	for (size_t i = 0; entities[i]; i++)
		collect_cursors(entities[i]);
	return 0;
}

/* One entity's list with "$" cursors signed for it, then its next page. */
static void run_list(const struct entity *ent, struct list_param *params, size_t n,
		     const struct list_opts *o)
{
	struct list_param mine[LIMIT_QUERY_PARAMS + 1];

	list_and_follow(ent, signed_params(ent, params, n, mine), n, o);
	for (size_t k = 0; k < n; k++)
		if (mine[k].value != params[k].value)
			free((char *)mine[k].value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *end = text + size, *q = text, *qm, *colon;
	const struct entity *only = NULL;
	struct list_param params[LIMIT_QUERY_PARAMS + 1];
	struct list_opts o = { 0 };
	struct principal who = as_user;
	char *owned[3 * (LIMIT_QUERY_PARAMS + 1)];
	size_t n = 0, nowned = 0;
	int timeline = 0;

	if (size > LIMIT_URL_BYTES)
		return 0;
	/* "ROLE:" first: the list runs as user 1 in that role, else as the server */
	if ((colon = memchr(text, ':', size)) && (size_t)(colon - text) < sizeof who.role) {
		memcpy(who.role, text, (size_t)(colon - text));
		who.role[colon - text] = 0;
		if (enum_has(user_roles, who.role)) {
			o.who = &who;
			q = text = colon + 1;
		}
	}
	if ((qm = memchr(text, '?', (size_t)(end - text)))) {
		size_t len = (size_t)(qm - text);

		if (len == 8 && memcmp(text, "timeline", 8) == 0)
			timeline = 1;
		else
			only = entity_by_collection(text, len);
		if (timeline || only)
			q = qm + 1;
	}
	while (q < end && n < nitems(params)) {
		const char *amp = memchr(q, '&', (size_t)(end - q));
		const char *pe = amp ? amp : end;
		const char *eq = memchr(q, '=', (size_t)(pe - q));
		char *k = unescape(q, (size_t)((eq ? eq : pe) - q));
		char *v = eq ? unescape(eq + 1, (size_t)(pe - eq - 1)) : xstrdup("");

		owned[nowned++] = k;
		params[n].key = k;
		if (!strcmp(k, "cursor") && v[0] == '!') {
			owned[nowned++] = v;
			v = mutate_cursor(v);
		}
		owned[nowned++] = v;
		params[n].value = v;
		if (!strcmp(k, "cursor")) {
			char *dot = strchr(v, '.');

			if (dot) {
				*dot = 0;
				check_b64(v);
				*dot = '.';
				check_b64(dot + 1);
			} else {
				check_b64(v);
			}
		}
		n++;
		q = amp ? amp + 1 : end;
	}
	if (timeline) {
		/* as api_timeline lists an organization's interactions */
		struct list_param forced = { "organization_id", "1" };

		o.forced = &forced;
		o.nforced = 1;
		o.default_sort = "-occurred_at";
		run_list(&interaction_entity, params, n, &o);
	} else {
		for (size_t i = 0; entities[i]; i++)
			if (!only || entities[i] == only)
				run_list(entities[i], params, n, &o);
	}
	for (size_t i = 0; i < nowned; i++)
		free(owned[i]);
	return 0;
}
