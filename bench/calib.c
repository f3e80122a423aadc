/*
 * bench-calib: how long this machine takes for one message round trip
 * between two processes over a pair of pipes, each side sleeping in read()
 * until the other writes. That is the kind of hand-over every request of the
 * bench makes several times (wrk to rapport, rapport to PostgreSQL and back),
 * and on a virtual machine it is the cost that moves most from minute to
 * minute; bench/run.sh prints it before and after the runs so that figures
 * taken at different times can be told apart.
 *
 * Usage: bench-calib [ROUND_TRIPS]   (default 20000)
 * Prints "pipe_round_trip_us=X.X" and exits 0; 1 if a system call failed.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int xfer(int in, int out, char *b)
{
	ssize_t n;

	while ((n = read(in, b, 1)) < 0 && errno == EINTR)
		;
	if (n != 1)
		return -1;
	while ((n = write(out, b, 1)) < 0 && errno == EINTR)
		;
	return n == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
	int to_child[2], to_parent[2], status;
	struct timespec t0, t1;
	char b = 'x';
	pid_t pid;

	if (rounds < 1 || rounds > 10000000) {
		fprintf(stderr, "bench-calib: ROUND_TRIPS must be 1..10000000\n");
		return 2;
	}
	if (pipe(to_child) || pipe(to_parent)) {
		perror("bench-calib: pipe");
		return 1;
	}
	if ((pid = fork()) < 0) {
		perror("bench-calib: fork");
		return 1;
	}
	if (pid == 0) {
		/* only its own ends: a side that goes away ends the other's read */
		close(to_child[1]);
		close(to_parent[0]);
		for (long i = 0; i < rounds; i++)
			if (xfer(to_child[0], to_parent[1], &b))
				_exit(1);
		_exit(0);
	}
	close(to_child[0]);
	close(to_parent[1]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < rounds; i++) {
		if (write(to_child[1], &b, 1) != 1 || read(to_parent[0], &b, 1) != 1) {
			perror("bench-calib: round trip");
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "bench-calib: the other side failed\n");
		return 1;
	}
	printf("pipe_round_trip_us=%.1f\n",
	       ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) /
		       1e3 / (double)rounds);
	return 0;
}
