#include "store/jobs.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"

#define JOBQ_QUEUE_MAX		65536	/* queued jobs before producers wait */
#define JOBQ_FREE_JOBS_MAX	1024	/* async job structs kept for reuse */

/* The queue whose writer this thread is, if any. */
static _Thread_local const struct jobq *writer_of;

/* The transaction a writer thread is in (store_txn_seq); 0 outside one. */
static _Thread_local uint64_t txn_seq;
static atomic_uint_fast64_t txn_count;

void jobq_new_txn(void)
{
	txn_seq = atomic_fetch_add(&txn_count, 1) + 1;
}

uint64_t store_txn_seq(void)
{
	return txn_seq;
}

void jobq_init(struct jobq *q, size_t batch_max, void (*run)(void *owner, struct store_job *batch),
	       void *owner)
{
	memset(q, 0, sizeof *q);
	q->run = run;
	q->owner = owner;
	q->batch_max = batch_max;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->work, NULL);
	pthread_cond_init(&q->room, NULL);
}

int jobq_on_writer(const struct jobq *q)
{
	return writer_of == q;
}

/* Tells every job of the batch its result, in queue order, then recycles the
 * async ones. */
static void finish_batch(struct jobq *q, struct store_job *batch)
{
	struct store_job *j, *next, *spent = NULL, *spare = NULL;

	for (j = batch; j; j = next) {
		next = j->next;
		if (j->wake) {
			/* A semaphore, not the queue lock and a condvar: the
			 * woken waiter does not then fight the writer for the
			 * lock. j lives in the waiter's frame: untouchable
			 * after the post. */
			sem_post(j->wake);
			continue;
		}
		if (j->done)
			j->done(j->arg, j->rc);
		j->next = spent;
		spent = j;
	}
	if (!spent)
		return;
	pthread_mutex_lock(&q->lock);
	for (j = spent; j; j = next) {
		next = j->next;
		if (q->nfree < JOBQ_FREE_JOBS_MAX) {
			j->next = q->free_jobs;
			q->free_jobs = j;
			q->nfree++;
		} else {
			j->next = spare;
			spare = j;
		}
	}
	pthread_mutex_unlock(&q->lock);
	for (j = spare; j; j = next) {
		next = j->next;
		free(j);
	}
}

int jobq_side_by_side(const struct store_job *j)
{
	for (; j; j = j->next)
		if (!(j->flags & STORE_JOB_SIDE_BY_SIDE))
			return 0;
	return 1;
}

static int side_by_side(const struct store_job *j)
{
	return (j->flags & STORE_JOB_SIDE_BY_SIDE) != 0;
}

/* Called with q->lock held: may a writer take a batch from the head now? */
static int can_take(const struct jobq *q)
{
	if (!q->head)
		return 0;
	if (q->nwriters == 1 || !q->running)
		return 1;
	return !q->alone && side_by_side(q->head);
}

static void *writer_main(void *p)
{
	struct jobq *q = p;
	struct store_job *batch, *last;
	size_t n;
	int alone;

	writer_of = q;
	pthread_mutex_lock(&q->lock);
	for (;;) {
		while (!can_take(q) && !(q->stopping && !q->head))
			pthread_cond_wait(&q->work, &q->lock);
		if (!q->head)
			break;
		batch = last = q->head;
		/* Beside other batches, only the run of side-by-side jobs. */
		alone = q->nwriters > 1 && !side_by_side(batch);
		for (n = 1; n < q->batch_max && last->next &&
			    (alone || q->nwriters == 1 || side_by_side(last->next)); n++)
			last = last->next;
		q->head = last->next;
		if (!q->head)
			q->tail = NULL;
		last->next = NULL;
		if (q->queued >= JOBQ_QUEUE_MAX)
			pthread_cond_broadcast(&q->room);
		q->queued -= n;
		q->running++;
		q->alone = alone;
		/* more left: another writer may start on it now */
		if (q->head)
			pthread_cond_signal(&q->work);
		pthread_mutex_unlock(&q->lock);
		jobq_new_txn();
		q->run(q->owner, batch);
		txn_seq = 0;
		finish_batch(q, batch);
		pthread_mutex_lock(&q->lock);
		q->running--;
		q->alone = 0;
		/* a job waiting to run alone, or at the end, may go now */
		if (q->head || q->stopping)
			pthread_cond_broadcast(&q->work);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

int store_threads_start(pthread_t *threads, int *started, int n, void *(*fn)(void *),
			void *arg, const char *name, char *why, size_t whylen)
{
	sigset_t all, old;
	int rc = 0;

	/* Signals belong to the main thread, not to the store's. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	while (*started < n && (rc = pthread_create(&threads[*started], NULL, fn, arg)) == 0)
		pthread_setname_np(threads[(*started)++], name);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(why, whylen, "cannot start a %s thread: %s", name, strerror(rc));
		return -1;
	}
	return 0;
}

int jobq_start(struct jobq *q, int n, char *why, size_t whylen)
{
	if (n < 1 || n > JOBQ_THREADS_MAX) {
		snprintf(why, whylen, "from 1 to %d writer threads, not %d", JOBQ_THREADS_MAX, n);
		return -1;
	}
	/* how many there will be, before any of them looks */
	pthread_mutex_lock(&q->lock);
	q->nwriters = n;
	pthread_mutex_unlock(&q->lock);
	return store_threads_start(q->threads, &q->nthreads, n, writer_main, q, "store-writer",
				   why, whylen);
}

/* Called with q->lock held; -1 once jobq_stop has begun. A writer never
 * waits for room (it is what makes it) and may still queue while stopping:
 * the writers drain the queue before they stop. */
static int enqueue(struct jobq *q, struct store_job *j)
{
	int writer = jobq_on_writer(q);

	while (q->queued >= JOBQ_QUEUE_MAX && !q->stopping && !writer)
		pthread_cond_wait(&q->room, &q->lock);
	if (q->stopping && !writer)
		return -1;
	j->next = NULL;
	if (q->tail)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	q->queued++;
	pthread_cond_signal(&q->work);
	return 0;
}

int jobq_write(struct jobq *q, store_job_fn fn, void *arg)
{
	/* One per thread, never destroyed: sem_post may still be touching it
	 * after the waiter has woken, and a thread waits for one write at a time. */
	static _Thread_local sem_t wake;
	static _Thread_local int wake_ready;
	struct store_job j = { .fn = fn, .arg = arg };
	int rc;

	if (jobq_on_writer(q)) {
		log_msg(LOG_ERROR, "store: store_write called from a write job; refused");
		return STORE_ERROR;
	}
	if (!wake_ready) {
		sem_init(&wake, 0, 0);
		wake_ready = 1;
	}
	j.wake = &wake;
	pthread_mutex_lock(&q->lock);
	rc = enqueue(q, &j);
	pthread_mutex_unlock(&q->lock);
	if (rc != 0)
		return STORE_UNAVAILABLE;
	while (sem_wait(&wake) != 0)
		;	/* EINTR */
	return j.rc;
}

void jobq_write_async(struct jobq *q, store_job_fn fn, void *arg, unsigned flags,
		      void (*done)(void *arg, int rc))
{
	struct store_job *j;

	pthread_mutex_lock(&q->lock);
	j = q->free_jobs;
	if (j) {
		q->free_jobs = j->next;
		q->nfree--;
	} else {
		j = xmalloc(sizeof *j);
	}
	*j = (struct store_job){ .fn = fn, .arg = arg, .done = done, .flags = flags };
	if (enqueue(q, j) == 0) {
		pthread_mutex_unlock(&q->lock);
		return;
	}
	j->next = q->free_jobs;
	q->free_jobs = j;
	q->nfree++;
	pthread_mutex_unlock(&q->lock);
	/* Used after jobq_stop began: no writer is left to call done. */
	if (done)
		done(arg, STORE_UNAVAILABLE);
}

void jobq_stop(struct jobq *q)
{
	pthread_mutex_lock(&q->lock);
	q->stopping = 1;
	pthread_cond_broadcast(&q->work);
	pthread_cond_broadcast(&q->room);
	pthread_mutex_unlock(&q->lock);
	for (int i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	q->nthreads = 0;
}

void jobq_destroy(struct jobq *q)
{
	struct store_job *j;

	while ((j = q->free_jobs)) {
		q->free_jobs = j->next;
		free(j);
	}
	pthread_cond_destroy(&q->room);
	pthread_cond_destroy(&q->work);
	pthread_mutex_destroy(&q->lock);
}
