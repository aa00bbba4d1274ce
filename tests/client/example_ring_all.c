/* SPDX-License-Identifier: MIT */
/*
 * examples/ring_all (the README's example) against a server with one other
 * peer: it rings that peer's vector 0, gets rung back, exits 0. With no
 * server it exits 1 saying why.
 */
#include <string.h>

#include "clienttest.h"

int main(void)
{
	struct ct_proc *c = calloc(1, sizeof(*c));
	const char *bin = tu_bin("examples/ring_all");
	struct tu_server s;
	struct ivshmem *p;
	struct ivshmem_event ev;
	char line[128], out[4096], nowhere[256];
	unsigned vec = 99;
	int id, rc;

	CHECK(c, "out of memory");
	tu_server_start(&s, ARGV("-l", "64K"));
	p = ct_peer(s.socket_path, 1);

	ct_spawn(c, ARGV(bin, s.socket_path));
	id = ct_peer_event(p, IVSHMEM_EV_PEER_JOINED, -1, 10000);
	CHECK(id >= 0, "the example did not join:\n%s", c->buf);
	CHECK(ivshmem_ring(p, id, 0) == 0, "ring it");
	/* Its join is an event too: skip events. */
	while ((rc = ivshmem_wait(p, 10000, &vec)) == 2)
		ivshmem_next_event(p, &ev);
	CHECK(rc == 1 && vec == 0, "the example did not ring us: %d\n%s",
	      rc, c->buf);
	CHECK(ct_wait_exit(c, 10000) == 0, "the example exited %d:\n%s",
	      c->status, c->buf);

	snprintf(line, sizeof(line), "id %d, 65536 bytes, 1 peers\n", id);
	CHECK(strstr(c->buf, line), "no '%s' in:\n%s", line, c->buf);
	snprintf(line, sizeof(line), "ring peer %d: ok\n", ivshmem_id(p));
	CHECK(strstr(c->buf, line), "no '%s' in:\n%s", line, c->buf);
	CHECK(strstr(c->buf, "doorbell on vector 0\n"), "not rung:\n%s",
	      c->buf);
	ct_finish(c);
	free(c);
	ivshmem_close(p);

	snprintf(nowhere, sizeof(nowhere), "%s/nowhere", tu_tmpdir());
	rc = tu_run(ARGV(bin, nowhere), out, sizeof(out), 20);
	CHECK(rc == 1 && strstr(out, "connect: No such file or directory"),
	      "with no server: exit %d:\n%s", rc, out);
	return 0;
}
