/* SPDX-License-Identifier: MIT */
/*
 * A restart in place no peer notices (issue 15): QEMU's ivshmem-doorbell
 * device (qtest) and two libivshmem host peers ring each other, both
 * ways, before and after the server re-executes itself on SIGHUP, and
 * after "ivshmem-ctl restart" into an upgraded binary (a new file renamed
 * over the server's program path in between). No old peer sees EOF or a
 * leave; a peer that joins afterwards learns every old peer with its
 * vectors and maps the same memory (a pattern written before the first
 * restart, read after the last).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hostpeer.h"
#include "ivdev.h"
#include "srvtest.h"

#define NVEC 2

static void host_to_device(struct hostpeer *hp, struct ivdev *dev, int dev_id,
			   unsigned v)
{
	hp_ring(hp, dev_id, v);
	CHECK(ivdev_wait_pending(dev, v, TP_TIMEOUT_MS), "host peer %d rang "
	      "the device's vector %u: not pending", hp->id, v);
	ivdev_clear_pending(dev, v);
}

static void device_to_host(struct ivdev *dev, struct hostpeer *hp, unsigned v)
{
	long long deadline = tu_now_ns() + TP_TIMEOUT_MS * 1000000LL;
	unsigned got = ~0u;

	/* The device learns new peers' eventfds on its own time: retry. */
	do {
		ivdev_ring(dev, hp->id, v);
	} while (!hp_wait_vector(hp, 200, &got) && tu_now_ns() < deadline);
	CHECK(got == v, "the device rang host peer %d's vector %u: got %d",
	      hp->id, v, (int)got);
	while (hp_wait_vector(hp, 50, &got))
		CHECK(got == v, "host peer %d: vector %u fired, %u was rung",
		      hp->id, got, v);
}

static void host_to_host(struct hostpeer *a, struct hostpeer *b, unsigned v)
{
	unsigned got = ~0u;

	hp_ring(a, b->id, v);
	CHECK(hp_wait_vector(b, TP_TIMEOUT_MS, &got) && got == v, "peer %d "
	      "rang peer %d's vector %u: got %d", a->id, b->id, v, (int)got);
}

/* Every pair, both ways, every vector. */
static void ring_all(struct hostpeer *a, struct hostpeer *b,
		     struct ivdev *dev, int dev_id, const char *when)
{
	for (unsigned v = 0; v < NVEC; v++) {
		host_to_device(a, dev, dev_id, v);
		host_to_device(b, dev, dev_id, v);
		device_to_host(dev, a, v);
		device_to_host(dev, b, v);
		host_to_host(a, b, v);
		host_to_host(b, a, v);
	}
	printf("%s: host %d, host %d and device %d rang each other, both "
	       "ways, %d vectors\n", when, a->id, b->id, dev_id, NVEC);
}

/* No SERVER_GONE, and no leave of anyone in old[]. */
static void nothing_noticed(struct hostpeer *hp, const int *old, int n)
{
	unsigned got;

	while (hp_wait_vector(hp, 50, &got))
		;
	for (unsigned i = 0; i < hp->nev; i++) {
		CHECK(hp->ev[i].type != IVSHMEM_EV_SERVER_GONE, "host peer %d "
		      "saw the server go", hp->id);
		for (int j = 0; j < n; j++)
			CHECK(hp->ev[i].type != IVSHMEM_EV_PEER_LEFT ||
			      hp->ev[i].peer != old[j], "host peer %d saw "
			      "old peer %d leave", hp->id, old[j]);
	}
	for (int j = 0; j < n; j++)
		CHECK(old[j] == hp->id ||
		      ivshmem_peer_vectors(hp->iv, old[j]) == NVEC,
		      "host peer %d no longer knows peer %d", hp->id, old[j]);
}

/* A newcomer: raw (every peer and vector as sent) and libivshmem. */
static void newcomer(const struct tu_server *srv, const int *old, int n,
		     const uint8_t *pattern, size_t len, struct ivdev *dev,
		     int dev_id)
{
	struct tpeer t;
	struct hostpeer c;
	int others[8], k, ids[8];
	const uint8_t *mem;

	const char *sock = srv->socket_path;
	char left[32];

	tp_join(&t, sock, NVEC, others, 8, &k);
	CHECK(k == n, "a newcomer's setup named %d peers, %d are there", k, n);
	for (int i = 0; i < n; i++) {
		int j;

		for (j = 0; j < k && others[j] != old[i]; j++)
			;
		CHECK(j < k, "a newcomer's setup lacks peer %d", old[i]);
	}
	snprintf(left, sizeof(left), "peer %d left", t.id);
	tp_close(&t);
	/* Gone before the next one joins, or it would be in its setup. */
	srv_log_wait(srv->log_path, left, NULL, TP_TIMEOUT_MS);
	hp_connect(&c, sock, NVEC);
	k = ivshmem_peers(c.iv, ids, 8);
	CHECK(k == n, "libivshmem newcomer knows %d peers, %d are there", k, n);
	for (int i = 0; i < n; i++)
		CHECK(ivshmem_peer_vectors(c.iv, old[i]) == NVEC, "newcomer: "
		      "peer %d with %d vectors", old[i],
		      ivshmem_peer_vectors(c.iv, old[i]));
	mem = ivshmem_mem(c.iv);
	CHECK(!memcmp(mem, pattern, len), "the newcomer maps other memory: "
	      "the pattern written before the restart is not there");
	host_to_device(&c, dev, dev_id, 1);
	device_to_host(dev, &c, 0);
	printf("a newcomer learnt peers");
	for (int i = 0; i < n; i++)
		printf(" %d", old[i]);
	printf(" (%d vectors each), read the pattern, rang the device both "
	       "ways\n", NVEC);
	hp_close(&c);
}

static ino_t exe_ino(pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	CHECK(stat(path, &st) == 0, "%s: %s", path, strerror(errno));
	return st.st_ino;
}

int main(void)
{
	static uint8_t pattern[8192];
	static const char *const args[] = { "-n", "2", NULL };
	struct hostpeer a, b;
	struct tu_server srv;
	struct ivdev dev;
	char bin[256], fresh[256];
	struct stat st;
	int dev_id, old[3], fds;
	uint8_t *mem;

	qt_require_qemu();
	snprintf(bin, sizeof(bin), "%s/ivshmem-server", tu_tmpdir());
	snprintf(fresh, sizeof(fresh), "%s/ivshmem-server.new", tu_tmpdir());
	srv_copy_file(tu_bin("src/server/ivshmem-server"), bin, 0755);
	tu_server_start_prog(&srv, bin, args);
	hp_connect(&a, srv.socket_path, NVEC);
	dev_id = hp_start_device(&a, &dev, srv.socket_path, NVEC, NULL);
	hp_connect(&b, srv.socket_path, NVEC);
	old[0] = a.id;
	old[1] = b.id;
	old[2] = dev_id;
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 13 + 5);
	mem = ivshmem_mem(a.iv);
	memcpy(mem, pattern, sizeof(pattern));
	__sync_synchronize();
	ring_all(&a, &b, &dev, dev_id, "before");
	fds = srv_settled_fds(srv.pid);

	srv_restart(&srv, 1);
	printf("SIGHUP: restarted in place (pid %d)\n", (int)srv.pid);
	ring_all(&a, &b, &dev, dev_id, "after SIGHUP");
	nothing_noticed(&a, old, 3);
	nothing_noticed(&b, old, 3);
	CHECK(srv_settled_fds(srv.pid) == fds, "the server had %d fds, now "
	      "%d", fds, srv_settled_fds(srv.pid));

	/* The upgrade: a new file at the program's path, the old deleted. */
	srv_copy_file(tu_bin("src/server/ivshmem-server"), fresh, 0755);
	CHECK(rename(fresh, bin) == 0, "rename: %s", strerror(errno));
	CHECK(stat(bin, &st) == 0 && exe_ino(srv.pid) != st.st_ino,
	      "the server already runs the new file");
	srv_ctl_restart(&srv, 2);
	CHECK(exe_ino(srv.pid) == st.st_ino, "after 'ivshmem-ctl restart' "
	      "the server does not run the replaced binary");
	printf("ivshmem-ctl restart: the replaced binary (inode %lu) took "
	       "over, same pid %d\n", (unsigned long)st.st_ino, (int)srv.pid);
	ring_all(&a, &b, &dev, dev_id, "after the upgrade");
	nothing_noticed(&a, old, 3);
	nothing_noticed(&b, old, 3);

	/* BAR2 still shows the host's pattern; the device's writes show. */
	uint8_t got[256];

	qt_memread(&dev.qt, dev.shm, got, sizeof(got));
	CHECK(!memcmp(got, pattern, sizeof(got)), "BAR2 lost the pattern");
	newcomer(&srv, old, 3, pattern, sizeof(pattern), &dev,
		 dev_id);
	nothing_noticed(&a, old, 3);
	nothing_noticed(&b, old, 3);
	CHECK(srv_log_has(srv.log_path, "restart failed", NULL) == 0,
	      "a restart failed, see %s", srv.log_path);

	ivdev_stop(&dev);
	hp_close(&a);
	hp_close(&b);
	CHECK(tu_server_stop(&srv) == 0, "server exit status, see %s",
	      srv.log_path);
	printf("server_reexec: ok\n");
	return 0;
}
