#include "stmtcache.h"

#include <string.h>

#include "../lib/limits.h"
#include "../lib/util.h"

_Static_assert((STMT_CACHE_BUCKETS & (STMT_CACHE_BUCKETS - 1)) == 0 &&
	       STMT_CACHE_BUCKETS >= 2 * LIMIT_STMT_CACHE, "buckets: a power of two, room enough");

void stmt_cache_init(struct stmt_cache *c, void (*discard)(struct cached_stmt *st))
{
	memset(c, 0, sizeof *c);
	c->discard = discard;
}

static void lru_unlink(struct stmt_cache *c, struct cached_stmt *st)
{
	if (st->prev)
		st->prev->next = st->next;
	else
		c->lru_head = st->next;
	if (st->next)
		st->next->prev = st->prev;
	else
		c->lru_tail = st->prev;
	st->prev = st->next = NULL;
}

static void lru_push(struct stmt_cache *c, struct cached_stmt *st)
{
	st->prev = NULL;
	st->next = c->lru_head;
	if (c->lru_head)
		c->lru_head->prev = st;
	else
		c->lru_tail = st;
	c->lru_head = st;
}

static void uncached_unlink(struct stmt_cache *c, struct cached_stmt *st)
{
	if (st->prev)
		st->prev->next = st->next;
	else
		c->uncached = st->next;
	if (st->next)
		st->next->prev = st->prev;
	st->prev = st->next = NULL;
}

struct cached_stmt *stmt_cache_lend(struct stmt_cache *c, const char *sql, uint64_t *hash,
				    size_t *len, int *cache)
{
	uint64_t h = 14695981039346656037ULL;	/* FNV-1a */
	struct cached_stmt *st;
	const char *p;

	for (p = sql; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	*hash = h;
	*len = (size_t)(p - sql);
	for (st = c->buckets[h & (STMT_CACHE_BUCKETS - 1)]; st; st = st->hnext)
		if (st->hash == h && strcmp(st->sql, sql) == 0)
			break;
	*cache = !st;
	if (!st || st->lent)
		return NULL;
	if (st != c->lru_head) {
		lru_unlink(c, st);
		lru_push(c, st);
	}
	st->lent = 1;
	c->nlent++;
	return st;
}

int stmt_cache_room(struct stmt_cache *c)
{
	struct cached_stmt *st, **pp;

	if (c->ncached < LIMIT_STMT_CACHE)
		return 1;
	for (st = c->lru_tail; st && st->lent; st = st->prev)
		;
	if (!st)
		return 0;
	for (pp = &c->buckets[st->hash & (STMT_CACHE_BUCKETS - 1)]; *pp != st; pp = &(*pp)->hnext)
		;
	*pp = st->hnext;
	lru_unlink(c, st);
	c->ncached--;
	c->discard(st);
	return 1;
}

void stmt_cache_keep(struct stmt_cache *c, struct cached_stmt *st, const char *sql, size_t len,
		     uint64_t hash, int cache)
{
	st->hash = hash;
	if (cache) {
		struct cached_stmt **bucket = &c->buckets[hash & (STMT_CACHE_BUCKETS - 1)];

		st->sql = xstrndup(sql, len);
		st->hnext = *bucket;
		*bucket = st;
		lru_push(c, st);
		c->ncached++;
	} else {
		st->sql = NULL;
		st->prev = NULL;
		st->next = c->uncached;
		if (c->uncached)
			c->uncached->prev = st;
		c->uncached = st;
	}
	st->lent = 1;
	c->nlent++;
}

void stmt_cache_return(struct stmt_cache *c, struct cached_stmt *st)
{
	if (!st->lent)
		return;
	st->lent = 0;
	c->nlent--;
	if (!st->sql) {
		uncached_unlink(c, st);
		c->discard(st);
	}
}

void stmt_cache_reclaim(struct stmt_cache *c, void (*reset)(struct cached_stmt *st))
{
	struct cached_stmt *st, *next;

	for (st = c->lru_head; st && c->nlent; st = st->next) {
		if (st->lent) {
			reset(st);
			st->lent = 0;
			c->nlent--;
		}
	}
	for (st = c->uncached; st; st = next) {
		next = st->next;
		c->discard(st);
	}
	c->uncached = NULL;
	c->nlent = 0;
}

void stmt_cache_drop(struct stmt_cache *c, void (*free_stmt)(struct cached_stmt *st))
{
	struct cached_stmt *st, *next;

	for (st = c->lru_head; st; st = next) {
		next = st->next;
		free_stmt(st);
	}
	for (st = c->uncached; st; st = next) {
		next = st->next;
		free_stmt(st);
	}
	memset(c->buckets, 0, sizeof c->buckets);
	c->lru_head = c->lru_tail = c->uncached = NULL;
	c->ncached = c->nlent = 0;
}
