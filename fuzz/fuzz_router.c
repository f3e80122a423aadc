/*
 * libFuzzer target: the route lookup, router_find(), on any method and path.
 *
 * Input: "METHOD PATH", split at the first space (no space: all of it is the
 * path and the method is GET). Bytes after a NUL are not seen, as a C string
 * from libmicrohttpd would not show them.
 *
 * Besides the sanitizers, it checks what router_find promises: a found route
 * names a known entity and an id that the path spells; -2 lists in Allow
 * only methods that then do find the route; the Allow text is written within
 * allow_len for every length (each is a heap block of exactly that size, so
 * ASan sees a byte too many).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/entity.h"
#include "http/router.h"
#include "lib/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                       \
	do {                                                                              \
		if (!(cond)) {                                                            \
			fprintf(stderr, "fuzz_router: %s:%d: %s does not hold\n", __FILE__, \
				__LINE__, #cond);                                         \
			abort();                                                          \
		}                                                                         \
	} while (0)

static int known_entity(const struct entity *ent)
{
	for (size_t i = 0; entities[i]; i++)
		if (entities[i] == ent)
			return 1;
	return 0;
}

/* The id a found route reports must be the number of a path segment. */
static int path_has_id(const char *path, int64_t id)
{
	const char *p = path;

	while ((p = strchr(p, '/'))) {
		const char *end = strchrnul(p + 1, '/');
		int64_t v;

		if (parse_i64(p + 1, (size_t)(end - p - 1), 1, INT64_MAX, &v) == 0 && v == id)
			return 1;
		p = end;
	}
	return 0;
}

/* Runs router_find with an Allow buffer of exactly n bytes (none if 0). */
static int find_with(const char *method, const char *path, size_t n, char *copy, size_t copylen)
{
	const struct entity *ent = NULL;
	int64_t id = 0;
	char *allow = n ? xmalloc(n) : NULL;
	int rc = router_find(method, path, &ent, &id, allow, n);

	if (n)
		CHECK(memchr(allow, 0, n) != NULL);
	if (copy && copylen)
		snprintf(copy, copylen, "%s", n ? allow : "");
	free(allow);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size);
	char *sp = strchr(text, ' ');
	const char *method = "GET", *path = text;
	const struct entity *ent = NULL;
	char allow[64];
	int64_t id = -1;
	int rc;

	if (sp) {
		*sp = 0;
		method = text;
		path = sp + 1;
	}
	rc = router_find(method, path, &ent, &id, allow, sizeof allow);
	CHECK(rc >= -2);
	CHECK(memchr(allow, 0, sizeof allow) != NULL);
	if (rc >= 0) {
		CHECK(path[0] == '/');
		CHECK(ent == NULL || known_entity(ent));
		CHECK(id >= 0);
		if (ent) {
			CHECK(strstr(path, ent->collection) != NULL);
		}
		if (id > 0) {
			CHECK(path_has_id(path, id));
		}
		/* the same answer when asked again, whatever the Allow buffer */
		CHECK(find_with(method, path, 0, NULL, 0) == rc);
		CHECK(find_with(method, path, 1, NULL, 0) == rc);
	} else if (rc == -2) {
		char *list = xstrdup(allow), *m, *save = NULL;

		CHECK(allow[0] != 0);
		/* every method Allow names finds a route for this path */
		for (m = strtok_r(list, ", ", &save); m; m = strtok_r(NULL, ", ", &save)) {
			CHECK(strcmp(m, method) != 0);
			CHECK(find_with(m, path, 0, NULL, 0) >= 0);
		}
		free(list);
		/* shorter buffers give a prefix of the same text */
		for (size_t n = 1; n <= strlen(allow) + 1; n++) {
			char got[64];

			CHECK(find_with(method, path, n, got, sizeof got) == -2);
			CHECK(strlen(got) < n);
			CHECK(strncmp(got, allow, strlen(got)) == 0);
		}
	} else {
		/* no route has this path: no method finds one */
		CHECK(allow[0] == 0);
		CHECK(find_with("GET", path, 8, NULL, 0) == -1);
		CHECK(find_with("DELETE", path, 0, NULL, 0) == -1);
	}
	free(text);
	return 0;
}
