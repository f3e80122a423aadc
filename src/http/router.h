/* Routing: a table of (method, path pattern, handler), authentication of
 * non-public routes, and the checks every body goes through. */
#ifndef RAPPORT_ROUTER_H
#define RAPPORT_ROUTER_H

struct request;

void router_dispatch(struct request *r);

#endif
