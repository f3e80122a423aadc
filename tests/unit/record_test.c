/* Unit tests of src/domain: decoding bodies, the generic writes, lists and
 * cursors, and the entity rules, on a real SQLite store in a temp folder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "domain/auth.h"
#include "domain/record.h"
#include "store/store.h"

struct fixture {
	char dir[64];
	struct store *s;
};

static int owner_job(struct store_conn *c, void *arg)
{
	int64_t id;

	return auth_user_create(c, "owner@example.com", "Owner", "admin", "password1", &id, arg);
}

static int setup(void **state)
{
	struct err e = { 0 };
	struct fixture *f = calloc(1, sizeof *f);
	char path[128], why[256];
	int applied;
	unsigned char key[32] = { 1, 2, 3 };

	snprintf(f->dir, sizeof f->dir, "/tmp/rapport-record-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(path, sizeof path, "%s/t.db", f->dir);
	if (auth_init() || store_open(path, &f->s, why, sizeof why) ||
	    store_migrate(f->s, &applied, why, sizeof why)) {
		fprintf(stderr, "setup: %s\n", why);
		return -1;
	}
	if (store_write(f->s, owner_job, &e) != STORE_OK)
		return -1;
	record_set_cursor_key(key, sizeof key);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	store_close(f->s);
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* ---- a write job that inserts, updates or deletes one record ---- */

struct job {
	const struct entity *ent;
	json_t *input;
	int64_t id, version;
	int op;			/* 0 insert, 1 update, 2 delete */
	json_t *out;
	struct err e;
};

static const struct principal admin = { .user_id = 1, .role = "admin" };

static int run_job(struct store_conn *c, void *arg)
{
	struct job *j = arg;

	if (j->op == 0)
		return record_insert(c, j->ent, j->input, &admin, &j->out, &j->e);
	if (j->op == 1)
		return record_update(c, j->ent, j->id, j->version, j->input, &admin, &j->out,
				     &j->e);
	return record_delete(c, j->ent, j->id, j->version, &admin, &j->e);
}

/* Decodes text and runs the op; returns the job's err code, sets *out. */
static enum err_code write_rec(struct fixture *f, const struct entity *ent, int op, int64_t id,
			       int64_t version, const char *text, json_t **out)
{
	struct job j = { .ent = ent, .op = op, .id = id, .version = version };
	json_t *body = text ? json_loads(text, 0, NULL) : NULL;
	enum err_code code;

	if (text) {
		assert_non_null(body);
		j.input = record_decode(ent, body, op == 1, &j.e);
		json_decref(body);
		if (!j.input) {
			code = j.e.code;
			err_clear(&j.e);
			return code;
		}
	}
	store_write(f->s, run_job, &j);
	code = j.e.code;
	if (out)
		*out = j.out;
	else
		json_decref(j.out);
	json_decref(j.input);
	err_clear(&j.e);
	return code;
}

static int64_t new_org(struct fixture *f, const char *text)
{
	json_t *rec = NULL;

	assert_int_equal(write_rec(f, &organization_entity, 0, 0, 0, text, &rec), E_OK);
	int64_t id = json_integer_value(json_object_get(rec, "id"));
	json_decref(rec);
	return id;
}

static void test_decode(void **state)
{
	struct err e = { 0 };
	json_t *body, *in;
	char name[512];

	(void)state;
	body = json_loads("{\"name\":\"A\",\"kind\":\"planet\",\"size\":3,\"id\":4}", 0, NULL);
	assert_null(record_decode(&organization_entity, body, 0, &e));
	assert_int_equal(e.code, E_VALIDATION);
	assert_non_null(json_object_get(e.fields, "kind"));
	assert_non_null(json_object_get(e.fields, "size"));
	assert_non_null(json_object_get(e.fields, "id"));
	json_decref(body);
	err_clear(&e);

	/* 200 two-byte characters fit; 201 do not */
	name[0] = 0;
	for (int i = 0; i < 200; i++)
		strcat(name, "\xc3\xa5");
	body = json_pack("{s:s, s:s}", "name", name, "kind", "client");
	in = record_decode(&organization_entity, body, 0, &e);
	assert_non_null(in);
	json_decref(in);
	json_decref(body);
	strcat(name, "a");
	body = json_pack("{s:s, s:s}", "name", name, "kind", "client");
	assert_null(record_decode(&organization_entity, body, 0, &e));
	assert_non_null(json_object_get(e.fields, "name"));
	json_decref(body);
	err_clear(&e);

	/* missing required fields on create, fine on patch */
	body = json_loads("{\"title\":\"CFO\"}", 0, NULL);
	assert_null(record_decode(&affiliation_entity, body, 0, &e));
	assert_int_equal(json_object_size(e.fields), 3);
	err_clear(&e);
	in = record_decode(&affiliation_entity, body, 1, &e);
	assert_non_null(in);
	json_decref(in);
	json_decref(body);

	/* times are normalised, tags deduplicated */
	body = json_loads("{\"kind\":\"call\",\"direction\":\"inbound\","
			  "\"occurred_at\":\"2026-03-01T10:00:00+01:00\",\"tags\":[\"a\",\" a \",\"b\"]}",
			  0, NULL);
	in = record_decode(&interaction_entity, body, 0, &e);
	assert_non_null(in);
	assert_string_equal(json_string_value(json_object_get(in, "occurred_at")),
			    "2026-03-01T09:00:00Z");
	assert_int_equal(json_array_size(json_object_get(in, "tags")), 2);
	json_decref(in);
	json_decref(body);

	/* wrong types */
	body = json_loads("{\"kind\":\"call\",\"direction\":\"inbound\",\"occurred_at\":5,"
			  "\"person_ids\":[1,\"x\"],\"organization_id\":-1}", 0, NULL);
	assert_null(record_decode(&interaction_entity, body, 0, &e));
	assert_int_equal(json_object_size(e.fields), 3);
	json_decref(body);
	err_clear(&e);
}

static void test_crud(void **state)
{
	struct fixture *f = *state;
	json_t *rec = NULL;
	int64_t id = new_org(f, "{\"name\":\"Acme\",\"kind\":\"client\",\"tags\":[\"x\"]}");

	assert_int_equal(write_rec(f, &organization_entity, 1, id, 2, "{\"name\":\"B\"}", NULL),
			 E_STALE);
	assert_int_equal(write_rec(f, &organization_entity, 1, id, 1,
				   "{\"name\":\"Acme AB\",\"tier\":\"key\"}", &rec), E_OK);
	assert_int_equal(json_integer_value(json_object_get(rec, "version")), 2);
	assert_string_equal(json_string_value(json_object_get(rec, "name")), "Acme AB");
	assert_string_equal(json_string_value(json_array_get(json_object_get(rec, "tags"), 0)), "x");
	json_decref(rec);
	/* null clears an optional field; a required one cannot be cleared */
	assert_int_equal(write_rec(f, &organization_entity, 1, id, 2, "{\"tier\":null}", &rec), E_OK);
	assert_true(json_is_null(json_object_get(rec, "tier")));
	json_decref(rec);
	assert_int_equal(write_rec(f, &organization_entity, 1, id, 3, "{\"kind\":null}", NULL),
			 E_VALIDATION);
	assert_int_equal(write_rec(f, &organization_entity, 1, 9999, 1, "{\"name\":\"x\"}", NULL),
			 E_NOT_FOUND);
	assert_int_equal(write_rec(f, &organization_entity, 2, id, 1, NULL, NULL), E_STALE);
	assert_int_equal(write_rec(f, &organization_entity, 2, id, 3, NULL, NULL), E_OK);
	assert_int_equal(write_rec(f, &organization_entity, 2, id, 3, NULL, NULL), E_NOT_FOUND);
}

static void test_references(void **state)
{
	struct fixture *f = *state;
	int64_t org = new_org(f, "{\"name\":\"Ref Org\",\"kind\":\"supplier\"}");
	json_t *p = NULL;
	char text[256];

	assert_int_equal(write_rec(f, &person_entity, 0, 0, 0,
				   "{\"family_name\":\"Ek\",\"emails\":[\"a@b.se\"]}", &p), E_OK);
	snprintf(text, sizeof text, "{\"person_id\":99999,\"organization_id\":%lld,\"role\":\"user\"}",
		 (long long)org);
	assert_int_equal(write_rec(f, &affiliation_entity, 0, 0, 0, text, NULL),
			 E_INVALID_REFERENCE);
	snprintf(text, sizeof text, "{\"person_id\":%lld,\"organization_id\":%lld,\"role\":\"user\","
		 "\"started_on\":\"2026-02-01\",\"ended_on\":\"2026-01-01\"}",
		 (long long)json_integer_value(json_object_get(p, "id")), (long long)org);
	assert_int_equal(write_rec(f, &affiliation_entity, 0, 0, 0, text, NULL), E_VALIDATION);
	snprintf(text, sizeof text, "{\"person_id\":%lld,\"organization_id\":%lld,\"role\":\"user\"}",
		 (long long)json_integer_value(json_object_get(p, "id")), (long long)org);
	assert_int_equal(write_rec(f, &affiliation_entity, 0, 0, 0, text, NULL), E_OK);
	/* the organization is referenced now: deleting it conflicts */
	assert_int_equal(write_rec(f, &organization_entity, 2, org, 1, NULL, NULL), E_CONFLICT);
	/* a person needs a name */
	assert_int_equal(write_rec(f, &person_entity, 0, 0, 0, "{\"emails\":[\"x@y.se\"]}", NULL),
			 E_VALIDATION);
	assert_int_equal(write_rec(f, &person_entity, 0, 0, 0,
				   "{\"given_name\":\"A\",\"emails\":[\"not-an-email\"]}", NULL),
			 E_VALIDATION);
	json_decref(p);
}

static void test_business_units(void **state)
{
	struct fixture *f = *state;
	int64_t bu = new_org(f, "{\"name\":\"BU\",\"kind\":\"business_unit\"}");
	int64_t client = new_org(f, "{\"name\":\"C\",\"kind\":\"client\"}");
	char text[128];
	int64_t sub;

	snprintf(text, sizeof text, "{\"name\":\"Sub\",\"kind\":\"business_unit\",\"parent_id\":%lld}",
		 (long long)client);
	assert_int_equal(write_rec(f, &organization_entity, 0, 0, 0, text, NULL), E_VALIDATION);
	snprintf(text, sizeof text, "{\"name\":\"Sub\",\"kind\":\"business_unit\",\"parent_id\":%lld}",
		 (long long)bu);
	sub = new_org(f, text);
	/* making the parent a child of its child would be a cycle */
	snprintf(text, sizeof text, "{\"parent_id\":%lld}", (long long)sub);
	assert_int_equal(write_rec(f, &organization_entity, 1, bu, 1, text, NULL), E_VALIDATION);
	snprintf(text, sizeof text, "{\"parent_id\":%lld}", (long long)bu);
	assert_int_equal(write_rec(f, &organization_entity, 1, bu, 1, text, NULL), E_VALIDATION);
}

static void test_custom_fields(void **state)
{
	struct fixture *f = *state;
	json_t *rec = NULL;

	assert_int_equal(write_rec(f, &custom_field_entity, 0, 0, 0,
				   "{\"entity\":\"person\",\"name\":\"shoe_size\",\"type\":\"integer\"}",
				   NULL), E_OK);
	assert_int_equal(write_rec(f, &custom_field_entity, 0, 0, 0,
				   "{\"entity\":\"person\",\"name\":\"shoe_size\",\"type\":\"text\"}",
				   NULL), E_CONFLICT);
	assert_int_equal(write_rec(f, &custom_field_entity, 0, 0, 0,
				   "{\"entity\":\"person\",\"name\":\"level\",\"type\":\"enum\"}",
				   NULL), E_VALIDATION);
	assert_int_equal(write_rec(f, &custom_field_entity, 0, 0, 0,
				   "{\"entity\":\"person\",\"name\":\"Bad Name\",\"type\":\"text\"}",
				   NULL), E_VALIDATION);
	assert_int_equal(write_rec(f, &custom_field_entity, 0, 0, 0,
				   "{\"entity\":\"person\",\"name\":\"level\",\"type\":\"enum\","
				   "\"options\":[\"junior\",\"senior\"]}", NULL), E_OK);
	assert_int_equal(write_rec(f, &person_entity, 0, 0, 0,
				   "{\"given_name\":\"A\",\"custom\":{\"shoe_size\":\"big\"}}", NULL),
			 E_VALIDATION);
	assert_int_equal(write_rec(f, &person_entity, 0, 0, 0,
				   "{\"given_name\":\"A\",\"custom\":{\"hat\":1}}", NULL),
			 E_VALIDATION);
	assert_int_equal(write_rec(f, &person_entity, 0, 0, 0,
				   "{\"given_name\":\"A\",\"custom\":{\"level\":\"boss\"}}", NULL),
			 E_VALIDATION);
	assert_int_equal(write_rec(f, &person_entity, 0, 0, 0,
				   "{\"given_name\":\"A\",\"custom\":{\"shoe_size\":44,\"level\":\"senior\"}}",
				   &rec), E_OK);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(rec, "custom"),
							     "shoe_size")), 44);
	json_decref(rec);
}

/* Pages through a list collecting ids; returns the count. */
static int page_all(struct fixture *f, const char *sort, const char *kind, int64_t *ids, int max)
{
	struct store_conn *c = store_acquire(f->s);
	char cursor[1100] = "";
	int n = 0;

	for (;;) {
		struct list_param p[4] = { { "limit", "3" }, { "sort", sort }, { "kind", kind } };
		size_t np = 3;
		struct err e = { 0 };
		json_t *page, *item, *next;
		size_t i;

		if (cursor[0])
			p[np++] = (struct list_param){ "cursor", cursor };
		page = record_list(f->s, c, &organization_entity, p, np, NULL, &e);
		assert_non_null(page);
		json_array_foreach(json_object_get(page, "items"), i, item) {
			assert_true(n < max);
			ids[n++] = json_integer_value(json_object_get(item, "id"));
		}
		next = json_object_get(page, "next_cursor");
		if (json_is_null(next)) {
			json_decref(page);
			break;
		}
		snprintf(cursor, sizeof cursor, "%s", json_string_value(next));
		json_decref(page);
	}
	store_release(c);
	return n;
}

static void test_lists(void **state)
{
	struct fixture *f = *state;
	static const char *names[] = { "Delta", "alpha", "Charlie", "Bravo", "Echo", "Foxtrot", "Golf" };
	int64_t ids[64];
	char text[128];
	int n;

	for (size_t i = 0; i < 7; i++) {
		snprintf(text, sizeof text, "{\"name\":\"%s\",\"kind\":\"prospect\"%s}", names[i],
			 i % 2 ? ",\"tier\":\"key\"" : "");
		new_org(f, text);
	}
	n = page_all(f, "name", "prospect", ids, 64);
	assert_int_equal(n, 7);
	n = page_all(f, "-id", "prospect", ids, 64);
	assert_int_equal(n, 7);
	for (int i = 1; i < n; i++)
		assert_true(ids[i] < ids[i - 1]);
	/* nulls in the sort column are paged over too, both ways */
	assert_int_equal(page_all(f, "tier", "prospect", ids, 64), 7);
	assert_int_equal(page_all(f, "-tier", "prospect", ids, 64), 7);
	for (int i = 0; i < n; i++)
		for (int k = i + 1; k < n; k++)
			assert_true(ids[i] != ids[k]);
}

static void expect_list_error(struct fixture *f, const struct list_param *p, size_t n,
			      enum err_code code)
{
	struct store_conn *c = store_acquire(f->s);
	struct err e = { 0 };

	assert_null(record_list(f->s, c, &organization_entity, p, n, NULL, &e));
	assert_int_equal(e.code, code);
	err_clear(&e);
	store_release(c);
}

static void test_list_errors(void **state)
{
	struct fixture *f = *state;
	struct store_conn *c = store_acquire(f->s);
	struct list_param ok[] = { { "limit", "1" } };
	struct err e = { 0 };
	json_t *page = record_list(f->s, c, &organization_entity, ok, 1, NULL, &e);
	char cursor[1100];

	store_release(c);
	assert_non_null(page);
	snprintf(cursor, sizeof cursor, "%s", json_string_value(json_object_get(page, "next_cursor")));
	json_decref(page);
	{
		struct list_param p[] = { { "limit", "0" } };
		expect_list_error(f, p, 1, E_BAD_PARAM);
	}
	{
		struct list_param p[] = { { "limit", "201" } };
		expect_list_error(f, p, 1, E_BAD_PARAM);
	}
	{
		struct list_param p[] = { { "sort", "notes" } };
		expect_list_error(f, p, 1, E_BAD_PARAM);
	}
	{
		struct list_param p[] = { { "website", "x" } };
		expect_list_error(f, p, 1, E_BAD_PARAM);
	}
	{
		struct list_param p[] = { { "kind", "planet" } };
		expect_list_error(f, p, 1, E_BAD_PARAM);
	}
	{
		struct list_param p[] = { { "q", "!!!" } };
		expect_list_error(f, p, 1, E_BAD_PARAM);
	}
	{
		struct list_param p[] = { { "cursor", cursor }, { "sort", "name" } };
		expect_list_error(f, p, 2, E_BAD_CURSOR);
	}
	cursor[3] = cursor[3] == 'A' ? 'B' : 'A';
	{
		struct list_param p[] = { { "cursor", cursor } };
		expect_list_error(f, p, 1, E_BAD_CURSOR);
	}
	{
		struct list_param p[] = { { "cursor", "garbage" } };
		expect_list_error(f, p, 1, E_BAD_CURSOR);
	}
}

static void test_search(void **state)
{
	struct fixture *f = *state;
	struct store_conn *c;
	struct list_param p[] = { { "q", "zephyr-indus" } };
	struct err e = { 0 };
	json_t *page;

	new_org(f, "{\"name\":\"Zephyr Industries\",\"kind\":\"partner\"}");
	new_org(f, "{\"name\":\"Zephyrus\",\"kind\":\"partner\"}");
	c = store_acquire(f->s);
	page = record_list(f->s, c, &organization_entity, p, 1, NULL, &e);
	store_release(c);
	assert_non_null(page);
	assert_int_equal(json_array_size(json_object_get(page, "items")), 1);
	json_decref(page);
}

static int64_t count_q(struct fixture *f, const char *words)
{
	struct store_conn *c = store_acquire(f->s);
	struct list_param p[] = { { "q", words } };
	struct err e = { 0 };
	json_t *page = record_list(f->s, c, &organization_entity, p, 1, NULL, &e);
	int64_t n;

	store_release(c);
	assert_non_null(page);
	n = (int64_t)json_array_size(json_object_get(page, "items"));
	json_decref(page);
	return n;
}

static int integrity_job(struct store_conn *c, void *arg)
{
	static const char *const checks[] = {
		"INSERT INTO organizations_fts (organizations_fts, rank) VALUES ('integrity-check', 1)",
		"INSERT INTO people_fts (people_fts, rank) VALUES ('integrity-check', 1)",
		"INSERT INTO interactions_fts (interactions_fts, rank) VALUES ('integrity-check', 1)",
	};

	(void)arg;
	for (size_t i = 0; i < 3; i++) {
		struct store_stmt *st = store_prepare(c, checks[i]);
		int rc;

		if (!st)
			return STORE_ERROR;
		rc = store_step(st);
		store_done(st);
		if (rc != STORE_DONE)
			return rc;
	}
	return STORE_OK;
}

/* One batch that adds, renames and removes: the index ends up as the table. */
static int churn_job(struct store_conn *c, void *arg)
{
	const char *texts[] = { "{\"name\":\"Quokka Mining\",\"kind\":\"client\"}",
				"{\"name\":\"Wombat Freight\",\"kind\":\"client\"}" };
	int64_t ids[2];
	struct err *e = arg;

	for (int i = 0; i < 2; i++) {
		json_t *body = json_loads(texts[i], 0, NULL), *in, *rec;

		in = record_decode(&organization_entity, body, 0, e);
		json_decref(body);
		if (!in || record_insert(c, &organization_entity, in, &admin, &rec, e) != STORE_OK)
			return STORE_ERROR;
		ids[i] = json_integer_value(json_object_get(rec, "id"));
		json_decref(rec);
		json_decref(in);
	}
	{
		json_t *in = json_pack("{s:s}", "name", "Platypus Freight"), *rec;
		int rc = record_update(c, &organization_entity, ids[1], 1, in, &admin, &rec, e);

		json_decref(in);
		json_decref(rec);
		if (rc != STORE_OK)
			return rc;
	}
	return record_delete(c, &organization_entity, ids[0], 1, &admin, e);
}

static void test_search_follows_changes(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	char text[96];
	int64_t id;
	json_t *rec = NULL;

	assert_int_equal(store_write(f->s, churn_job, &e), STORE_OK);
	assert_int_equal(count_q(f, "quokka"), 0);
	assert_int_equal(count_q(f, "wombat"), 0);
	assert_int_equal(count_q(f, "platypus"), 1);
	/* and across batches */
	id = new_org(f, "{\"name\":\"Narwhal Shipping\",\"kind\":\"supplier\"}");
	assert_int_equal(count_q(f, "narwhal"), 1);
	assert_int_equal(write_rec(f, &organization_entity, 1, id, 1,
				   "{\"name\":\"Beluga Shipping\"}", &rec), E_OK);
	json_decref(rec);
	assert_int_equal(count_q(f, "narwhal"), 0);
	assert_int_equal(count_q(f, "beluga shipping"), 1);
	/* a refused write leaves the index alone */
	snprintf(text, sizeof text, "{\"name\":\"Orca\",\"parent_id\":%lld}", (long long)id);
	assert_int_equal(write_rec(f, &organization_entity, 1, id, 2, text, NULL), E_VALIDATION);
	assert_int_equal(count_q(f, "orca"), 0);
	assert_int_equal(write_rec(f, &organization_entity, 2, id, 2, NULL, NULL), E_OK);
	assert_int_equal(count_q(f, "beluga"), 0);
	assert_int_equal(store_write(f->s, integrity_job, NULL), STORE_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_crud),
		cmocka_unit_test(test_references),
		cmocka_unit_test(test_business_units),
		cmocka_unit_test(test_custom_fields),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_list_errors),
		cmocka_unit_test(test_search),
		cmocka_unit_test(test_search_follows_changes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
