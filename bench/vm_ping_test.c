/* SPDX-License-Identifier: MIT */
/* vmg_parse_ping: the output of ipm-shell's `ping ... samples`. */
#include <errno.h>
#include <string.h>

#include "testutil.h"
#include "vm_guest.h"

/* A warm-up, then 18 samples over two lines, as ipm-shell prints them. */
static const char good[] =
	"ping peer 1: 5 round trips of 0 bytes: min 1.0 us, median 2.0 us, "
	"p99 3.0 us, max 3.0 us\n"
	"ping ns: 18 17 16 15 14 13 12 11 10 9 8 7 6 5 4 3\n"
	"ping ns: 2 1000000001\n"
	"ping peer 1: 18 round trips of 0 bytes: min 0.0 us, median 0.0 us, "
	"p99 1000000.0 us, max 1000000.0 us\n";

static int parse(const char *out, unsigned n, struct stats *st)
{
	CHECK(stats_init(st, 0) == 0, "stats_init");
	return vmg_parse_ping(out, n, st);
}

static void rejects(const char *out, unsigned n, int want)
{
	struct stats st;
	int rc = parse(out, n, &st);

	CHECK(rc == want, "rc %d, want %d, for:\n%s", rc, want, out);
	stats_free(&st);
}

int main(void)
{
	struct stats_summary sum;
	struct stats st;

	CHECK(parse(good, 18, &st) == 0, "good output rejected");
	stats_summarise(&st, &sum);
	CHECK(sum.n == 18 && sum.min == 2 && sum.max == 1000000001,
	      "n %zu min %llu max %llu", sum.n, (unsigned long long)sum.min,
	      (unsigned long long)sum.max);
	stats_free(&st);

	/* One round trip: the summary says so in the singular. */
	CHECK(parse("ping ns: 7\nping peer 1: 1 round trip of 0 bytes: min "
		    "0.0 us\n", 1, &st) == 0, "one round trip rejected");
	stats_free(&st);

	/* Counts that do not match what was asked. */
	rejects(good, 17, -EPROTO);
	rejects("ping ns: 1 2\nping peer 1: 3 round trips of 0 bytes\n", 3,
		-EPROTO);
	rejects("ping ns: 1 2 3\nping peer 1: 2 round trips of 0 bytes\n", 3,
		-EPROTO);
	/* A round trip failed. */
	rejects("ping ns: 1\nping peer 1: round trip 2: Connection timed "
		"out\n", 2, -EIO);
	/* Not numbers. */
	rejects("ping ns: 1 2x\nping peer 1: 2 round trips of 0 bytes\n", 2,
		-EPROTO);
	rejects("ping ns: -1 2\nping peer 1: 2 round trips of 0 bytes\n", 2,
		-EPROTO);
	rejects("ping ns: 99999999999999999999999\n"
		"ping peer 1: 1 round trips of 0 bytes\n", 1, -EPROTO);
	/* An ipm-shell without 'samples' (an old guest image). */
	rejects("usage: ping PEER [1..1000000] [0..65536]\n", 2, -EPROTO);
	rejects("", 1, -EPROTO);
	printf("PASS\n");
	return 0;
}
