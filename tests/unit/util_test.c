/* Unit tests of src/lib: buffers, number and time parsing, UTF-8, JSON depth,
 * base64url, the error table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/err.h"
#include "lib/util.h"

static void test_buf_ceiling(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 10);
	assert_int_equal(buf_puts(&b, "hello"), 0);
	assert_int_equal(buf_printf(&b, "%d", 1234), 0);
	assert_string_equal(b.data, "hello1234");
	assert_int_equal(buf_puts(&b, "xx"), -1);	/* would pass the ceiling */
	assert_string_equal(b.data, "hello1234");	/* and nothing was added */
	assert_int_equal(buf_puts(&b, "x"), 0);
	assert_int_equal(b.len, 10);
	buf_free(&b);
}

static void test_parse_i64(void **state)
{
	int64_t v = 0;

	(void)state;
	assert_int_equal(parse_i64("42", 2, 1, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(parse_i64("-5", 2, -10, 10, &v), 0);
	assert_int_equal(v, -5);
	assert_int_equal(parse_i64("101", 3, 1, 100, &v), -1);
	assert_int_equal(parse_i64("", 0, 0, 100, &v), -1);
	assert_int_equal(parse_i64("12a", 3, 0, 100, &v), -1);
	assert_int_equal(parse_i64("-", 1, -10, 10, &v), -1);
	assert_int_equal(parse_i64("99999999999999999999", 20, 0, INT64_MAX, &v), -1);
	assert_int_equal(parse_i64("9223372036854775807", 19, 0, INT64_MAX, &v), 0);
	assert_true(v == INT64_MAX);
	/* only the given length is read */
	assert_int_equal(parse_i64("12345", 2, 0, 100, &v), 0);
	assert_int_equal(v, 12);
}

static void test_time(void **state)
{
	char out[TIME_BUF];

	(void)state;
	assert_int_equal(time_parse_rfc3339("2026-01-31T09:30:00Z", out), 0);
	assert_string_equal(out, "2026-01-31T09:30:00Z");
	assert_int_equal(time_parse_rfc3339("2026-01-31T09:30:00.123+02:00", out), 0);
	assert_string_equal(out, "2026-01-31T07:30:00Z");
	assert_int_equal(time_parse_rfc3339("2026-01-01T01:00:00-03:30", out), 0);
	assert_string_equal(out, "2026-01-01T04:30:00Z");
	assert_int_equal(time_parse_rfc3339("0001-01-01T00:30:00+00:00", out), 0);
	assert_string_equal(out, "0001-01-01T00:30:00Z");
	assert_int_equal(time_parse_rfc3339("0001-01-01T00:30:00+01:00", out), -1);
	assert_int_equal(time_parse_rfc3339("2026-02-29T00:00:00Z", out), -1);
	assert_int_equal(time_parse_rfc3339("2024-02-29T00:00:00Z", out), 0);
	assert_int_equal(time_parse_rfc3339("2026-01-31 09:30:00", out), -1);
	assert_int_equal(time_parse_rfc3339("2026-13-01T00:00:00Z", out), -1);
	assert_int_equal(time_parse_rfc3339("2026-01-01T24:00:00Z", out), -1);
	assert_int_equal(time_parse_rfc3339("yesterday", out), -1);
	assert_int_equal(time_parse_rfc3339("2026-01-01T00:00:00Zjunk", out), -1);
	assert_int_equal(time_parse_date("2026-12-31"), 0);
	assert_int_equal(time_parse_date("2026-04-31"), -1);
	assert_int_equal(time_parse_date("2026-1-1"), -1);
}

static void test_utf8(void **state)
{
	(void)state;
	assert_true(utf8_valid("plain", 5));
	assert_true(utf8_valid("\xc3\xa5\xc3\xa4\xc3\xb6", 6));		/* åäö */
	assert_true(utf8_valid("\xf0\x9f\x98\x80", 4));			/* emoji */
	assert_false(utf8_valid("\xc3", 1));				/* truncated */
	assert_false(utf8_valid("\xc0\xaf", 2));			/* overlong */
	assert_false(utf8_valid("\xed\xa0\x80", 3));			/* surrogate */
	assert_false(utf8_valid("\xff", 1));
	assert_false(utf8_valid("\xf4\x90\x80\x80", 4));		/* past U+10FFFF */
	assert_int_equal(utf8_len("\xc3\xa5" "a"), 2);
}

static void test_json_depth(void **state)
{
	(void)state;
	assert_int_equal(json_depth("{}", 2), 1);
	assert_int_equal(json_depth("{\"a\":[[1]]}", 11), 3);
	assert_int_equal(json_depth("{\"a\":\"[[[[\"}", 12), 1);	/* brackets in strings */
	assert_int_equal(json_depth("{\"a\":\"\\\"[[\"}", 12), 1);	/* escaped quote */
}

static void test_b64url(void **state)
{
	unsigned char in[] = { 0xfb, 0xff, 0x00, 0x10, 0x20 }, out[16];
	char text[16];

	(void)state;
	for (size_t n = 0; n <= sizeof in; n++) {
		size_t len = b64url_encode(in, n, text);

		assert_int_equal(b64url_decode(text, len, out), (long)n);
		assert_memory_equal(in, out, n);
	}
	assert_int_equal(b64url_decode("a+b/", 4, out), -1);	/* not the url alphabet */
	assert_int_equal(b64url_decode("abcde", 5, out), -1);	/* impossible length */
}

static void test_err(void **state)
{
	struct err e = { 0 };
	json_t *j;

	(void)state;
	assert_int_equal(err_status(E_STALE), 412);
	assert_int_equal(err_status(E_INVALID_REFERENCE), 422);
	assert_string_equal(err_name(E_PRECONDITION_REQUIRED), "precondition_required");
	err_field(&e, "name", "is required");
	err_field(&e, "kind", "must be one of: a, b");
	assert_int_equal(e.code, E_VALIDATION);
	err_field_code(&e, E_INVALID_REFERENCE, "person_id", "no person with id 9");
	assert_int_equal(e.code, E_INVALID_REFERENCE);
	j = err_json(&e);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
			    "invalid_reference");
	assert_int_equal(json_object_size(json_object_get(json_object_get(j, "error"), "fields")), 3);
	json_decref(j);
	err_clear(&e);
	assert_int_equal(e.code, E_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_ceiling),
		cmocka_unit_test(test_parse_i64),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_json_depth),
		cmocka_unit_test(test_b64url),
		cmocka_unit_test(test_err),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
