/* SPDX-License-Identifier: MIT */
/*
 * ivshmem-ctl mailbox (issue 15, item 5): two real mailbox peers (the IPM
 * library) exchange messages, one leaves three unread; the view shows
 * both owners, the three records queued for the reader (depth = their
 * lines) and nothing queued the other way, and a raw peer watching sees
 * no join or leave. The server's fd is read-only (mmap PROT_WRITE fails).
 * Scribbled copies of the region (random bytes, random words flipped in
 * a real header, slots and queues, truncated files) print as garbage
 * with exit status 1, never a crash.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ipmtest.h"
#include "ipmc_layout.h"
#include "srvtest.h"

static int run_ctl(const char *const *argv, char *out, size_t len)
{
	return tu_run(argv, out, len, 30);
}

static unsigned received;

static void on_msg(struct ipm *ipm, void *user, uint32_t id,
		   const volatile void *data, size_t len)
{
	(void)ipm;
	(void)user;
	(void)id;
	(void)data;
	(void)len;
	received++;
}

/* The region's fd as ivshmem-ctl gets it, over the control socket. */
static int region_fd(const char *sock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	char buf[256];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = u.b, .msg_controllen = sizeof(u.b) };
	struct cmsghdr *c;
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), fd = -1;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s.ctl", sock);
	CHECK(s >= 0 && connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0,
	      "connect %s: %s", sa.sun_path, strerror(errno));
	CHECK(send(s, "mailbox\n", 8, 0) == 8, "send");
	CHECK(recvmsg(s, &msg, MSG_CMSG_CLOEXEC) > 0, "recvmsg");
	c = CMSG_FIRSTHDR(&msg);
	CHECK(c && c->cmsg_type == SCM_RIGHTS, "no fd with the answer");
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	close(s);
	return fd;
}

static uint8_t *snap;
static size_t snap_len;

/* A copy of the live region, scribbled on later. */
static void snapshot(const char *sock)
{
	int fd = region_fd(sock);
	struct stat st;

	CHECK(fstat(fd, &st) == 0, "fstat");
	snap_len = (size_t)st.st_size;
	snap = malloc(snap_len);
	CHECK(snap && pread(fd, snap, snap_len, 0) == (ssize_t)snap_len,
	      "read the region");
	close(fd);
}

static void live(void)
{
	/* 2 slots: the 2 queues the scribbling below aims at. */
	struct ipm_config cfg = { .mode = IPM_MODE_MAILBOX, .slots = 2 };
	const char *argv[8];
	struct tu_server srv;
	struct ipm *a, *b;
	struct tpeer w;
	char out[16384], want[128];
	int fd, rc;
	void *map;

	tu_server_start_default(&srv, (const char *[]){ "-n", "1", NULL });
	tp_join(&w, srv.socket_path, 1, NULL, 0, NULL);
	a = it_open(srv.socket_path, &cfg);
	b = it_open(srv.socket_path, &cfg);
	tp_expect_join(&w, it_id(a));
	tp_expect_join(&w, it_id(b));
	ipm_register_callback(a, on_msg, NULL);
	ipm_register_callback(b, on_msg, NULL);
	/* b -> a, delivered; a -> b three times, b never processes. */
	CHECK(ipm_send(b, 0, (uint32_t)it_id(a), "ping", 4) == 0, "b sends");
	for (int i = 0; i < 100 && !received; i++)
		ipm_poll(a, 50);
	CHECK(received == 1, "a did not receive b's message");
	for (int i = 0; i < 3; i++)
		CHECK(ipm_send(a, 0, (uint32_t)it_id(b), "queued!", 7) == 0,
		      "a sends %d", i);

	argv[0] = tu_bin("tools/ivshmem-ctl");
	argv[1] = "-S";
	argv[2] = srv.socket_path;
	argv[3] = "mailbox";
	argv[4] = NULL;
	rc = run_ctl(argv, out, sizeof(out));
	CHECK(rc == 0, "ivshmem-ctl mailbox: status %d: %s", rc, out);
	printf("%s", out);
	argv[3] = "--json";
	argv[4] = "mailbox";
	argv[5] = NULL;
	rc = run_ctl(argv, out, sizeof(out));
	CHECK(rc == 0 && strstr(out, "\"consistent\":true"), "--json: %d %s",
	      rc, out);
	for (int i = 0; i < 2; i++) {
		snprintf(want, sizeof(want), "\"peer\":%d,",
			 it_id(i ? b : a));
		CHECK(strstr(out, want), "no slot owned by peer %d: %s",
		      it_id(i ? b : a), out);
	}
	snprintf(want, sizeof(want), "\"depth\":%llu,",
		 (unsigned long long)(3 * ipmc_rec_size(7)));
	CHECK(strstr(out, want), "no queue %s (3 records unread): %s", want,
	      out);
	CHECK(strstr(out, "\"depth\":0,"), "no empty queue: %s", out);
	tp_expect_quiet(&w, 200);

	snapshot(srv.socket_path);
	fd = region_fd(srv.socket_path);
	CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY, "the region fd "
	      "is not read-only");
	map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(map == MAP_FAILED && errno == EACCES, "the region fd maps "
	      "writable");
	close(fd);
	printf("the view: both owners, %llu bytes queued a->b, none b->a, "
	       "consistent; the watcher saw no join or leave; the fd is "
	       "read-only\n", (unsigned long long)(3 * ipmc_rec_size(7)));
	ipm_close(a);
	ipm_close(b);
	tp_close(&w);
	CHECK(tu_server_stop(&srv) == 0, "server exit status");
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* ivshmem-ctl on a file: exit 0 or 1, never a signal. */
static int view_file(const char *path, const void *data, size_t len,
		     int json, char *out, size_t outlen)
{
	const char *argv[] = { tu_bin("tools/ivshmem-ctl"), "-i", "0", "-r",
			       path, json ? "--json" : "mailbox",
			       json ? "mailbox" : NULL, NULL };
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600), rc;

	CHECK(fd >= 0 && write(fd, data, len) == (ssize_t)len && !close(fd),
	      "write %s", path);
	rc = tu_run(argv, out, outlen, 30);
	CHECK(rc == 0 || rc == 1, "ivshmem-ctl on a scribbled region: status "
	      "%d: %s", rc, out);
	return rc;
}

static void scribbled(void)
{
	static char out[65536];
	char path[256];
	uint8_t *copy = malloc(snap_len);
	int rc, garbage = 0;

	CHECK(copy, "malloc");
	snprintf(path, sizeof(path), "%s/region", tu_tmpdir());
	rc = view_file(path, snap, snap_len, 0, out, sizeof(out));
	CHECK(rc == 0 && strstr(out, "consistent"), "the unscribbled copy: "
	      "%d: %s", rc, out);
	for (size_t i = 0; i < snap_len; i++)
		copy[i] = (uint8_t)next_rand();
	rc = view_file(path, copy, snap_len, 0, out, sizeof(out));
	CHECK(rc == 1 && strstr(out, "no mailbox: magic"), "random bytes: "
	      "%d: %s", rc, out);
	rc = view_file(path, snap, 100, 0, out, sizeof(out));
	CHECK(rc == 1 && strstr(out, "less than a mailbox header"),
	      "truncated: %d: %s", rc, out);
	/* Random words of the header, the slots and the queues' control. */
	for (int round = 0; round < 300; round++) {
		size_t nq = 2, ctl0 = IPMC_HEADER_SIZE;

		memcpy(copy, snap, snap_len);
		for (int k = 1 + round % 4; k > 0; k--) {
			uint64_t r = next_rand(), word = next_rand();
			size_t off;

			if (r % 3 == 0)
				off = (r >> 8) % (IPMC_HEADER_SIZE / 8) * 8;
			else
				off = ctl0 + ((r >> 8) % nq) * (snap_len -
				      IPMC_HEADER_SIZE) / nq / 64 * 64 +
				      (r >> 20) % (IPMC_QUEUE_CTL / 8) * 8;
			if (off + 8 > snap_len)
				continue;
			if (r & 0x10)
				word &= 0xffff;   /* small: plausible */
			memcpy(copy + off, &word, 8);
		}
		rc = view_file(path, copy, snap_len, round & 1, out,
			       sizeof(out));
		garbage += rc == 1;
	}
	CHECK(garbage > 50, "only %d of 300 scribbled copies were flagged",
	      garbage);
	printf("scribbled: random bytes, a truncated region and 300 copies "
	       "with words flipped (%d flagged as garbage): exit 0 or 1, no "
	       "crash\n", garbage);
	free(copy);
}

int main(void)
{
	live();
	scribbled();
	free(snap);
	printf("server_ctl_mailbox: ok\n");
	return 0;
}
