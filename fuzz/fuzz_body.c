/*
 * libFuzzer target: what a request body goes through before any store is
 * touched, in the order parse_body() (src/http/router.c) applies it:
 * utf8_valid, json_depth, json_loadb with JSON_REJECT_DUPLICATES, must be an
 * object; then record_decode() for every entity, as a create (patch 0) and
 * as a change (patch 1), and the entity's check hook where it needs no store.
 *
 * Input: the body bytes as they came.
 *
 * Besides the sanitizers, it checks:
 *  - utf8_valid agrees with a second, table-driven decoder written here;
 *  - json_depth equals the real nesting of any text jansson accepts;
 *  - record_decode returns a value exactly when it leaves no error, only
 *    keys of the body, and is idempotent: decoding its own output gives the
 *    same output (normalised times stay as they are, lists stay deduplicated);
 *  - the error turns into JSON (err_json) for any field name.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "domain/entity.h"
#include "domain/record.h"
#include "domain/rules.h"
#include "lib/err.h"
#include "lib/limits.h"
#include "lib/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                     \
	do {                                                                            \
		if (!(cond)) {                                                          \
			fprintf(stderr, "fuzz_body: %s:%d: %s does not hold\n", __FILE__, \
				__LINE__, #cond);                                       \
			abort();                                                        \
		}                                                                       \
	} while (0)

/* Well-formed UTF-8 after the Unicode standard's table 3-7, byte ranges per lead. */
static int utf8_reference(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = p[i];
		unsigned char lo = 0x80, hi = 0xBF;
		size_t len;

		if (c <= 0x7F) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			len = 2;
		else if (c == 0xE0)
			len = 3, lo = 0xA0;
		else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
			len = 3;
		else if (c == 0xED)
			len = 3, hi = 0x9F;
		else if (c == 0xF0)
			len = 4, lo = 0x90;
		else if (c >= 0xF1 && c <= 0xF3)
			len = 4;
		else if (c == 0xF4)
			len = 4, hi = 0x8F;
		else
			return 0;
		if (n - i < len)
			return 0;
		if (p[i + 1] < lo || p[i + 1] > hi)
			return 0;
		for (size_t k = 2; k < len; k++)
			if (p[i + k] < 0x80 || p[i + k] > 0xBF)
				return 0;
		i += len;
	}
	return 1;
}

/* Nesting of arrays and objects in a parsed value; a scalar is 0. */
static int tree_depth(json_t *v)
{
	int max = 0, d;
	const char *key;
	json_t *x;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach(v, key, x)
			if ((d = tree_depth(x)) > max)
				max = d;
		return max + 1;
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			if ((d = tree_depth(x)) > max)
				max = d;
		return max + 1;
	}
	return 0;
}

/* Checks one decode's contract; returns the output (new reference) or NULL. */
static json_t *decode(const struct entity *ent, json_t *body, int patch)
{
	struct err e = { 0 };
	json_t *out = record_decode(ent, body, patch, &e);

	if (out) {
		const char *key;
		json_t *v;

		CHECK(e.code == E_OK);
		CHECK(json_is_object(out));
		json_object_foreach(out, key, v)
			CHECK(json_object_get(body, key) != NULL);
	} else {
		json_t *j;

		CHECK(e.code != E_OK);
		CHECK(e.code == E_VALIDATION || e.code == E_INVALID_JSON);
		CHECK(memchr(e.message, 0, sizeof e.message) != NULL);
		j = err_json(&e);
		CHECK(j != NULL);
		json_decref(j);
	}
	err_clear(&e);
	return out;
}

/*
 * The check hooks of a create that read the store only in some cases, run
 * in the cases that do not (organization without a parent, interaction not
 * deriving its thread); person, affiliation and custom field never read it.
 */
static void run_check(const struct entity *ent, json_t *rec)
{
	struct err e = { 0 };

	if (!ent->check)
		return;
	/* others (user_check, ...) may read the store: not here */
	if (ent != &organization_entity && ent != &person_entity && ent != &affiliation_entity &&
	    ent != &interaction_entity && ent != &custom_field_entity)
		return;
	if (ent == &organization_entity && json_integer_value(json_object_get(rec, "parent_id")))
		return;
	if (ent == &interaction_entity &&
	    json_integer_value(json_object_get(rec, "reply_to_id")) &&
	    !json_integer_value(json_object_get(rec, "thread_id")))
		return;
	if (ent->check(ent, NULL, rec, NULL, &e) == 0)
		CHECK(e.code == E_OK);
	else
		CHECK(e.code != E_OK);
	err_clear(&e);
}

/*
 * body without the entity's password fields: decoding one hashes it with
 * argon2id (tens of milliseconds) and a hash does not decode to itself.
 */
static json_t *without_passwords(const struct entity *ent, json_t *body)
{
	json_t *copy = json_copy(body);

	for (size_t i = 0; i < ent->nfields; i++)
		if (ent->fields[i].type == F_PASSWORD)
			json_object_del(copy, ent->fields[i].name);
	return copy;
}

static void decode_all(json_t *all)
{
	for (size_t i = 0; entities[i]; i++) {
		const struct entity *ent = entities[i];
		json_t *body = without_passwords(ent, all);

		for (int patch = 0; patch <= 1; patch++) {
			json_t *out = decode(ent, body, patch), *again;

			if (!out)
				continue;
			/* the normalised input decodes to itself */
			again = decode(ent, out, patch);
			CHECK(again != NULL);
			CHECK(json_equal(again, out));
			json_decref(again);
			run_check(ent, out);
			json_decref(out);
		}
		json_decref(body);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	json_error_t jerr;
	json_t *any, *body;
	int valid, depth;

	if (size > LIMIT_BODY_BYTES)
		return 0;
	valid = utf8_valid(p, size);
	CHECK(valid == utf8_reference(data, size));
	depth = json_depth(p, size);
	CHECK(depth >= 0);

	/*
	 * any JSON text: the depth scan must see the real nesting (without
	 * duplicate keys, whose dropped values the tree no longer shows)
	 */
	any = json_loadb(p, size, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (any) {
		CHECK(depth == tree_depth(any));
		json_decref(any);
	}

	/* from here on what the server does */
	if (!valid || depth > LIMIT_JSON_DEPTH)
		return 0;
	body = json_loadb(p, size, JSON_REJECT_DUPLICATES, &jerr);
	if (!body)
		return 0;
	if (json_is_object(body))
		decode_all(body);
	json_decref(body);
	return 0;
}
