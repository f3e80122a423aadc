/*
 * The prepared-statement cache each backend keeps per connection: statements
 * by SQL text in a hash table, least recently used evicted first, and the
 * ones outside the cache (a second copy of a text that is lent out, or no
 * room) kept on a list until handed back. A backend's statement embeds a
 * struct cached_stmt; the backend prepares, resets and frees statements, the
 * cache only keeps track of them.
 */
#ifndef RAPPORT_STMTCACHE_H
#define RAPPORT_STMTCACHE_H

#include <stddef.h>
#include <stdint.h>

#define STMT_CACHE_BUCKETS 256	/* power of two, >= 2 * LIMIT_STMT_CACHE */

struct cached_stmt {
	struct cached_stmt *hnext;		/* bucket chain */
	struct cached_stmt *prev, *next;	/* LRU list, or the uncached list */
	uint64_t hash;
	char *sql;				/* cache key; NULL when uncached */
	int lent;
};

struct stmt_cache {
	struct cached_stmt *buckets[STMT_CACHE_BUCKETS];
	struct cached_stmt *lru_head, *lru_tail;	/* most recently prepared first */
	struct cached_stmt *uncached;		/* lent statements outside the cache */
	int ncached, nlent;
	/* frees a statement the cache lets go of: evicted, or uncached and back */
	void (*discard)(struct cached_stmt *st);
};

/* The backend statement that embeds cs as its member named field. */
#define stmt_of(type, field, cs) ((type *)((char *)(cs) - offsetof(type, field)))

void stmt_cache_init(struct stmt_cache *c, void (*discard)(struct cached_stmt *st));

/*
 * The idle cached statement for sql, now lent out; or NULL, and the caller
 * prepares one and gives it to stmt_cache_keep with *hash. *len is sql's
 * length; *cache says whether the new one may be cached (no entry has this
 * text yet).
 */
struct cached_stmt *stmt_cache_lend(struct stmt_cache *c, const char *sql, uint64_t *hash,
				    size_t *len, int *cache);
/* Makes room for one more cached statement (evicting the least recently
 * used idle one); 0 if every entry is lent out. */
int stmt_cache_room(struct stmt_cache *c);
/* A newly prepared statement, lent out: in the cache if cache is set. */
void stmt_cache_keep(struct stmt_cache *c, struct cached_stmt *st, const char *sql, size_t len,
		     uint64_t hash, int cache);
/* A lent statement comes back (the backend has reset it); an uncached one is
 * discarded. Nothing happens to one that is not lent. */
void stmt_cache_return(struct stmt_cache *c, struct cached_stmt *st);
/* Takes back every lent statement: cached ones are reset with reset, uncached
 * ones discarded. */
void stmt_cache_reclaim(struct stmt_cache *c, void (*reset)(struct cached_stmt *st));
/* Frees every statement with free_stmt (none may be in use) and empties the cache. */
void stmt_cache_drop(struct stmt_cache *c, void (*free_stmt)(struct cached_stmt *st));

#endif
