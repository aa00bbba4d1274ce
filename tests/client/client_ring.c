/* SPDX-License-Identifier: MIT */
/*
 * --ring PEER:VECTOR, PEER:all, all:VECTOR, all, repeatable: the targets
 * (libivshmem peers here) get exactly those vectors, once per mention.
 * An unknown peer or vector exits 1, a malformed target 2.
 */
#include <string.h>

#include "clienttest.h"

#define NVEC 4

static struct tu_server s;
static struct ivshmem *t, *u;	/* the targets */
static int tid, uid;

/* Nobody has been rung since the last check. */
static void check_quiet(const char *what)
{
	int ct[NVEC], cu[NVEC];

	ct_peer_acks(t, ct);
	ct_peer_acks(u, cu);
	for (int v = 0; v < NVEC; v++)
		CHECK(ct[v] == 0 && cu[v] == 0, "%s: vector %d was rung "
		      "(%d, %d times)", what, v, ct[v], cu[v]);
}

/* Run the client with up to 4 targets; its exit status, output in out. */
static int ring(char *out, size_t outlen, const char *a, const char *b,
		const char *c, const char *d)
{
	const char *argv[16] = { ct_client_bin(), "-S", s.socket_path,
				 "-n", "4" };
	const char *targets[] = { a, b, c, d };
	int argc = 5;

	for (int i = 0; i < 4 && targets[i]; i++) {
		argv[argc++] = "--ring";
		argv[argc++] = targets[i];
	}
	argv[argc] = NULL;
	return tu_run(argv, out, outlen, 20);
}

/* Ring targets (printf-style, space-separated) and expect these counts. */
static void expect(const char *targets, const int want_t[NVEC],
		   const int want_u[NVEC])
{
	char list[256], out[4096], *save = NULL, *tok[4] = { NULL };
	int ct[NVEC], cu[NVEC], n = 0, rc;

	snprintf(list, sizeof(list), "%s", targets);
	for (char *w = strtok_r(list, " ", &save); w && n < 4;
	     w = strtok_r(NULL, " ", &save))
		tok[n++] = w;
	rc = ring(out, sizeof(out), tok[0], tok[1], tok[2], tok[3]);
	CHECK(rc == 0, "--ring %s exited %d:\n%s", targets, rc, out);
	/* The client has exited: every ring it made is counted by now. */
	ct_peer_acks(t, ct);
	ct_peer_acks(u, cu);
	for (int v = 0; v < NVEC; v++) {
		CHECK(ct[v] == want_t[v], "--ring %s: peer %d vector %d rung "
		      "%d times, not %d", targets, tid, v, ct[v], want_t[v]);
		CHECK(cu[v] == want_u[v], "--ring %s: peer %d vector %d rung "
		      "%d times, not %d", targets, uid, v, cu[v], want_u[v]);
	}
}

static void expect_fail(int status, const char *target, const char *msg)
{
	char out[4096];
	int rc = ring(out, sizeof(out), target, NULL, NULL, NULL);

	CHECK(rc == status, "--ring '%s' exited %d, not %d:\n%s", target, rc,
	      status, out);
	CHECK(strstr(out, msg), "--ring '%s': no '%s' in:\n%s", target, msg,
	      out);
	check_quiet(target);
}

/* Not targets at all. */
static const char *const bad[] = {
	"", "x", "1", "1:", ":1", ":", "1:x", "x:1", "all:", ":all",
	"1:64", "1:99999999999", "65536:0", "-1:0", "1:-1", "+1:0",
	"1:2:3", " 1:0", "1:0 ", "al", "ALL", "all:all:all", "0x1:0",
};

int main(void)
{
	static const int none[NVEC], all[NVEC] = { 1, 1, 1, 1 };
	char a[32], b[32], c[32], d[32], e[32];

	tu_server_start(&s, ARGV("-n", "4"));
	t = ct_peer(s.socket_path, NVEC);
	u = ct_peer(s.socket_path, NVEC);
	tid = ivshmem_id(t);
	uid = ivshmem_id(u);

	snprintf(a, sizeof(a), "%d:2", tid);
	expect(a, (int[NVEC]){ 0, 0, 1, 0 }, none);

	snprintf(a, sizeof(a), "%d:0 %d:3 %d:1", tid, tid, uid);
	expect(a, (int[NVEC]){ 1, 0, 0, 1 }, (int[NVEC]){ 0, 1, 0, 0 });

	snprintf(a, sizeof(a), "%d:1 %d:1", tid, tid);
	expect(a, (int[NVEC]){ 0, 2, 0, 0 }, none);

	snprintf(a, sizeof(a), "%d:all", uid);
	expect(a, none, all);

	expect("all:1", (int[NVEC]){ 0, 1, 0, 0 }, (int[NVEC]){ 0, 1, 0, 0 });
	expect("all", all, all);
	snprintf(a, sizeof(a), "all:3 %d:all", tid);
	expect(a, (int[NVEC]){ 1, 1, 1, 2 }, (int[NVEC]){ 0, 0, 0, 1 });

	/* Known targets, but not there. */
	expect_fail(1, "999:0", "no peer 999");
	snprintf(b, sizeof(b), "%d:4", tid);
	snprintf(c, sizeof(c), "peer %d has no vector 4", tid);
	expect_fail(1, b, c);
	snprintf(d, sizeof(d), "%d:63", uid);
	snprintf(e, sizeof(e), "peer %d has no vector 63", uid);
	expect_fail(1, d, e);
	expect_fail(1, "all:5", "has no vector 5");

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_fail(2, bad[i], "invalid --ring");

	ivshmem_close(t);
	ivshmem_close(u);
	return 0;
}
