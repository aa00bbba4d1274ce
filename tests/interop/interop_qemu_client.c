/* SPDX-License-Identifier: MIT */
/*
 * QEMU's reference contrib/ivshmem-client against our ivshmem-server,
 * driven through its stdin (dump, int PEER VECTOR, int PEER all, int all):
 * it joins, lists our peers, is rung by ours and rings ours.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "interop.h"

#define T_MS 10000

static struct tu_server srv;

/* Wait for its verbose "  new vector V (fd=N) for peer id ID" line. */
static void expect_vector_line(struct iu_proc *q, int vector, int id)
{
	char text[32];
	int got;

	snprintf(text, sizeof(text), "  new vector %d (fd=", vector);
	do {
		const char *rest = iu_expect_output(q, text, T_MS);

		CHECK(sscanf(rest, "%*d) for peer id %d", &got) == 1,
		      "odd line: %s%.40s", text, rest);
	} while (got != id);
}

/* Its dump lists 'id' (our_id or peer_id) with 'vectors' vectors. */
static void check_dump_entry(const char *dump, const char *what, int id,
			     int vectors)
{
	char head[64], line[64];
	const char *at;

	snprintf(head, sizeof(head), "%s = %d\n", what, id);
	at = strstr(dump, head);
	CHECK(at, "'%s' not in its dump:\n%s", head, dump);
	at += strlen(head);
	for (int v = 0; v < vectors; v++) {
		snprintf(line, sizeof(line), "  vector %d is enabled (fd=", v);
		CHECK(!strncmp(at, line, strlen(line)),
		      "%s %d: no vector %d in its dump:\n%s", what, id, v, dump);
		at = strchr(at, '\n');
		CHECK(at, "truncated dump:\n%s", dump);
		at++;
	}
	CHECK(strncmp(at, "  vector", 8), "%s %d has more than %d vectors:\n%s",
	      what, id, vectors, dump);
}

int main(void)
{
	static const char *const srv_args[] = { "-l", "4M", "-n", "2", NULL };
	struct iu_proc waiter, q;
	struct iu_peer o;
	char cmd[64], out[4096], dump[4096];
	const char *argv[16], *rest;
	int p_id, q_id, rc;

	iu_init();
	iu_ref_bin("ivshmem-client");
	/* testutil stops it at exit; the shm goes too if it was killed. */
	tu_server_start(&srv, srv_args);
	iu_cleanup_shm(srv.shm_name);

	/* O: a libivshmem observer, to learn everybody's ids. */
	iu_peer_connect(&o, "O", srv.socket_path, 2);

	/* P: our ivshmem-client, waiting for its vector 1. */
	iu_spawn_our_wait(&waiter, "client-wait", srv.socket_path, "1", "30");
	p_id = iu_expect_event(&o, IVSHMEM_EV_PEER_JOINED, -1, T_MS).peer;

	/* Q: QEMU's ivshmem-client; stdbuf, or its printf()s sit in a buffer. */
	argv[0] = "stdbuf";
	argv[1] = "-oL";
	argv[2] = iu_ref_bin("ivshmem-client");
	argv[3] = "-v";
	argv[4] = "-S";
	argv[5] = srv.socket_path;
	argv[6] = NULL;
	iu_spawn(&q, "qemu-ivshmem-client", argv, 1);
	q_id = iu_expect_event(&o, IVSHMEM_EV_PEER_JOINED, -1, T_MS).peer;
	rest = iu_expect_output(&q, "our_id=", T_MS);
	CHECK(atoi(rest) == q_id, "it says our_id=%d, O saw %d join",
	      atoi(rest), q_id);
	iu_expect_output(&q, "listen on server socket", T_MS);
	/* Its own vectors come last: then it knows everything. */
	expect_vector_line(&q, 1, q_id);

	/* dump: itself and both of ours, 2 vectors each. */
	iu_send(&q, "dump");
	rest = iu_expect_output(&q, "our_id = ", T_MS);
	/* The log only grows, so 'rest' still points into it after this. */
	iu_expect_output(&q, "cmd> ", T_MS);
	snprintf(dump, sizeof(dump), "our_id = %s", rest);
	CHECK(strstr(dump, "cmd> "), "no prompt after its dump:\n%s", dump);
	*strstr(dump, "cmd> ") = '\0';
	printf("QEMU's ivshmem-client 'dump':\n%s", dump);
	check_dump_entry(dump, "our_id", q_id, 2);
	check_dump_entry(dump, "peer_id", ivshmem_id(o.iv), 2);
	check_dump_entry(dump, "peer_id", p_id, 2);

	/* Ours ring it: our ivshmem-client on vector 1, libivshmem on 0. */
	snprintf(cmd, sizeof(cmd), "%d:1", q_id);
	rc = iu_our_client(srv.socket_path, "--ring", cmd, out, sizeof(out));
	CHECK(rc == 0, "--ring %s exited %d:\n%s", cmd, rc, out);
	/* It names itself as the sender: an eventfd carries none. */
	snprintf(cmd, sizeof(cmd), "receive notification from peer_id=%d "
		 "vector=1\n", q_id);
	iu_expect_output(&q, cmd, T_MS);
	CHECK(ivshmem_ring(o.iv, q_id, 0) == 0, "O rings it on vector 0");
	snprintf(cmd, sizeof(cmd), "receive notification from peer_id=%d "
		 "vector=0\n", q_id);
	iu_expect_output(&q, cmd, T_MS);

	/* It rings P's vector 1: P's --wait 1 is over. */
	snprintf(cmd, sizeof(cmd), "int %d 1", p_id);
	iu_send(&q, cmd);
	rc = iu_wait_exit(&waiter, T_MS);
	iu_show_log(&waiter, "our ivshmem-client --wait 1");
	CHECK(rc == 0, "--wait 1 exited %d", rc);
	iu_expect_output(&waiter, "notification on our vector 1", 0);
	iu_expect_event(&o, IVSHMEM_EV_PEER_LEFT, p_id, T_MS);
	/* ... and it was told P left. */
	snprintf(cmd, sizeof(cmd), "delete peer id = %d\n", p_id);
	iu_expect_output(&q, cmd, T_MS);
	snprintf(cmd, sizeof(cmd), "int %d 1", p_id);
	iu_send(&q, cmd);
	snprintf(cmd, sizeof(cmd), "cannot find peer_id = %d\n", p_id);
	iu_expect_output(&q, cmd, T_MS);

	/* It rings O: one vector, all of O's, then everybody's. */
	snprintf(cmd, sizeof(cmd), "int %d 0", ivshmem_id(o.iv));
	iu_send(&q, cmd);
	iu_expect_rung(&o, 1ULL << 0, T_MS);
	iu_peer_idle(&o, 200);
	CHECK(o.rung == 0, "O: 'int %d 0' also rang 0x%llx", ivshmem_id(o.iv),
	      o.rung);
	snprintf(cmd, sizeof(cmd), "int %d all", ivshmem_id(o.iv));
	iu_send(&q, cmd);
	iu_expect_rung(&o, 3, T_MS);
	iu_send(&q, "int all");
	iu_expect_rung(&o, 3, T_MS);

	/* It leaves: O is told. */
	CHECK(!iu_output_has(&q, "invalid command"), "it rejected a command");
	CHECK(!iu_output_has(&q, "could not write"), "a ring failed");
	rc = iu_stop(&q, T_MS);
	CHECK(rc == 128 + SIGTERM, "it exited %d on SIGTERM", rc);
	iu_expect_event(&o, IVSHMEM_EV_PEER_LEFT, q_id, T_MS);
	iu_show_log(&q, "QEMU's ivshmem-client");

	ivshmem_close(o.iv);
	rc = tu_server_stop(&srv);
	CHECK(rc == 0, "our ivshmem-server exited %d", rc);
	printf("PASS\n");
	return 0;
}
