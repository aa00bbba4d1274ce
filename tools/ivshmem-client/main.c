/* SPDX-License-Identifier: MIT */
/*
 * ivshmem-client: join an ivshmem server as a peer. Interactive like
 * QEMU's contrib/ivshmem-client, or scriptable with --dump, --ring, --wait.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"

#define DEFAULT_SOCKET "/tmp/ivshmem_socket"
#define MAX_RINGS 256

enum { EXIT_OK = 0, EXIT_ERR = 1, EXIT_USAGE = 2, EXIT_TIMEOUT = 3 };

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
"Usage: %s [OPTION]...\n"
"Join an ivshmem server as a peer, as QEMU's ivshmem-doorbell device does.\n"
"Without --dump, --ring or --wait it reads commands from stdin (help, dump,\n"
"int PEER VECTOR, int PEER all, int all, quit) and prints joins, leaves\n"
"and notifications as they come.\n"
"\n"
"  -h, --help             show this help and exit\n"
"  -v, --verbose          say more\n"
"  -S, --socket=PATH      the server's socket (default: " DEFAULT_SOCKET ")\n"
"  -n, --vectors=N        our doorbell vectors, 1 to 64 (default: 1); use the\n"
"                         server's -n: we reach only as many of each peer's\n"
"      --dump             print our id, the shared memory size, our vectors\n"
"                         and the live peers, then exit\n"
"      --ring=PEER:VECTOR ring a peer's vector; PEER or VECTOR may be\n"
"                         'all' (repeatable), then exit\n"
"      --wait=VECTOR      wait until our VECTOR (or 'any') is rung, then exit\n"
"      --timeout=SEC      give up waiting after SEC seconds, 0 to look once,\n"
"                         inf never (default: 10)\n"
"\n"
"Exit status: 0 success, 1 error, 2 usage, 3 --wait timed out.\n", prog);
}

/* A whole decimal number from 0 to max, nothing around it; -1 if not. */
static long parse_count(const char *text, long max)
{
	long v = 0;

	if (!*text)
		return -1;
	for (; *text; text++) {
		if (*text < '0' || *text > '9')
			return -1;
		v = v * 10 + (*text - '0');
		if (v > max)
			return -1;
	}
	return v;
}

/* ms from start to now, on the monotonic clock. */
static long long spent_ms(const struct timespec *start)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - start->tv_sec) * 1000LL +
	       (t.tv_nsec - start->tv_nsec) / 1000000;
}

/* vector < 0: any. budget_ms < 0: forever. */
static int wait_for(struct ivshmem *iv, int vector, long long budget_ms)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	client_present(iv, stdout);
	for (;;) {
		unsigned long long rung = 0;
		long long left = budget_ms;
		unsigned got;
		int rc, gone;

		/* Look at least once, even with no time at all. */
		if (budget_ms >= 0) {
			left = budget_ms - spent_ms(&t0);
			if (left < 0)
				left = 0;
		}
		rc = ivshmem_wait(iv, left > INT_MAX ? INT_MAX : (int)left,
				  &got);
		if (rc < 0 && rc != -ENOTCONN) {
			fprintf(stderr, "ivshmem-client: wait: %s\n",
				strerror(-rc));
			return EXIT_ERR;
		}
		/* News first, so a join is told before the ring it led to. */
		gone = client_report(iv, stdout, &rung) == -ENOTCONN;
		if (rc == 1) {
			printf("notification on our vector %u\n", got);
			fflush(stdout);
			rung |= 1ULL << got;
		}
		if (vector < 0 ? rung != 0 : (rung >> vector) & 1)
			return EXIT_OK;
		if (gone) {
			fprintf(stderr, "ivshmem-client: the server closed the "
				"connection while we waited\n");
			return EXIT_ERR;
		}
		if (rc == 0 && budget_ms >= 0 &&
		    spent_ms(&t0) >= budget_ms)
			return EXIT_TIMEOUT;
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "socket", required_argument, NULL, 'S' },
		{ "vectors", required_argument, NULL, 'n' },
		{ "dump", no_argument, NULL, 'd' },
		{ "ring", required_argument, NULL, 'r' },
		{ "wait", required_argument, NULL, 'w' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = DEFAULT_SOCKET;
	int rings[MAX_RINGS][2], nrings = 0, dump = 0, verbose = 0;
	int wait_vec = -2, rc, c;
	long long budget_ms = 10000;
	unsigned vectors = 1;
	struct ivshmem *iv;
	double secs;
	char *end;

	while ((c = getopt_long(argc, argv, "hvS:n:", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout, argv[0]);
			return EXIT_OK;
		case 'v':
			verbose = 1;
			break;
		case 'S':
			path = optarg;
			break;
		case 'n':
			rc = (int)parse_count(optarg, IVSHMEM_MAX_VECTORS);
			if (rc < 1) {
				fprintf(stderr, "ivshmem-client: invalid vector "
					"count '%s': expected 1 to 64\n", optarg);
				return EXIT_USAGE;
			}
			vectors = (unsigned)rc;
			break;
		case 'd':
			dump = 1;
			break;
		case 'r':
			if (nrings == MAX_RINGS ||
			    client_parse_target(optarg, &rings[nrings][0],
						&rings[nrings][1]) < 0) {
				fprintf(stderr, "ivshmem-client: invalid --ring "
					"'%s': expected PEER:VECTOR, PEER:all, "
					"all:VECTOR or all\n", optarg);
				return EXIT_USAGE;
			}
			nrings++;
			break;
		case 'w':
			wait_vec = !strcmp(optarg, "any") ? -1 :
				   (int)parse_count(optarg,
						    IVSHMEM_MAX_VECTORS - 1);
			if (wait_vec == -1 && strcmp(optarg, "any")) {
				fprintf(stderr, "ivshmem-client: invalid --wait "
					"'%s': expected a vector or 'any'\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 't':
			secs = strtod(optarg, &end);
			/* NaN fails this too; "inf" waits forever. */
			if (*end || end == optarg || !(secs >= 0)) {
				fprintf(stderr, "ivshmem-client: invalid "
					"--timeout '%s': expected seconds\n",
					optarg);
				return EXIT_USAGE;
			}
			budget_ms = secs * 1000 >= (double)LLONG_MAX ? -1 :
				    (long long)(secs * 1000);
			break;
		default:
			fprintf(stderr, "Try '%s --help'.\n", argv[0]);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ivshmem-client: unexpected argument '%s'\n",
			argv[optind]);
		return EXIT_USAGE;
	}
	rc = ivshmem_connect(&iv, path, vectors, 10000);
	if (rc < 0) {
		fprintf(stderr, "ivshmem-client: cannot join the server at %s: "
			"%s\n", path, strerror(-rc));
		return EXIT_ERR;
	}
	if (wait_vec >= (int)ivshmem_vectors(iv)) {
		fprintf(stderr, "ivshmem-client: --wait %d: we have %u "
			"vectors\n", wait_vec, ivshmem_vectors(iv));
		ivshmem_close(iv);
		return EXIT_USAGE;
	}
	if (!dump && !nrings && wait_vec == -2) {
		rc = client_shell(iv, verbose);
		ivshmem_close(iv);
		return rc;
	}
	rc = EXIT_OK;
	if (dump)
		client_dump(iv, stdout);
	for (int i = 0; i < nrings && rc == EXIT_OK; i++)
		if (client_ring(iv, rings[i][0], rings[i][1], stderr) < 0)
			rc = EXIT_ERR;
	if (rc == EXIT_OK && wait_vec != -2)
		rc = wait_for(iv, wait_vec, budget_ms);
	ivshmem_close(iv);
	return rc;
}
