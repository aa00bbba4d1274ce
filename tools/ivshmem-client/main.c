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

#include "cli.h"
#include "client.h"

#define PROG "ivshmem-client"
#define DEFAULT_SOCKET "/tmp/ivshmem_socket"
#define MAX_RINGS 256
#define CONNECT_TIMEOUT_MS 10000

enum { EXIT_OK = 0, EXIT_ERR = 1, EXIT_USAGE = CLI_EXIT_USAGE,
       EXIT_TIMEOUT = 3 };

static void usage(const char *prog)
{
	printf(
"Usage: %s [OPTION]...\n"
"Join an ivshmem server as a peer, as QEMU's ivshmem-doorbell device does.\n"
"Without --dump, --ring or --wait it reads commands from stdin (help, dump,\n"
"int PEER VECTOR, int PEER all, int all, quit) and prints joins, leaves\n"
"and notifications as they come.\n"
"\n"
"  -h, --help             show this help and exit\n"
"      --version          show the version and exit\n"
"  -v, --verbose          also print the peer table on joining and a line\n"
"                         for each doorbell we ring (more -v: the same)\n"
"  -S, --socket=PATH      the server's socket (default: " DEFAULT_SOCKET ")\n"
"  -n, --vectors=N        keep at most N (1 to 64) of the vectors the server\n"
"                         hands out, ours and each peer's (default: all of\n"
"                         them, as QEMU's client)\n"
"      --dump             print our id, the shared memory size, our vectors\n"
"                         and the live peers with theirs, then exit\n"
"      --ring=PEER:VECTOR ring a peer's vector; PEER or VECTOR may be\n"
"                         'all' (repeatable), then exit\n"
"      --wait=VECTOR      wait until our VECTOR (or 'any') is rung, then exit\n"
"      --timeout=SEC      give up waiting after SEC seconds, 0 to look once,\n"
"                         inf never (default: 10)\n"
"\n"
"Exit status: 0 success, 1 error, 2 usage, 3 --wait timed out.\n", prog);
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
static int wait_for(struct ivshmem *iv, int vector, long long budget_ms,
		    const char *prog)
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
			fprintf(stderr, "%s: wait: %s\n", prog,
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
			fprintf(stderr, "%s: the server closed the "
				"connection while we waited\n", prog);
			return EXIT_ERR;
		}
		if (rc == 0 && budget_ms >= 0 &&
		    spent_ms(&t0) >= budget_ms)
			return EXIT_TIMEOUT;
	}
}

/*
 * Seconds as cli_parse_seconds_ms() takes them; "inf", or more than its
 * int of milliseconds holds, is forever (-1).
 */
static int parse_timeout(const char *text, long long *ms)
{
	int v, rc;

	if (!strcmp(text, "inf")) {
		*ms = -1;
		return 0;
	}
	rc = cli_parse_seconds_ms(text, 1e308, &v);
	if (rc == -ERANGE && text[0] != '-') {
		*ms = -1;
		return 0;
	}
	if (rc < 0)
		return -EINVAL;
	*ms = v;
	return 0;
}

int main(int argc, char **argv)
{
	enum { OPT_DUMP = 256, OPT_RING, OPT_WAIT, OPT_TIMEOUT, OPT_VERSION };
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "verbose", no_argument, NULL, 'v' },
		{ "socket", required_argument, NULL, 'S' },
		{ "vectors", required_argument, NULL, 'n' },
		{ "dump", no_argument, NULL, OPT_DUMP },
		{ "ring", required_argument, NULL, OPT_RING },
		{ "wait", required_argument, NULL, OPT_WAIT },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ NULL, 0, NULL, 0 },
	};
	const char *prog = cli_prog_name(argv[0], PROG);
	const char *path = DEFAULT_SOCKET;
	int rings[MAX_RINGS][2], nrings = 0, dump = 0, verbose = 0;
	int wait_vec = -2, rc, c;
	long long budget_ms = 10000;
	unsigned vectors = 0;  /* all the server gives */
	struct client_ring_out ring;
	char prefix[64];
	struct ivshmem *iv;
	long v;

	opterr = 0;  /* getopt's messages name argv[0], a path */
	while ((c = getopt_long(argc, argv, ":hvS:n:", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(prog);
			return EXIT_OK;
		case OPT_VERSION:
			cli_print_version(prog);
			return EXIT_OK;
		case 'v':
			verbose++;
			break;
		case 'S':
			path = optarg;
			break;
		case 'n':
			if (cli_parse_long(optarg, 1, IVSHMEM_MAX_VECTORS,
					   &v) < 0)
				return cli_usage_error(prog, "invalid vector "
					"count '%s': expected 1 to %d", optarg,
					IVSHMEM_MAX_VECTORS);
			vectors = (unsigned)v;
			break;
		case OPT_DUMP:
			dump = 1;
			break;
		case OPT_RING:
			if (nrings == MAX_RINGS)
				return cli_usage_error(prog, "more than %d "
					"--ring", MAX_RINGS);
			if (client_parse_target(optarg, &rings[nrings][0],
						&rings[nrings][1]) < 0)
				return cli_usage_error(prog, "invalid --ring "
					"'%s': expected PEER:VECTOR, PEER:all, "
					"all:VECTOR or all", optarg);
			nrings++;
			break;
		case OPT_WAIT:
			if (!strcmp(optarg, "any"))
				v = -1;
			else if (cli_parse_long(optarg, 0,
						IVSHMEM_MAX_VECTORS - 1, &v) < 0)
				return cli_usage_error(prog, "invalid --wait "
					"'%s': expected a vector or 'any'",
					optarg);
			wait_vec = (int)v;
			break;
		case OPT_TIMEOUT:
			if (parse_timeout(optarg, &budget_ms) < 0)
				return cli_usage_error(prog, "invalid "
					"--timeout '%s': expected seconds or "
					"inf", optarg);
			break;
		default:  /* ':' or '?' */
			return cli_bad_option(prog, argv, c);
		}
	}
	if (optind < argc)
		return cli_usage_error(prog, "unexpected argument '%s'",
				       argv[optind]);
	rc = ivshmem_connect(&iv, path, vectors, CONNECT_TIMEOUT_MS);
	if (rc < 0) {
		fprintf(stderr, "%s: cannot join the server at %s: %s\n",
			prog, path, strerror(-rc));
		return EXIT_ERR;
	}
	if (wait_vec >= (int)ivshmem_vectors(iv)) {
		unsigned n = ivshmem_vectors(iv);

		ivshmem_close(iv);
		return cli_usage_error(prog, "--wait %d: we have %u %s",
				       wait_vec, n,
				       cli_plural(n, "vector", "vectors"));
	}
	if (!dump && !nrings && wait_vec == -2) {
		rc = client_shell(iv, vectors, verbose);
		ivshmem_close(iv);
		return rc;
	}
	snprintf(prefix, sizeof(prefix), "%s: ", prog);
	ring = (struct client_ring_out){
		.log = verbose ? stdout : NULL,
		.err = stderr,
		.prefix = prefix,
		.limit = vectors,
	};
	rc = EXIT_OK;
	if (dump || verbose)
		client_dump(iv, stdout);
	for (int i = 0; i < nrings && rc == EXIT_OK; i++)
		if (client_ring(iv, rings[i][0], rings[i][1], &ring) < 0)
			rc = EXIT_ERR;
	if (rc == EXIT_OK && wait_vec != -2)
		rc = wait_for(iv, wait_vec, budget_ms, prog);
	ivshmem_close(iv);
	return rc;
}
