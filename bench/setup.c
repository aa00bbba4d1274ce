/* SPDX-License-Identifier: MIT */
/*
 * setup.connect: a new peer's ivshmem_connect() through our ivshmem-server
 * with 1, 100 and 1000 peers already joined, from before the connect until
 * the library reports the setup complete (ivshmem_close() is not timed).
 *
 * setup.connect.qemu: the same through QEMU's reference ivshmem-server
 * (tests/interop/build-qemu-ref.sh builds it from Debian's source), in the
 * same run, each measured connect alternating with one of ours, so that
 * setup.connect's ratio2 says how ours compares. At 1,000 peers it is not
 * measured: QEMU's server gives up on a newcomer whose setup does not fit
 * in one socket buffer (it sends on a non-blocking socket and drops the
 * peer at EAGAIN), about 139 peers with 2 vectors here; setup.connect's
 * note says so. Without the reference build only our figures are made.
 *
 * setup.socket, its baseline: a bare AF_UNIX connect to a listener process
 * that accepts and closes at once, from before socket() until our side
 * reads the EOF (our close() is not timed) - the least a connection that
 * needs an answer from another process can cost.
 *
 * The peers already joined are raw connections held by a helper process
 * that reads every message as it comes (closing each fd), so their queues
 * never fill. Before each measured connect the server and the helper are
 * idle: every background peer has read the news that the previous
 * measured peer left.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <ivshmem/ivshmem.h>

#include "stats.h"
#include "wire.h"

#define VECTORS 2
#define CONNECT_TIMEOUT_MS 5000
#define IDLE_TIMEOUT_NS (30ull * 1000000000ull)
#define GROW_TIMEOUT_MS (600 * 1000)
/* The most peers QEMU's reference server can set a newcomer up with. */
#define QEMU_MAX_PEERS 100
#ifndef IVSHMEM_QEMU_REF_SERVER
#define IVSHMEM_QEMU_REF_SERVER ""
#endif

struct round {
	int peers;
	unsigned warmup, iters;
	unsigned quick_warmup, quick_iters;
};

static const struct round rounds[] = {
	{ 1, 200, 2000, 5, 30 },
	{ 100, 200, 2000, 5, 30 },
	{ 1000, 30, 300, 2, 10 },
};

#define NROUNDS (sizeof(rounds) / sizeof(rounds[0]))

/* ---- the background peers' helper process ---- */

/* Shared with the helper: what it has seen. */
struct bg_shared {
	atomic_ulong left_seen;  /* "peer P left" read by ready peers */
};

struct bg_peer {
	int sock;
	struct ivproto_rx rx;
	unsigned nmsg;           /* setup messages read */
	int64_t id;
	unsigned own_fds;        /* our own vectors seen */
	int ready;               /* setup complete */
};

struct bg_args {
	const char *socket_path;
	int ctl;                 /* the helper's end of a socketpair */
	int max_peers;
	struct bg_shared *sh;
};

struct bg {
	pid_t pid;
	int ctl;
	int peers;
	struct bg_shared *sh;
};

#define CTL_TAG UINT32_MAX

static int unix_connect(const char *path, int flags)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    (flags && fcntl(fd, F_SETFL, flags) < 0)) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	return fd;
}

/* One message for a background peer: setup bookkeeping, else count. */
static int bg_msg(struct bg_args *a, struct bg_peer *p, int64_t v, int fd)
{
	if (fd >= 0)
		close(fd);
	if (p->ready) {
		if (fd < 0)
			atomic_fetch_add(&a->sh->left_seen, 1);
		return 0;
	}
	switch (p->nmsg++) {
	case 0:
		return v == IVPROTO_VERSION && fd < 0 ? 0 : -EPROTO;
	case 1:
		p->id = v;
		return v >= 0 && v <= IVPROTO_MAX_PEER_ID && fd < 0 ?
		       0 : -EPROTO;
	case 2:
		return v == IVPROTO_SHM_ID && fd >= 0 ? 0 : -EPROTO;
	}
	if (fd < 0)
		return 0;  /* a peer left while we joined: not ours to count */
	if (v == p->id && ++p->own_fds == VECTORS)
		p->ready = 1;
	return 0;
}

static int bg_drain(struct bg_args *a, struct bg_peer *p)
{
	for (;;) {
		int64_t v;
		int fd, rc = ivproto_recv(&p->rx, p->sock, &v, &fd);

		if (rc == -EAGAIN)
			return 0;
		if (rc < 0)
			return rc;
		rc = bg_msg(a, p, v, fd);
		if (rc < 0)
			return rc;
	}
}

static int bg_reply(int ctl, int32_t v)
{
	return write(ctl, &v, sizeof(v)) == sizeof(v) ? 0 : -EIO;
}

static int bg_main(void *arg)
{
	struct bg_args *a = arg;
	struct bg_peer *peers = calloc((size_t)a->max_peers, sizeof(*peers));
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = CTL_TAG };
	struct epoll_event evs[64];
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	int npeers = 0, target = 0, joining = 0, rc = 0;

	if (!peers || epfd < 0 ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, a->ctl, &ev) < 0) {
		bg_reply(a->ctl, -ENOMEM);
		return 1;
	}
	for (;;) {
		/* Grow one peer at a time: each waits for its setup. */
		if (!joining && npeers < target) {
			struct bg_peer *p = &peers[npeers];

			p->sock = unix_connect(a->socket_path, O_NONBLOCK);
			p->rx = (struct ivproto_rx)IVPROTO_RX_INIT;
			if (p->sock < 0) {
				rc = p->sock;
				break;
			}
			ev.events = EPOLLIN;
			ev.data.u32 = (uint32_t)npeers;
			if (epoll_ctl(epfd, EPOLL_CTL_ADD, p->sock, &ev) < 0) {
				rc = -errno;
				break;
			}
			npeers++;
			joining = 1;
		}
		int n = epoll_wait(epfd, evs, 64, -1);

		if (n < 0 && errno != EINTR) {
			rc = -errno;
			break;
		}
		for (int i = 0; i < n && !rc; i++) {
			uint32_t tag = evs[i].data.u32;
			int32_t want;
			ssize_t len;

			if (tag != CTL_TAG) {
				rc = bg_drain(a, &peers[tag]);
				continue;
			}
			len = read(a->ctl, &want, sizeof(want));
			if (len == 0)
				return 0;   /* the bench is done */
			if (len != sizeof(want) || want < npeers ||
			    want > a->max_peers) {
				rc = -EINVAL;
				break;
			}
			target = want;
		}
		if (rc)
			break;
		if (joining && peers[npeers - 1].ready)
			joining = 0;
		if (!joining && target && npeers == target) {
			if (bg_reply(a->ctl, target) < 0)
				return 1;
			target = 0;
		}
	}
	bg_reply(a->ctl, rc);
	return 1;
}

static int bg_start(struct bench_ctx *ctx, struct bg *bg,
		    const char *socket_path, int max_peers)
{
	struct bg_args args = {
		.socket_path = socket_path,
		.max_peers = max_peers,
	};
	int sv[2];

	memset(bg, 0, sizeof(*bg));
	bg->ctl = -1;
	bg->sh = mmap(NULL, sizeof(*bg->sh), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (bg->sh == MAP_FAILED) {
		bg->sh = NULL;
		return -errno;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	args.ctl = sv[1];
	args.sh = bg->sh;
	bg->pid = bench_fork(ctx, bg_main, &args);
	close(sv[1]);
	if (bg->pid < 0) {
		close(sv[0]);
		return (int)bg->pid;
	}
	bg->ctl = sv[0];
	return 0;
}

/* Have 'peers' background peers joined, each with its setup read. */
static int bg_grow(struct bg *bg, int peers)
{
	struct pollfd pfd = { .fd = bg->ctl, .events = POLLIN };
	int32_t want = peers, got;
	int rc;

	if (write(bg->ctl, &want, sizeof(want)) != sizeof(want))
		return -EIO;
	rc = poll(&pfd, 1, GROW_TIMEOUT_MS);
	if (rc <= 0)
		return rc < 0 ? -errno : -ETIMEDOUT;
	if (read(bg->ctl, &got, sizeof(got)) != sizeof(got))
		return -EIO;   /* the helper died */
	if (got != want)
		return got < 0 ? got : -EPROTO;
	bg->peers = peers;
	return 0;
}

/* Wait until the background peers have read 'seen' "peer left" in all. */
static int bg_wait_left(struct bg *bg, unsigned long seen)
{
	uint64_t deadline = bench_now_ns() + IDLE_TIMEOUT_NS;

	while (atomic_load(&bg->sh->left_seen) < seen) {
		if (bench_now_ns() > deadline)
			return -ETIMEDOUT;
		usleep(20);
	}
	return 0;
}

static void bg_stop(struct bg *bg)
{
	if (bg->ctl >= 0)
		close(bg->ctl);
	bench_child_stop(bg->pid);
	if (bg->sh)
		munmap(bg->sh, sizeof(*bg->sh));
	memset(bg, 0, sizeof(*bg));
	bg->ctl = -1;
}

/* ---- setup.socket: the baseline ---- */

static int listener_main(void *arg)
{
	int lfd = *(int *)arg;

	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd >= 0)
			close(fd);
		else if (errno != EINTR && errno != ECONNABORTED)
			return 1;
	}
}

static int socket_once(const char *path, uint64_t *ns)
{
	uint64_t t0 = bench_now_ns();
	int fd = unix_connect(path, 0);
	char c;
	ssize_t n;

	if (fd < 0)
		return fd;
	do
		n = read(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	*ns = bench_now_ns() - t0;
	close(fd);
	return n == 0 ? 0 : -EPROTO;
}

static int run_socket(struct bench_ctx *ctx, struct result **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	unsigned warmup = ctx->quick ? 5 : 200;
	unsigned iters = ctx->quick ? 30 : 2000;
	struct stats st;
	struct stats_summary sum;
	pid_t pid;
	int lfd, rc;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/listener.sock",
		 ctx->tmpdir);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return -errno;
	bench_path_add(sa.sun_path);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 128) < 0) {
		rc = -errno;
		close(lfd);
		return rc;
	}
	pid = bench_fork(ctx, listener_main, &lfd);
	close(lfd);
	if (pid < 0)
		return (int)pid;
	rc = stats_init(&st, iters);
	for (unsigned i = 0; !rc && i < warmup + iters; i++) {
		uint64_t ns;

		if (i == warmup)
			stats_reset(&st);
		rc = socket_once(sa.sun_path, &ns);
		if (!rc)
			rc = stats_add(&st, ns);
	}
	bench_child_stop(pid);
	unlink(sa.sun_path);
	bench_path_remove(sa.sun_path);
	if (!rc) {
		stats_summarise(&st, &sum);
		*out = report_add_latency(ctx->report, "setup.socket", 0, -1,
					  &sum);
		if (!*out)
			rc = -ENOMEM;
	}
	stats_free(&st);
	return rc;
}

/* ---- setup.connect ---- */

static int connect_once(const char *path, struct bg *bg, uint64_t *ns)
{
	unsigned long seen = atomic_load(&bg->sh->left_seen);
	struct ivshmem *iv;
	uint64_t t0 = bench_now_ns();
	int rc = ivshmem_connect(&iv, path, VECTORS, CONNECT_TIMEOUT_MS);

	*ns = bench_now_ns() - t0;
	if (rc < 0) {
		bench_log("ipm-bench: ivshmem_connect: %s", strerror(-rc));
		return rc;
	}
	rc = ivshmem_peers(iv, NULL, 0);
	ivshmem_close(iv);
	if (rc != bg->peers) {
		bench_log("ipm-bench: the new peer saw %d peers, not %d", rc,
			  bg->peers);
		return rc < 0 ? rc : -EPROTO;
	}
	rc = bg_wait_left(bg, seen + (unsigned long)bg->peers);
	if (rc < 0)
		bench_log("ipm-bench: the background peers did not hear that "
			  "the new peer left");
	return rc;
}

/* One side of the comparison: a server, its background peers, figures. */
struct side {
	const char *path;
	struct bg bg;
	struct stats st;
	int on;
};

static int add_figure(struct bench_ctx *ctx, const char *name, int peers,
		      struct stats *st, const struct result *base,
		      struct result **out)
{
	struct stats_summary sum;

	stats_summarise(st, &sum);
	*out = report_add_latency(ctx->report, name, 0, peers, &sum);
	if (!*out)
		return -ENOMEM;
	report_set_ratio(*out, base);
	return 0;
}

static int run_connect(struct bench_ctx *ctx, struct side *ours,
		       struct side *qemu, const struct round *r,
		       const struct result *base)
{
	unsigned warmup = ctx->quick ? r->quick_warmup : r->warmup;
	unsigned iters = ctx->quick ? r->quick_iters : r->iters;
	struct side *sides[2] = { ours, qemu };
	struct result *res, *qres = NULL;
	uint64_t t0 = bench_now_ns();
	int rc = 0;

	ours->on = 1;
	qemu->on = qemu->path && r->peers <= QEMU_MAX_PEERS;
	for (int k = 0; k < 2 && !rc; k++) {
		if (!sides[k]->on)
			continue;
		rc = bg_grow(&sides[k]->bg, r->peers);
		if (rc < 0)
			bench_log("ipm-bench: cannot join %d background peers "
				  "on %s server: %s", r->peers,
				  k ? "QEMU's" : "our", strerror(-rc));
		if (!rc)
			rc = stats_init(&sides[k]->st, iters);
	}
	if (rc < 0)
		return rc;
	bench_log("  %d %s joined in %.1f s", r->peers,
		  r->peers == 1 ? "peer" : "peers", (double)(bench_now_ns() - t0) / 1e9);
	for (unsigned i = 0; !rc && i < warmup + iters; i++) {
		for (int k = 0; k < 2 && !rc; k++) {
			uint64_t ns;

			if (!sides[k]->on)
				continue;
			if (i == warmup)
				stats_reset(&sides[k]->st);
			rc = connect_once(sides[k]->path, &sides[k]->bg, &ns);
			if (!rc)
				rc = stats_add(&sides[k]->st, ns);
		}
	}
	if (!rc && qemu->on)
		rc = add_figure(ctx, "setup.connect.qemu", r->peers, &qemu->st,
				base, &qres);
	if (!rc)
		rc = add_figure(ctx, "setup.connect", r->peers, &ours->st,
				base, &res);
	if (!rc && qres)
		report_set_ratio2(res, qres);
	else if (!rc && qemu->path)
		report_set_note(res, "QEMU's server not measured: it cannot "
				"set up a newcomer whose setup exceeds a socket "
				"buffer (~139 peers at 2 vectors)");
	stats_free(&ours->st);
	if (qemu->on)
		stats_free(&qemu->st);
	return rc;
}

/* QEMU's reference server, as the interop tests run it. */
struct qemu_args {
	const char *socket_path;
	const char *shm_name;
};

static int qemu_main(void *arg)
{
	const struct qemu_args *a = arg;
	int null = open("/dev/null", O_RDWR);

	if (null >= 0) {
		/* It prints "Example code" on stdout; nothing of ours. */
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
	}
	execl(IVSHMEM_QEMU_REF_SERVER, "ivshmem-server", "-F", "-S",
	      a->socket_path, "-M", a->shm_name, "-l", "4M", "-n", "2",
	      (char *)NULL);
	return 127;
}

static pid_t qemu_start(struct bench_ctx *ctx, char *sock, size_t socklen,
			char *shm, size_t shmlen)
{
	struct qemu_args a = { sock, shm };
	pid_t pid;

	if (!IVSHMEM_QEMU_REF_SERVER[0] ||
	    access(IVSHMEM_QEMU_REF_SERVER, X_OK) < 0) {
		bench_log("setup.connect.qemu: QEMU's reference server is not "
			  "built (%s): not compared",
			  IVSHMEM_QEMU_REF_SERVER[0] ? IVSHMEM_QEMU_REF_SERVER :
			  "no path");
		return 0;
	}
	snprintf(sock, socklen, "%s/qemu.sock", ctx->tmpdir);
	snprintf(shm, shmlen, "ipm-bench-%d-qemu", (int)getpid());
	bench_path_add(sock);
	pid = bench_fork(ctx, qemu_main, &a);
	if (pid < 0)
		return pid;
	/*
	 * The probe reads its whole setup: QEMU's server exits when a peer
	 * leaves before it sent it everything.
	 */
	for (int i = 0; i < 1000; i++) {
		struct ivshmem *iv;

		if (access(sock, F_OK) == 0 &&
		    ivshmem_connect(&iv, sock, VECTORS, CONNECT_TIMEOUT_MS) == 0) {
			ivshmem_close(iv);
			return pid;
		}
		usleep(10000);
	}
	bench_log("ipm-bench: QEMU's server did not listen on %s", sock);
	bench_child_stop(pid);
	return -ETIMEDOUT;
}

static void qemu_stop(pid_t pid, const char *sock, const char *shm)
{
	char path[128];

	if (pid <= 0)
		return;
	bench_child_stop(pid);
	unlink(sock);
	bench_path_remove(sock);
	snprintf(path, sizeof(path), "/%s", shm);
	shm_unlink(path);
}

static int run(struct bench_ctx *ctx)
{
	static const char *const args[] = { "-n", "2", "-l", "4M", NULL };
	const int max_peers = rounds[NROUNDS - 1].peers;
	struct side ours = { 0 }, qemu = { 0 };
	char qsock[128], qshm[64];
	struct result *base = NULL;
	struct bench_server srv;
	pid_t qpid = 0;
	int rc;

	bench_log("setup.socket: bare AF_UNIX connect + accept + close");
	rc = run_socket(ctx, &base);
	if (rc < 0 || !bench_selected(ctx, "setup.connect"))
		return rc;

	/*
	 * The helpers hold a socket per peer; the measured peer gets an
	 * eventfd per vector of every peer.
	 */
	rc = bench_want_fds((unsigned long)(max_peers + QEMU_MAX_PEERS + 2) *
			    (VECTORS + 1) + 256);
	if (rc < 0) {
		bench_log("ipm-bench: cannot have fds for %d peers: %s",
			  max_peers, strerror(-rc));
		return rc;
	}
	rc = bench_server_start(ctx, &srv, "setup", args);
	if (rc < 0)
		return rc;
	ours.path = srv.socket_path;
	rc = bg_start(ctx, &ours.bg, srv.socket_path, max_peers);
	if (!rc && bench_selected(ctx, "setup.connect.qemu")) {
		qpid = qemu_start(ctx, qsock, sizeof(qsock), qshm,
				  sizeof(qshm));
		rc = qpid < 0 ? (int)qpid : 0;
		if (qpid > 0) {
			qemu.path = qsock;
			rc = bg_start(ctx, &qemu.bg, qsock, QEMU_MAX_PEERS);
		}
	}
	for (size_t i = 0; !rc && i < NROUNDS; i++) {
		bench_log("setup.connect: ivshmem_connect with %d %s joined%s",
			  rounds[i].peers,
			  rounds[i].peers == 1 ? "peer" : "peers", qemu.path &&
			  rounds[i].peers <= QEMU_MAX_PEERS ?
			  ", ours and QEMU's in turn" : "");
		rc = run_connect(ctx, &ours, &qemu, &rounds[i], base);
	}
	if (qemu.path)
		bg_stop(&qemu.bg);
	qemu_stop(qpid, qsock, qshm);
	bg_stop(&ours.bg);
	bench_server_stop(&srv);
	return rc;
}

static const char *const figures[] = {
	"setup.socket", "setup.connect", "setup.connect.qemu", NULL
};

const struct bench_def bench_setup = {
	.name = "setup",
	.figures = figures,
	.run = run,
};
