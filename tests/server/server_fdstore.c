/* SPDX-License-Identifier: MIT */
/*
 * systemd's fd store across a crash (issue 15), without PID-1 systemd:
 * the test's datagram socket is NOTIFY_SOCKET and keeps what the server
 * stores (FDSTORE=1 with FDNAME=, FDSTOREREMOVE=1), as systemd would.
 * The server is SIGKILLed under two libivshmem peers; a second one is
 * started with the stored fds in LISTEN_FDS/LISTEN_FDNAMES, as systemd
 * restarts a service. The peers saw nothing, ring each other, and a
 * newcomer learns both, maps the same memory and rings them over the
 * very eventfds they had. A peer that left before the crash is not back.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hostpeer.h"
#include "srvtest.h"

#define NVEC  2
#define MAXFD 64

struct store {
	int nfd;
	int fd[MAXFD];
	char name[MAXFD][128];
	int ready, status;
};

static void store_remove(struct store *st, const char *name)
{
	for (int i = 0; i < st->nfd; i++) {
		if (strcmp(st->name[i], name))
			continue;
		close(st->fd[i]);
		st->nfd--;
		st->fd[i] = st->fd[st->nfd];
		memcpy(st->name[i], st->name[st->nfd], sizeof(st->name[i]));
		i--;
	}
}

/* One datagram, as systemd's manager takes it. 0 on timeout. */
static int notify_recv(int nfd, struct store *st, int timeout_ms)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * 16)];
		struct cmsghdr align;
	} u;
	char buf[4096], *name;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = u.b, .msg_controllen = sizeof(u.b) };
	struct pollfd pfd = { .fd = nfd, .events = POLLIN };
	int fds[16], n = 0;
	ssize_t len;

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return 0;
	len = recvmsg(nfd, &msg, MSG_CMSG_CLOEXEC);
	CHECK(len >= 0, "recvmsg: %s", strerror(errno));
	buf[len] = '\0';
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c;
	     c = CMSG_NXTHDR(&msg, c))
		for (size_t i = 0; c->cmsg_type == SCM_RIGHTS &&
		     i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++)
			memcpy(&fds[n++], CMSG_DATA(c) + i * sizeof(int),
			       sizeof(int));
	name = strstr(buf, "FDNAME=");
	if (strstr(buf, "READY=1"))
		st->ready++;
	if (strstr(buf, "FDSTOREREMOVE=1")) {
		CHECK(name && !n, "FDSTOREREMOVE without a name, or with fds");
		store_remove(st, name + 7);
	} else if (strstr(buf, "FDSTORE=1")) {
		CHECK(name && n == 1, "FDSTORE=1: %d fds, name %s", n,
		      name ? name + 7 : "none");
		CHECK(st->nfd < MAXFD, "too many stored fds");
		st->fd[st->nfd] = fds[0];
		snprintf(st->name[st->nfd], sizeof(st->name[0]), "%.*s",
			 (int)strcspn(name + 7, "\n"), name + 7);
		st->nfd++;
	} else {
		for (int i = 0; i < n; i++)
			close(fds[i]);
	}
	return 1;
}

static int count_prefix(const struct store *st, const char *prefix)
{
	int n = 0;

	for (int i = 0; i < st->nfd; i++)
		n += !strncmp(st->name[i], prefix, strlen(prefix));
	return n;
}

/* Pump notifications until the store holds want fds (prefix, or all). */
static void wait_store(int nfd, struct store *st, const char *prefix,
		       int want)
{
	long long deadline = tu_now_ns() + TP_TIMEOUT_MS * 1000000LL;

	while ((prefix ? count_prefix(st, prefix) : st->nfd) != want) {
		CHECK(tu_now_ns() < deadline, "the store holds %d fds named "
		      "%s*, expected %d", prefix ? count_prefix(st, prefix) :
		      st->nfd, prefix ? prefix : "", want);
		notify_recv(nfd, st, 100);
	}
}

static pid_t spawn(const char *sock, const char *notify, const char *log,
		   const struct store *st)
{
	pid_t pid = fork();

	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		char names[MAXFD * 130] = "", num[16];
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fd, 2);
		setenv("NOTIFY_SOCKET", notify, 1);
		setenv("FDSTORE", "64", 1);
		if (st) {
			/* Out of the way first, then down to 3, 4, ... */
			for (int i = 0; i < st->nfd; i++)
				dup2(st->fd[i], 100 + i);
			for (int i = 0; i < st->nfd; i++) {
				dup2(100 + i, 3 + i);
				close(100 + i);
				strcat(names, i ? ":" : "");
				strcat(names, st->name[i]);
			}
			snprintf(num, sizeof(num), "%d", st->nfd);
			setenv("LISTEN_FDS", num, 1);
			setenv("LISTEN_FDNAMES", names, 1);
			snprintf(num, sizeof(num), "%d", (int)getpid());
			setenv("LISTEN_PID", num, 1);
		}
		execl(tu_bin("src/server/ivshmem-server"), "ivshmem-server",
		      "-F", "-S", sock, "-n", "2", (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void host_to_host(struct hostpeer *a, struct hostpeer *b, unsigned v)
{
	unsigned got = ~0u;

	hp_ring(a, b->id, v);
	CHECK(hp_wait_vector(b, TP_TIMEOUT_MS, &got) && got == v, "peer %d "
	      "rang peer %d's vector %u: got %d", a->id, b->id, v, (int)got);
}

static void saw_nothing(struct hostpeer *hp, int other)
{
	unsigned got;

	while (hp_wait_vector(hp, 50, &got))
		;
	for (unsigned i = 0; i < hp->nev; i++)
		CHECK(hp->ev[i].type != IVSHMEM_EV_SERVER_GONE &&
		      (hp->ev[i].type != IVSHMEM_EV_PEER_LEFT ||
		       hp->ev[i].peer != other), "peer %d saw event %d "
		      "about %d", hp->id, hp->ev[i].type, hp->ev[i].peer);
}

int main(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static uint8_t pattern[4096];
	char sock[100], notify[100], log[256];
	struct hostpeer a, b, d;
	struct ivshmem_event ev;
	struct store st = { 0 };
	struct tpeer c;
	int nfd, status, ids[8];
	pid_t pid;

	snprintf(sock, sizeof(sock), "%s/sock", tu_tmpdir());
	snprintf(notify, sizeof(notify), "%s/notify", tu_tmpdir());
	snprintf(log, sizeof(log), "%s/server.log", tu_tmpdir());
	nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", notify);
	CHECK(nfd >= 0 && bind(nfd, (struct sockaddr *)&sa, sizeof(sa)) == 0,
	      "bind %s: %s", notify, strerror(errno));
	setsockopt(nfd, SOL_SOCKET, SO_PASSCRED, &(int){ 1 }, sizeof(int));

	pid = spawn(sock, notify, log, NULL);
	while (!st.ready)
		CHECK(notify_recv(nfd, &st, TP_TIMEOUT_MS), "no READY=1");
	wait_store(nfd, &st, NULL, 3);
	CHECK(count_prefix(&st, "ivs-listen") == 1 &&
	      count_prefix(&st, "ivs-ctl") == 1 &&
	      count_prefix(&st, "ivs-region") == 1, "stored: %s %s %s",
	      st.name[0], st.name[1], st.name[2]);
	hp_connect(&a, sock, NVEC);
	hp_connect(&b, sock, NVEC);
	CHECK(hp_wait_event(&a, IVSHMEM_EV_PEER_JOINED, b.id, TP_TIMEOUT_MS,
			    &ev), "peer %d did not see peer %d", a.id, b.id);
	tp_join(&c, sock, NVEC, NULL, 0, NULL);
	wait_store(nfd, &st, "ivs-peer-", 3 * (1 + NVEC));
	/* Its join and leave consumed: its id comes back for the newcomer. */
	CHECK(hp_wait_event(&a, IVSHMEM_EV_PEER_JOINED, c.id, TP_TIMEOUT_MS,
			    &ev), "peer %d did not see peer %d", a.id, c.id);
	tp_close(&c);
	CHECK(hp_wait_event(&a, IVSHMEM_EV_PEER_LEFT, c.id, TP_TIMEOUT_MS,
			    &ev), "peer %d did not see peer %d go", a.id, c.id);
	wait_store(nfd, &st, "ivs-peer-", 2 * (1 + NVEC));
	printf("stored before the crash:");
	for (int i = 0; i < st.nfd; i++)
		printf(" %s", st.name[i]);
	printf("\n");
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 29 + 1);
	memcpy(ivshmem_mem(a.iv), pattern, sizeof(pattern));
	host_to_host(&a, &b, 0);

	CHECK(kill(pid, SIGKILL) == 0 && waitpid(pid, &status, 0) == pid,
	      "kill");
	printf("server %d killed (SIGKILL)\n", (int)pid);
	st.ready = 0;
	pid = spawn(sock, notify, log, &st);
	while (!st.ready)
		CHECK(notify_recv(nfd, &st, TP_TIMEOUT_MS), "no READY=1 from "
		      "the second server, see %s", log);
	srv_log_wait(log, "took over 2 peers from the fd store", NULL,
		     TP_TIMEOUT_MS);
	printf("server %d took over 2 peers from the fd store\n", (int)pid);
	host_to_host(&a, &b, 1);
	host_to_host(&b, &a, 0);
	hp_connect(&d, sock, NVEC);
	CHECK(ivshmem_peers(d.iv, ids, 8) == 2 &&
	      ivshmem_peer_vectors(d.iv, a.id) == NVEC &&
	      ivshmem_peer_vectors(d.iv, b.id) == NVEC, "the newcomer does not "
	      "know peers %d and %d with %d vectors", a.id, b.id, NVEC);
	CHECK(!memcmp(ivshmem_mem(d.iv), pattern, sizeof(pattern)), "the "
	      "newcomer maps other memory");
	CHECK(hp_wait_event(&a, IVSHMEM_EV_PEER_JOINED, d.id, TP_TIMEOUT_MS,
			    &ev), "peer %d did not see the newcomer", a.id);
	host_to_host(&d, &a, 1);
	host_to_host(&d, &b, 0);
	host_to_host(&a, &d, 0);
	saw_nothing(&a, b.id);
	saw_nothing(&b, a.id);
	wait_store(nfd, &st, "ivs-peer-", 3 * (1 + NVEC));
	printf("a newcomer (peer %d) knows peers %d and %d, maps the same "
	       "memory and rings them over their old eventfds; it is in the "
	       "store too\n", d.id, a.id, b.id);
	hp_close(&d);
	hp_close(&a);
	hp_close(&b);
	CHECK(kill(pid, SIGTERM) == 0 && waitpid(pid, &status, 0) == pid,
	      "SIGTERM");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "cat '%s' >&2", log);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot show %s\n", log);
	}
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the second "
	      "server's exit status 0x%x on SIGTERM (its log above)", status);
	for (int i = 0; i < st.nfd; i++)
		close(st.fd[i]);
	printf("server_fdstore: ok\n");
	return 0;
}
