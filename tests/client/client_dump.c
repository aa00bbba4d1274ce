/* SPDX-License-Identifier: MIT */
/*
 * --dump: our id, the shared memory size, our vectors and the live peers
 * (a libivshmem peer here and an interactive client), then exit 0.
 */
#include <string.h>

#include "clienttest.h"

int main(void)
{
	struct tu_server s;
	struct ct_proc *shell = calloc(1, sizeof(*shell));
	struct ivshmem *iv;
	char out[8192], line[128];
	int rc, sid, did, me;

	CHECK(shell, "out of memory");
	tu_server_start(&s, ARGV("-l", "1M", "-n", "3"));
	iv = ct_peer(s.socket_path, 3);
	me = ivshmem_id(iv);

	ct_spawn(shell, ARGV(ct_client_bin(), "-S", s.socket_path, "-n", "3"));
	CHECK(ct_expect(shell, "joined as peer ", 5000),
	      "the shell did not start:\n%s", shell->buf);
	sid = ct_peer_event(iv, IVSHMEM_EV_PEER_JOINED, -1, 5000);
	CHECK(sid >= 0 && sid != me, "the shell's join was not seen");

	rc = tu_run(ARGV(ct_client_bin(), "-S", s.socket_path, "-n", "3",
			 "--dump"), out, sizeof(out), 20);
	CHECK(rc == 0, "--dump exited %d:\n%s", rc, out);
	did = ct_peer_event(iv, IVSHMEM_EV_PEER_JOINED, -1, 5000);
	CHECK(did >= 0 && did != sid && did != me, "--dump's join not seen");
	CHECK(ct_peer_event(iv, IVSHMEM_EV_PEER_LEFT, did, 5000) == did,
	      "--dump did not leave");

	snprintf(line, sizeof(line), "own id: %d\n", did);
	CHECK(strstr(out, line), "no '%s' in:\n%s", line, out);
	CHECK(strstr(out, "shared memory: 1048576 bytes"), "size:\n%s", out);
	CHECK(strstr(out, "vectors: 3\n"), "vectors:\n%s", out);
	CHECK(strstr(out, "peers: 2\n"), "peer count:\n%s", out);
	snprintf(line, sizeof(line), "peer %d: 3 vectors\n", me);
	CHECK(strstr(out, line), "no '%s' in:\n%s", line, out);
	snprintf(line, sizeof(line), "peer %d: 3 vectors\n", sid);
	CHECK(strstr(out, line), "no '%s' in:\n%s", line, out);
	/* Peers ascending: ours joined first. */
	snprintf(line, sizeof(line), "peer %d:", sid);
	CHECK(strstr(out, line) > strstr(out, "peers: 2"), "order:\n%s", out);

	/* Alone but for us: by default all the server's 3 vectors. */
	ct_close_in(shell);
	CHECK(ct_wait_exit(shell, 5000) == 0, "the shell exited %d:\n%s",
	      shell->status, shell->buf);
	ct_finish(shell);
	rc = tu_run(ARGV(ct_client_bin(), "-S", s.socket_path, "--dump"),
		    out, sizeof(out), 20);
	CHECK(rc == 0, "--dump exited %d:\n%s", rc, out);
	CHECK(strstr(out, "vectors: 3\n") && strstr(out, "peers: 1\n"),
	      "second dump:\n%s", out);
	snprintf(line, sizeof(line), "peer %d: 3 vectors\n", me);
	CHECK(strstr(out, line), "no '%s' in:\n%s", line, out);
	/* The server's memfd or shm: either way the dump says which. */
	CHECK(strstr(out, "shared memory sealed against shrinking: "),
	      "no seal line:\n%s", out);

	/* -n 1 keeps one of ours and of each peer's: "1 vector". */
	rc = tu_run(ARGV(ct_client_bin(), "-S", s.socket_path, "-n", "1",
			 "--dump"), out, sizeof(out), 20);
	CHECK(rc == 0, "--dump -n 1 exited %d:\n%s", rc, out);
	snprintf(line, sizeof(line), "peer %d: 1 vector\n", me);
	CHECK(strstr(out, "vectors: 1\n") && strstr(out, line),
	      "-n 1 dump:\n%s", out);

	ivshmem_close(iv);
	free(shell);
	return 0;
}
