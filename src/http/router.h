/* Routing: a table of (method, path pattern, handler), authentication of
 * non-public routes, and the checks every body goes through. */
#ifndef RAPPORT_ROUTER_H
#define RAPPORT_ROUTER_H

#include <stddef.h>
#include <stdint.h>

struct entity;
struct request;

void router_dispatch(struct request *r);

/*
 * The route of method and path (no query string): its index (>= 0) with the
 * entity and id the path names; -1 when no route has this path, -2 when
 * routes have it but not for this method (allow then lists theirs). Pure: no
 * store, no connection, safe on any bytes.
 */
int router_find(const char *method, const char *path, const struct entity **ent,
		int64_t *id, char *allow, size_t allow_len);

#endif
