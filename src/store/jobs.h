/*
 * The write-job queue both backends share. Producers queue jobs (FIFO, with
 * a ceiling past which they wait); writer threads take batches of them and
 * hand each batch to the backend's run function, which runs the jobs in its
 * transactions and sets each job's rc; then every job learns its result,
 * in queue order. Nothing here knows SQL.
 *
 * With several writer threads, batches of jobs flagged STORE_JOB_SIDE_BY_SIDE
 * (a run of them at the head of the queue) may run beside each other; any
 * other job runs alone: the writer that takes it waits until no batch is
 * running, and no batch starts while it runs (the engine serialises it
 * across processes). With one writer every batch simply takes the head of
 * the queue, whatever its jobs' flags.
 */
#ifndef RAPPORT_STORE_JOBS_H
#define RAPPORT_STORE_JOBS_H

#include <pthread.h>
#include <semaphore.h>
#include <stddef.h>

#include "store/store.h"

#define JOBQ_THREADS_MAX 16

struct store_job {
	store_job_fn fn;
	void *arg;
	void (*done)(void *arg, int rc);
	sem_t *wake;			/* a store_write caller waits on it; NULL: async */
	unsigned flags;			/* STORE_JOB_* */
	int rc;
	struct store_job *next;
};

struct jobq {
	/* Runs a batch (a list through next) and sets every job's rc. */
	void (*run)(void *owner, struct store_job *batch);
	void *owner;
	size_t batch_max;		/* jobs handed to run at once */
	pthread_t threads[JOBQ_THREADS_MAX];
	int nthreads;

	pthread_mutex_t lock;		/* everything below */
	pthread_cond_t work;		/* writers wait for jobs */
	pthread_cond_t room;		/* producers wait for queue space */
	struct store_job *head, *tail;
	size_t queued;
	struct store_job *free_jobs;	/* async job structs kept for reuse */
	size_t nfree;
	int nwriters;			/* threads there are to be */
	int running;			/* batches being run */
	int alone;			/* one of them must run alone */
	int stopping;
};

/* 1 if every job of the list from j on may run beside other batches. */
int jobq_side_by_side(const struct store_job *j);

/* A backend that begins another transaction within one batch says so. */
void jobq_new_txn(void);

void jobq_init(struct jobq *q, size_t batch_max, void (*run)(void *owner, struct store_job *batch),
	       void *owner);
/* Starts threads of the store running fn(arg), named name, with signals
 * blocked in them, until *started is n (threads[] has room for n); 0, or
 * -1 with why. */
int store_threads_start(pthread_t *threads, int *started, int n, void *(*fn)(void *),
			void *arg, const char *name, char *why, size_t whylen);
/* Starts n writer threads (signals blocked in them); 0, or -1 with why. */
int jobq_start(struct jobq *q, int n, char *why, size_t whylen);
/* 1 on one of q's writer threads (inside a job or its done callback). */
int jobq_on_writer(const struct jobq *q);
/* store_write: queues and waits; refused (STORE_ERROR) on a writer thread. */
int jobq_write(struct jobq *q, store_job_fn fn, void *arg);
/* store_write_async; after jobq_stop began, done gets STORE_UNAVAILABLE at once. */
void jobq_write_async(struct jobq *q, store_job_fn fn, void *arg, unsigned flags,
		      void (*done)(void *arg, int rc));
/* Lets the writers drain the queue, then joins them. */
void jobq_stop(struct jobq *q);
/* Frees what jobq_init and the queue hold; after jobq_stop. */
void jobq_destroy(struct jobq *q);

#endif
