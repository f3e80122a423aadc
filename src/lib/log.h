/* Logging to stderr: one write per line, control characters escaped so that
 * client text cannot forge a line (STYLE 10). */
#ifndef RAPPORT_LOG_H
#define RAPPORT_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * Queues one finished line (with its newline) for stderr. A thread writes
 * queued lines in batches within about 10 ms, so that a busy server does not
 * pay a system call per request; log_flush() writes them at once.
 */
void log_line(const char *line, size_t n);
void log_flush(void);
/* Copies s into out (size n) with bytes < 0x20, 0x7f, '"' and '\\' escaped. */
void log_escape(const char *s, char *out, size_t n);

#endif
