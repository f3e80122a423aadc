/* Unit tests of src/domain/access.c and audit.c: the role table, the sides
 * of organization kinds, the read conditions each role gets in SQL, and the
 * entity descriptions the access machinery relies on. (The API permission
 * walk in tests/api/access.test.mjs checks the answers end to end.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "domain/access.h"
#include "domain/entity.h"
#include "lib/util.h"

static void test_sides(void **state)
{
	(void)state;
	assert_int_equal(access_kind_side("client"), SIDE_CLIENT);
	assert_int_equal(access_kind_side("prospect"), SIDE_CLIENT);
	assert_int_equal(access_kind_side("competitor"), SIDE_CLIENT);
	assert_int_equal(access_kind_side("supplier"), SIDE_BUSINESS);
	assert_int_equal(access_kind_side("business_unit"), SIDE_BUSINESS);
	assert_int_equal(access_kind_side("community"), SIDE_BUSINESS);
	assert_int_equal(access_kind_side(NULL), SIDE_NONE);
	assert_int_equal(access_kind_side("nonsense"), SIDE_NONE);
	/* every kind an organization can have is on exactly one side */
	for (const char *const *k = organization_kinds; *k; k++)
		assert_int_not_equal(access_kind_side(*k), SIDE_NONE);
}

static void test_roles(void **state)
{
	(void)state;
	for (const char *const *r = user_roles; *r; r++)
		assert_string_equal(access_role(*r)->role, *r);
	assert_true(access_role("admin")->all_units);
	assert_int_equal(access_role("viewer")->write, W_NONE);
	assert_int_equal(access_role("client_rm")->sides, SIDE_CLIENT);
	assert_int_equal(access_role("business_rm")->sides, SIDE_BUSINESS);
	/* an unknown role may do nothing */
	assert_int_equal(access_role("root")->sides, 0);
	assert_int_equal(access_role("root")->write, W_NONE);
}

/* The condition role gets on ent; returns the binds, fills out. */
static int cond(const char *role, const struct entity *ent, char *out, size_t n)
{
	struct principal p = { .user_id = 7 };
	struct buf b;
	int binds;

	snprintf(p.role, sizeof p.role, "%s", role);
	buf_init(&b, 4096);
	buf_puts(&b, "");
	binds = access_read_sql(&p, ent, &b);
	snprintf(out, n, "%s", b.data ? b.data : "");
	buf_free(&b);
	return binds;
}

static void test_read_sql(void **state)
{
	char sql[1024];

	(void)state;
	assert_int_equal(cond("admin", &organization_entity, sql, sizeof sql), 0);
	assert_string_equal(sql, "");
	assert_int_equal(cond("manager", &organization_entity, sql, sizeof sql), 1);
	assert_non_null(strstr(sql, "user_units"));
	assert_null(strstr(sql, "kind"));
	assert_int_equal(cond("client_rm", &organization_entity, sql, sizeof sql), 1);
	assert_non_null(strstr(sql, "t.kind IN ('client', 'prospect', 'competitor')"));
	assert_int_equal(cond("business_rm", &interaction_entity, sql, sizeof sql), 1);
	assert_non_null(strstr(sql, "t.organization_id IS NULL OR t.organization_id IN"));
	assert_non_null(strstr(sql, "'supplier'"));
	assert_null(strstr(sql, "'client'"));
	/* people are on no side: only the units */
	assert_int_equal(cond("client_rm", &person_entity, sql, sizeof sql), 1);
	assert_null(strstr(sql, "kind"));
	/* directory entities: everyone reads */
	assert_int_equal(cond("viewer", &user_entity, sql, sizeof sql), 0);
	assert_string_equal(sql, "");
	/* the audit: admins all, managers their units, others nothing */
	assert_int_equal(cond("admin", &audit_entity, sql, sizeof sql), 0);
	assert_int_equal(cond("manager", &audit_entity, sql, sizeof sql), 1);
	assert_int_equal(cond("viewer", &audit_entity, sql, sizeof sql), -1);
	assert_int_equal(cond("client_rm", &audit_entity, sql, sizeof sql), -1);
	/* the server itself has no condition */
	{
		struct buf b;

		buf_init(&b, 64);
		assert_int_equal(access_read_sql(NULL, &organization_entity, &b), 0);
		buf_free(&b);
	}
}

/* What the machinery relies on in the descriptions. */
static void test_descriptions(void **state)
{
	(void)state;
	for (size_t i = 0; entities[i]; i++) {
		const struct entity *ent = entities[i];

		if (ent->access == ACCESS_SCOPED && !ent->admin_write) {
			const struct field *f = entity_field(ent, "business_unit_id");

			assert_non_null(f);
			assert_true(f->unit);
		}
		if (ent->side_kind)
			assert_non_null(entity_field(ent, ent->side_kind));
		if (ent->side_via)
			assert_ptr_equal(entity_field(ent, ent->side_via)->ref, &organization_entity);
		for (size_t j = 0; j < ent->nfields; j++)
			if (ent->fields[j].type == F_PASSWORD)
				assert_non_null(ent->fields[j].column);
	}
	assert_true(audit_entity.read_only);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sides),
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_read_sql),
		cmocka_unit_test(test_descriptions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
