/* SPDX-License-Identifier: MIT */
/*
 * Our side against QEMU's reference contrib/ivshmem-server: libivshmem and
 * our ivshmem-client join it, see each other's ids and vector counts, ring
 * each other, share its memory and see each other leave.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "interop.h"

#define SHM_SIZE (4u << 20)
#define T_MS 10000

static struct iu_proc server;
static char sock[128];

/* Run our ivshmem-client with one option; returns its exit status. */
static int parse_own_id(const char *dump)
{
	const char *at = strstr(dump, "own id: ");

	CHECK(at, "no 'own id' in:\n%s", dump);
	return atoi(at + strlen("own id: "));
}

static void check_dump_lists(const char *dump, int peer, int vectors)
{
	char line[64];

	snprintf(line, sizeof(line), "  peer %d: %d vectors\n", peer, vectors);
	CHECK(strstr(dump, line), "'%s' not in --dump:\n%s", line, dump);
}

/* Both mappings see what the other wrote, over the whole size. */
static void check_shared(struct iu_peer *w, struct iu_peer *r, uint32_t seed)
{
	volatile uint32_t *wm = ivshmem_mem(w->iv);
	volatile uint32_t *rm = ivshmem_mem(r->iv);
	size_t n = SHM_SIZE / sizeof(uint32_t);

	CHECK(wm != rm, "%s and %s share one mapping", w->name, r->name);
	for (size_t i = 0; i < n; i++)
		wm[i] = (uint32_t)i * 2654435761u ^ seed;
	for (size_t i = 0; i < n; i++)
		CHECK(rm[i] == ((uint32_t)i * 2654435761u ^ seed),
		      "%s reads 0x%x at word %zu, %s wrote 0x%x", r->name,
		      rm[i], i, w->name, (uint32_t)i * 2654435761u ^ seed);
}

int main(void)
{
	char shm[64], out[8192], arg[64];
	struct iu_peer a, b;
	struct iu_proc waiter, waiter0;
	struct ivshmem_event ev;
	int ids[8], n, rc, dump_id, c_id, ring_id;
	const char *argv[16];

	iu_init();
	snprintf(sock, sizeof(sock), "%s/sock", tu_tmpdir());
	snprintf(shm, sizeof(shm), "/ivinterop-%d", (int)getpid());
	iu_cleanup_shm(shm);

	/* QEMU's server, verbose so its log says what it did, as it goes. */
	argv[0] = "stdbuf";
	argv[1] = "-oL";
	argv[2] = iu_ref_bin("ivshmem-server");
	argv[3] = "-v";
	argv[4] = "-F";
	argv[5] = "-S";
	argv[6] = sock;
	argv[7] = "-M";
	argv[8] = shm;
	argv[9] = "-l";
	argv[10] = "4M";
	argv[11] = "-n";
	argv[12] = "2";
	argv[13] = NULL;
	iu_spawn(&server, "qemu-ivshmem-server", argv, 0);

	/*
	 * A: libivshmem, alone at first. It is also what waits for the
	 * server to listen: a probe that connects and closes at once would
	 * make QEMU's server fail to send it its setup (EPIPE), and exit.
	 */
	iu_peer_connect(&a, "A", sock, 2);
	CHECK(ivshmem_size(a.iv) == SHM_SIZE, "A: size %zu", ivshmem_size(a.iv));
	CHECK(ivshmem_vectors(a.iv) == 2, "A: %u vectors",
	      ivshmem_vectors(a.iv));
	CHECK(ivshmem_peers(a.iv, NULL, 0) == 0, "A: peers before anyone");

	/* Our ivshmem-client --dump sees A and its 2 vectors. */
	rc = iu_our_client(sock, "--dump", NULL, out, sizeof(out));
	printf("ivshmem-client --dump:\n%s", out);
	CHECK(rc == 0, "--dump exited %d:\n%s", rc, out);
	CHECK(strstr(out, "shared memory: 4194304 bytes"), "size:\n%s", out);
	CHECK(strstr(out, "vectors: 2\n"), "own vectors:\n%s", out);
	CHECK(strstr(out, "peers: 1\n"), "peer count:\n%s", out);
	check_dump_lists(out, ivshmem_id(a.iv), 2);
	dump_id = parse_own_id(out);
	CHECK(dump_id != ivshmem_id(a.iv), "both have id %d", dump_id);
	/* ... and A saw it come with 2 vectors, and go. */
	ev = iu_expect_event(&a, IVSHMEM_EV_PEER_JOINED, dump_id, T_MS);
	CHECK(ev.vectors == 2, "A: peer %d joined with %u vectors", dump_id,
	      ev.vectors);
	iu_expect_event(&a, IVSHMEM_EV_PEER_LEFT, dump_id, T_MS);
	CHECK(ivshmem_peers(a.iv, NULL, 0) == 0, "A: the --dump peer stays");

	/* B: a second libivshmem peer; A and B see each other. */
	iu_peer_connect(&b, "B", sock, 2);
	ev = iu_expect_event(&a, IVSHMEM_EV_PEER_JOINED, ivshmem_id(b.iv), T_MS);
	CHECK(ev.vectors == 2, "A: B joined with %u vectors", ev.vectors);
	n = ivshmem_peers(b.iv, ids, 8);
	CHECK(n == 1 && ids[0] == ivshmem_id(a.iv), "B: %d peers, first %d",
	      n, n > 0 ? ids[0] : -1);
	CHECK(ivshmem_peer_vectors(b.iv, ivshmem_id(a.iv)) == 2,
	      "B: A has %d vectors", ivshmem_peer_vectors(b.iv,
							  ivshmem_id(a.iv)));

	/* The memory QEMU's server handed out is one and the same. */
	check_shared(&a, &b, 0x5a5a0001);
	check_shared(&b, &a, 0xa5a50002);

	/* libivshmem rings libivshmem through QEMU's server's eventfds. */
	CHECK(ivshmem_ring(a.iv, ivshmem_id(b.iv), 1) == 0, "A rings B:1");
	iu_expect_rung(&b, 1ULL << 1, T_MS);
	CHECK(ivshmem_ring(b.iv, ivshmem_id(a.iv), 0) == 0, "B rings A:0");
	iu_expect_rung(&a, 1ULL << 0, T_MS);

	/* C: our ivshmem-client --wait 1, rung by another of ours. */
	iu_spawn_our_wait(&waiter, "client-wait", sock, "1", "10");
	c_id = iu_expect_event(&a, IVSHMEM_EV_PEER_JOINED, -1, T_MS).peer;
	iu_expect_event(&b, IVSHMEM_EV_PEER_JOINED, c_id, T_MS);

	rc = iu_our_client(sock, "--dump", NULL, out, sizeof(out));
	printf("ivshmem-client --dump:\n%s", out);
	CHECK(rc == 0 && strstr(out, "peers: 3\n"), "--dump (%d):\n%s", rc,
	      out);
	check_dump_lists(out, ivshmem_id(a.iv), 2);
	check_dump_lists(out, ivshmem_id(b.iv), 2);
	check_dump_lists(out, c_id, 2);
	dump_id = parse_own_id(out);
	CHECK(iu_expect_come_and_go(&a, T_MS) == dump_id, "A: not --dump");

	snprintf(arg, sizeof(arg), "%d:1", c_id);
	rc = iu_our_client(sock, "--ring", arg, out, sizeof(out));
	CHECK(rc == 0, "--ring %s exited %d:\n%s", arg, rc, out);
	iu_expect_come_and_go(&a, T_MS);
	rc = iu_wait_exit(&waiter, T_MS);
	CHECK(rc == 0, "--wait 1 exited %d", rc);
	/* It was told of the --dump peer's coming and going, in order. */
	snprintf(arg, sizeof(arg), "peer %d joined (2 vectors)\n", dump_id);
	iu_expect_output(&waiter, arg, 0);
	snprintf(arg, sizeof(arg), "peer %d left\n", dump_id);
	iu_expect_output(&waiter, arg, 0);
	iu_expect_output(&waiter, "notification on our vector 1", 0);
	iu_show_log(&waiter, "our ivshmem-client --wait 1");
	printf("our --wait 1 was rung by our --ring %d:1\n", c_id);
	iu_expect_event(&a, IVSHMEM_EV_PEER_LEFT, c_id, T_MS);

	/* Our ivshmem-client rings libivshmem: one vector, then all. */
	snprintf(arg, sizeof(arg), "%d:0", ivshmem_id(a.iv));
	rc = iu_our_client(sock, "--ring", arg, out, sizeof(out));
	CHECK(rc == 0, "--ring %s exited %d:\n%s", arg, rc, out);
	iu_expect_rung(&a, 1ULL << 0, T_MS);
	iu_expect_come_and_go(&a, T_MS);
	rc = iu_our_client(sock, "--ring", "all:all", out, sizeof(out));
	CHECK(rc == 0, "--ring all:all exited %d:\n%s", rc, out);
	iu_expect_rung(&a, 3, T_MS);
	iu_expect_rung(&b, 3, T_MS);
	iu_expect_come_and_go(&a, T_MS);

	/* A ring from libivshmem to our ivshmem-client --wait 0. */
	iu_spawn_our_wait(&waiter0, "client-wait0", sock, "0", "10");
	ring_id = iu_expect_event(&a, IVSHMEM_EV_PEER_JOINED, -1, T_MS).peer;
	/* Every ring so far left with its peer: none is pending. */
	iu_peer_idle(&a, 100);
	CHECK(a.rung == 0, "A: stray rings 0x%llx", a.rung);
	CHECK(ivshmem_ring(a.iv, ring_id, 0) == 0, "A rings %d:0", ring_id);
	rc = iu_wait_exit(&waiter0, T_MS);
	CHECK(rc == 0, "--wait 0 exited %d", rc);
	iu_expect_event(&a, IVSHMEM_EV_PEER_LEFT, ring_id, T_MS);

	/* B leaves: A is told, and B is gone from its peers. */
	n = ivshmem_id(b.iv);
	ivshmem_close(b.iv);
	iu_expect_event(&a, IVSHMEM_EV_PEER_LEFT, n, T_MS);
	CHECK(ivshmem_peers(a.iv, NULL, 0) == 0, "A: peers after B left");
	CHECK(ivshmem_ring(a.iv, n, 0) == -ENOENT, "A rings B after it left");

	/* QEMU's server goes: A is told. */
	rc = iu_stop(&server, T_MS);
	printf("QEMU's ivshmem-server exited %d\n", rc);
	iu_expect_event(&a, IVSHMEM_EV_SERVER_GONE, -1, T_MS);
	ivshmem_close(a.iv);
	iu_show_log(&server, "QEMU's ivshmem-server");
	CHECK(rc == 0, "QEMU's ivshmem-server exited %d on SIGTERM", rc);
	printf("PASS\n");
	return 0;
}
