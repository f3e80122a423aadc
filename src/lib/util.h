/*
 * Small shared pieces: allocation that cannot fail, a growable byte buffer
 * with a ceiling, number and time parsing with explicit bounds, UTF-8 and
 * JSON-depth checks, base64url and hex. Nothing here knows HTTP or SQL.
 */
#ifndef RAPPORT_UTIL_H
#define RAPPORT_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

/* Out of memory aborts the process (STYLE 9). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* A growable buffer; always NUL-terminated. Appends past max fail with -1. */
struct buf {
	char *data;
	size_t len, cap, max;
};
void buf_init(struct buf *b, size_t max);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);
/* Appends s[0..n) as a JSON string literal (quoted and escaped; s is UTF-8). */
int buf_json_string(struct buf *b, const char *s, size_t n);
void buf_free(struct buf *b);

/* Parses all of s[0..len) as a base-10 integer in [min, max]; 0 or -1. */
int parse_i64(const char *s, size_t len, int64_t min, int64_t max, int64_t *out);

/* Current UTC time, RFC 3339 with seconds and 'Z': 20 chars + NUL. */
#define TIME_BUF 32
void time_now_rfc3339(char out[TIME_BUF]);
/*
 * Parses an RFC 3339 date-time (any offset, optional fraction) and writes it
 * normalised to UTC "YYYY-MM-DDTHH:MM:SSZ" (fraction dropped). 0 or -1.
 */
int time_parse_rfc3339(const char *s, char out[TIME_BUF]);
/* Parses a full-date "YYYY-MM-DD" (calendar-checked). 0 or -1. */
int time_parse_date(const char *s);
/* Monotonic microseconds. */
int64_t time_mono_us(void);

/* 1 if p[0..n) is well-formed UTF-8 (no overlongs, no surrogates). */
int utf8_valid(const char *p, size_t n);
/* Number of code points in a valid UTF-8 string. */
size_t utf8_len(const char *s);
/* Deepest nesting of [ and { outside strings in a JSON text. */
int json_depth(const char *p, size_t n);

/* base64url without padding. out needs 4*ceil(n/3)+1 bytes. */
size_t b64url_encode(const unsigned char *in, size_t n, char *out);
/* Returns decoded length, or -1 for a character outside the alphabet, an
 * impossible length or set bits past the last byte (so each byte string has
 * exactly one encoding); out needs n*3/4+3 bytes. */
long b64url_decode(const char *in, size_t n, unsigned char *out);
void hex_encode(const unsigned char *in, size_t n, char *out);

/* ASCII case-insensitive prefix test. */
int starts_with_ci(const char *s, const char *prefix);

#endif
