/* SPDX-License-Identifier: MIT */
/*
 * --wait VECTOR|any --timeout SEC: exit 0 once that vector is rung, 3 when
 * the time is up (and about then), 1 when the server goes.
 */
#include <string.h>

#include "clienttest.h"

static struct tu_server s;
static struct ivshmem *p;	/* the peer that rings */

/* Start a waiting client; returns its peer id once p knows it. */
static int start(struct ct_proc *c, const char *vector, const char *timeout)
{
	int id;

	ct_spawn(c, ARGV(ct_client_bin(), "-S", s.socket_path, "-n", "2",
			 "--wait", vector, "--timeout", timeout));
	id = ct_peer_event(p, IVSHMEM_EV_PEER_JOINED, -1, 10000);
	CHECK(id >= 0, "the client did not join:\n%s", c->buf);
	return id;
}

static void rung_exits(const char *vector, unsigned first, unsigned second,
		       const char *timeout)
{
	struct ct_proc *c = calloc(1, sizeof(*c));
	char line[64];
	int id, rc;

	CHECK(c, "out of memory");
	id = start(c, vector, timeout);
	CHECK(ivshmem_ring(p, id, first) == 0, "ring");
	if (second != first) {
		/* Not the vector it waits for: it keeps waiting. */
		CHECK(ct_wait_exit(c, 500) < 0, "--wait %s exited %d after "
		      "vector %u:\n%s", vector, c->status, first, c->buf);
		CHECK(ivshmem_ring(p, id, second) == 0, "ring");
	}
	rc = ct_wait_exit(c, 5000);
	CHECK(rc == 0, "--wait %s exited %d:\n%s", vector, rc, c->buf);
	snprintf(line, sizeof(line), "notification on our vector %u",
		 second);
	CHECK(strstr(c->buf, line), "no '%s' in:\n%s", line, c->buf);
	CHECK(ct_peer_event(p, IVSHMEM_EV_PEER_LEFT, id, 5000) == id,
	      "the client did not leave");
	ct_finish(c);
	free(c);
}

static void times_out(const char *timeout, double secs)
{
	long long t0 = tu_now_ns();
	char out[4096];
	double took;
	int rc;

	rc = tu_run(ARGV(ct_client_bin(), "-S", s.socket_path, "--wait", "0",
			 "--timeout", timeout), out, sizeof(out), 30);
	took = (double)(tu_now_ns() - t0) / 1e9;
	CHECK(rc == 3, "--timeout %s exited %d:\n%s", timeout, rc, out);
	CHECK(took >= secs && took < secs + 0.8, "--timeout %s took %.3f s",
	      timeout, took);
	CHECK(ct_peer_event(p, IVSHMEM_EV_PEER_LEFT, -1, 5000) >= 0,
	      "the client did not leave");
}

static void usage_error(const char *vector, const char *timeout)
{
	char out[4096];
	int rc = tu_run(ARGV(ct_client_bin(), "-S", s.socket_path, "-n", "2",
			     "--wait", vector, "--timeout", timeout),
			out, sizeof(out), 20);

	CHECK(rc == 2, "--wait '%s' --timeout '%s' exited %d:\n%s", vector,
	      timeout, rc, out);
	CHECK(strstr(out, "ivshmem-client: "), "no message:\n%s", out);
}

static void server_goes(void)
{
	struct tu_server s2;
	struct ct_proc *c = calloc(1, sizeof(*c));
	struct ivshmem *q;
	int rc;

	CHECK(c, "out of memory");
	tu_server_start(&s2, NULL);
	q = ct_peer(s2.socket_path, 1);
	ct_spawn(c, ARGV(ct_client_bin(), "-S", s2.socket_path, "--wait",
			 "0", "--timeout", "20"));
	CHECK(ct_peer_event(q, IVSHMEM_EV_PEER_JOINED, -1, 10000) >= 0,
	      "the client did not join:\n%s", c->buf);
	tu_server_stop(&s2);
	rc = ct_wait_exit(c, 5000);
	CHECK(rc == 1, "--wait exited %d when the server went:\n%s", rc,
	      c->buf);
	CHECK(strstr(c->buf, "server"), "no message:\n%s", c->buf);
	ct_finish(c);
	free(c);
	ivshmem_close(q);
}

int main(void)
{
	tu_server_start(&s, ARGV("-n", "2"));
	p = ct_peer(s.socket_path, 2);

	rung_exits("0", 0, 0, "20");
	rung_exits("1", 0, 1, "20");
	rung_exits("any", 1, 1, "20");
	rung_exits("any", 0, 0, "20");
	/* No time limit, or one past what an int of ms holds. */
	rung_exits("1", 1, 1, "inf");
	rung_exits("0", 1, 0, "1e300");
	rung_exits("0", 0, 0, "4294967.296");

	times_out("1", 1.0);
	times_out("0.3", 0.3);
	times_out("0", 0);

	usage_error("2", "1");		/* we have 2 vectors */
	usage_error("64", "1");
	usage_error("x", "1");
	usage_error("-1", "1");
	usage_error("", "1");
	usage_error("0", "-1");
	usage_error("0", "x");
	usage_error("0", "");
	usage_error("0", "nan");
	usage_error("0", "1s");

	server_goes();
	ivshmem_close(p);
	return 0;
}
