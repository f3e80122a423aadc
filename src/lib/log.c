#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "util.h"

static enum log_level min_level = LOG_INFO;

void log_set_level(enum log_level level)
{
	min_level = level;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *names[] = { "debug", "info", "warn", "error" };
	char line[1024], when[TIME_BUF];
	va_list ap;
	int n;

	if (level < min_level)
		return;
	time_now_rfc3339(when);
	n = snprintf(line, sizeof line, "%s %s ", when, names[level]);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof line - 2)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

void log_escape(const char *s, char *out, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	size_t o = 0;

	if (n == 0)
		return;
	for (; *s && o + 5 < n; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hx[c >> 4];
			out[o++] = hx[c & 15];
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = 0;
}
