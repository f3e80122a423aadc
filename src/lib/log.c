#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static enum log_level min_level = LOG_INFO;

static void write_all(const char *p, size_t n);

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
	log_flush();	/* keep the order of queued request lines */
	write_all(line, (size_t)n);
}

#define LOG_QUEUE_BYTES 65536

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_ready = PTHREAD_COND_INITIALIZER;
static pthread_once_t writer_once = PTHREAD_ONCE_INIT;
static char queue[LOG_QUEUE_BYTES];
static size_t queued;

static void write_all(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDERR_FILENO, p, n);

		if (w <= 0)
			return;		/* stderr is gone: nothing better to do */
		p += w;
		n -= (size_t)w;
	}
}

static void *log_writer(void *arg)
{
	static char out[LOG_QUEUE_BYTES];
	const struct timespec gather = { 0, 10 * 1000 * 1000 };

	(void)arg;
	for (;;) {
		size_t n;

		pthread_mutex_lock(&queue_lock);
		while (queued == 0)
			pthread_cond_wait(&queue_ready, &queue_lock);
		pthread_mutex_unlock(&queue_lock);
		nanosleep(&gather, NULL);	/* let a batch gather */
		pthread_mutex_lock(&queue_lock);
		n = queued;
		memcpy(out, queue, n);
		queued = 0;
		pthread_mutex_unlock(&queue_lock);
		write_all(out, n);
	}
	return NULL;
}

static void start_writer(void)
{
	pthread_t t;
	sigset_t all, old;

	/* The writer takes no signals: they belong to whoever waits for them. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	if (pthread_create(&t, NULL, log_writer, NULL) == 0)
		pthread_detach(t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void log_line(const char *line, size_t n)
{
	pthread_once(&writer_once, start_writer);
	pthread_mutex_lock(&queue_lock);
	if (n > LOG_QUEUE_BYTES - queued) {
		write_all(queue, queued);	/* the writer is behind: write here */
		queued = 0;
	}
	if (n > LOG_QUEUE_BYTES) {
		write_all(line, n);
	} else {
		memcpy(queue + queued, line, n);
		if (queued == 0)
			pthread_cond_signal(&queue_ready);
		queued += n;
	}
	pthread_mutex_unlock(&queue_lock);
}

void log_flush(void)
{
	pthread_mutex_lock(&queue_lock);
	write_all(queue, queued);
	queued = 0;
	pthread_mutex_unlock(&queue_lock);
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
