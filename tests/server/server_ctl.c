/* SPDX-License-Identifier: MIT */
/*
 * ivshmem-ctl against a real server: it never joins (the peers see no
 * join and no leave while it runs ten times), it reports the real peers'
 * pids, uids and gids (also as parsed JSON), the server's log names each
 * joining peer's credentials, bad requests get an error and a clean end,
 * and clients that never send or never read cannot stall the server: the
 * peers keep joining, and they are dropped after CTL_TIMEOUT_MS.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "srvtest.h"

#define NVEC 2
#define IDLE_CLIENTS 16   /* the server's CTL_MAX_CLIENTS */

static const char *ctl_bin(void)
{
	return tu_bin("tools/ivshmem-ctl");
}

static int run_ctl(const char *sock, const char *a, const char *b, char *out,
		   size_t len)
{
	const char *argv[] = { ctl_bin(), "-S", sock, a, b, NULL };

	return tu_run(argv, out, len, 30);
}

/* Connect to SOCK.ctl, send req (may be NULL), return the socket. */
static int ctl_connect(const char *sock, const char *req)
{
	char path[120];
	int fd;

	snprintf(path, sizeof(path), "%s.ctl", sock);
	fd = tu_connect(path);
	CHECK(fd >= 0, "connect %s: %s", path, strerror(-fd));
	if (req)
		CHECK(send(fd, req, strlen(req), MSG_NOSIGNAL) ==
		      (ssize_t)strlen(req), "send");
	return fd;
}

/* Read until EOF (the server closes after its answer). */
static void read_answer(int fd, char *buf, size_t len)
{
	size_t got = 0;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		CHECK(poll(&pfd, 1, TP_TIMEOUT_MS) == 1, "no answer");
		n = recv(fd, buf + got, len - 1 - got, 0);
		CHECK(n >= 0, "recv: %s", strerror(errno));
		if (n == 0)
			break;
		got += (size_t)n;
		CHECK(got < len - 1, "answer too long");
	}
	buf[got] = '\0';
}

static void check_bad_requests(const char *sock)
{
	char buf[4096], big[400];
	int fd;

	fd = ctl_connect(sock, "bogus\n");
	read_answer(fd, buf, sizeof(buf));
	close(fd);
	CHECK(!strcmp(buf, "error unknown request 'bogus' (known: peers, "
		      "status, mailbox, restart)\n.\n"), "bogus request answered '%s'", buf);

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	fd = ctl_connect(sock, big);
	read_answer(fd, buf, sizeof(buf));
	close(fd);
	CHECK(!strncmp(buf, "error request longer than", 25) &&
	      strstr(buf, "\n.\n"), "long request answered '%s'", buf);

	/* Half a request, then a hang-up: nothing to answer, no crash. */
	fd = ctl_connect(sock, "pee");
	close(fd);
}

/*
 * A listing bigger than a socket buffer to a client that never reads:
 * the server keeps serving (a peer joins, ivshmem-ctl answers) and drops
 * that client after its timeout.
 */
/*
 * 600 peers: a 45 KB listing, beyond the control client's socket buffer;
 * few enough that their unread fds do not slow other tests (the kernel's
 * collector of in-flight fds is system-wide).
 */
#define MANY 600

static void non_reader(void)
{
	static struct tpeer many[MANY];
	const char *args[] = { "-n", "1", NULL };
	struct tu_server srv;
	struct tpeer late;
	char out[4096], buf[65536];
	int fd, rc;
	long got = 0;

	if (srv_raise_nofile() < MANY + 256) {
		printf("server_ctl: RLIMIT_NOFILE too low for the "
		       "non-reader phase, skipped\n");
		return;
	}
	tu_server_start(&srv, args);
	for (int i = 0; i < MANY; i++)
		tp_connect(&many[i], srv.socket_path, 1);
	/* Every one accepted (a socket and an eventfd each). */
	for (int i = 0; i < TP_TIMEOUT_MS / 10 &&
	     tu_count_fds(srv.pid) < 2 * MANY; i++)
		usleep(10000);
	CHECK(tu_count_fds(srv.pid) >= 2 * MANY, "peers not all accepted");
	fd = ctl_connect(srv.socket_path, "peers\n");
	tp_join(&late, srv.socket_path, 1, NULL, 0, NULL);
	rc = run_ctl(srv.socket_path, "status", NULL, out, sizeof(out));
	CHECK(rc == 0 && strstr(out, "peers"), "status: %s", out);
	srv_log_wait(srv.log_path, "dropped a client that did not read",
		     NULL, TP_TIMEOUT_MS);
	/* What it got is a prefix of the listing, never its end. */
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n <= 0)
			break;
		got += n;
	}
	CHECK(got > 0 && got < MANY * 70L, "non-reader got %ld bytes", got);
	close(fd);
	srv_alive(&srv);
	CHECK(tu_server_stop(&srv) == 0, "server exit");
	tp_close(&late);
	for (int i = 0; i < MANY; i++)
		tp_close(&many[i]);
}

int main(void)
{
	const char *args[] = { "-n", "2", NULL };
	struct tpeer a, b, c;
	struct tu_server srv;
	char out[16384], want[128], cmd[1024];
	int idle[IDLE_CLIENTS], rc;
	struct stat st_sock, st_ctl;
	char ctl_path[120];

	tu_server_start(&srv, args);
	snprintf(ctl_path, sizeof(ctl_path), "%s.ctl", srv.socket_path);
	CHECK(stat(srv.socket_path, &st_sock) == 0 &&
	      stat(ctl_path, &st_ctl) == 0, "no control socket %s", ctl_path);
	CHECK(S_ISSOCK(st_ctl.st_mode) && st_ctl.st_mode == st_sock.st_mode &&
	      st_ctl.st_uid == st_sock.st_uid &&
	      st_ctl.st_gid == st_sock.st_gid,
	      "control socket mode/owner differ from the socket's");

	tp_join(&a, srv.socket_path, NVEC, NULL, 0, NULL);
	tp_join(&b, srv.socket_path, NVEC, NULL, 0, NULL);
	tp_expect_join(&a, b.id);

	/* The log names each peer's credentials. */
	snprintf(want, sizeof(want), "peer %d joined (pid %d, uid %u, gid %u",
		 b.id, (int)getpid(), (unsigned)getuid(), (unsigned)getgid());
	srv_log_wait(srv.log_path, want, NULL, TP_TIMEOUT_MS);

	/* Ten runs: no peer sees a join or a leave. */
	for (int i = 0; i < 10; i++) {
		rc = run_ctl(srv.socket_path, i % 2 ? "status" : "peers",
			     NULL, out, sizeof(out));
		CHECK(rc == 0, "ivshmem-ctl exit %d: %s", rc, out);
	}
	tp_expect_quiet(&a, 300);
	tp_expect_quiet(&b, 300);

	/* Text: a row per peer with its pid, uid, gid. */
	rc = run_ctl(srv.socket_path, "peers", NULL, out, sizeof(out));
	CHECK(rc == 0, "peers: %s", out);
	for (int k = 0; k < 2; k++) {
		int id = k ? b.id : a.id, found = 0;
		char *line = strtok(out, "\n");

		for (; line; line = strtok(NULL, "\n")) {
			int lid, vec, pid;
			unsigned uid, gid;

			if (sscanf(line, "%d %d %d %u %u", &lid, &vec, &pid,
				   &uid, &gid) == 5 && lid == id) {
				CHECK(vec == NVEC && pid == getpid() &&
				      uid == getuid() && gid == getgid(),
				      "wrong row: %s", line);
				found = 1;
			}
		}
		CHECK(found, "peer %d not listed", id);
		rc = run_ctl(srv.socket_path, "peers", NULL, out, sizeof(out));
	}

	/* JSON, parsed: both peers with our pid and uid; status counters. */
	snprintf(cmd, sizeof(cmd),
		 "%s -S %s --json peers | python3 -c 'import json,sys; "
		 "d=json.load(sys.stdin); p=d[\"peers\"]; "
		 "assert sorted(x[\"id\"] for x in p)==sorted([%d,%d]); "
		 "assert all(x[\"pid\"]==%d and x[\"uid\"]==%u and "
		 "x[\"gid\"]==%u and x[\"vectors\"]==%d and "
		 "x[\"queued\"]==0 for x in p), p' && "
		 "%s -S %s --json status | python3 -c 'import json,sys; "
		 "d=json.load(sys.stdin); "
		 "assert d[\"joins\"]==2 and d[\"peers\"]==2 and "
		 "d[\"leaves\"]==0 and d[\"region\"]==\"posix-shm\" and "
		 "d[\"region_size\"]==4194304 and d[\"uptime_s\"]>=0, d'",
		 ctl_bin(), srv.socket_path, a.id, b.id, (int)getpid(),
		 (unsigned)getuid(), (unsigned)getgid(), NVEC, ctl_bin(),
		 srv.socket_path);
	{
		const char *sh[] = { "/bin/sh", "-c", cmd, NULL };

		rc = tu_run(sh, out, sizeof(out), 30);
		CHECK(rc == 0, "JSON check failed (%d): %s", rc, out);
	}

	check_bad_requests(srv.socket_path);

	/*
	 * Clients that never send, or send and never read, up to the limit:
	 * the server goes on serving peers, refuses further control clients,
	 * and drops the idle ones after its timeout.
	 */
	for (int i = 0; i < IDLE_CLIENTS; i++)
		idle[i] = ctl_connect(srv.socket_path,
				      i % 2 ? "peers\n" : NULL);
	tp_join(&c, srv.socket_path, NVEC, NULL, 0, NULL);
	tp_expect_join(&a, c.id);
	tp_expect_join(&b, c.id);
	srv_log_wait(srv.log_path, "dropped a client that sent no request",
		     NULL, TP_TIMEOUT_MS);
	rc = run_ctl(srv.socket_path, "--json", "status", out, sizeof(out));
	CHECK(rc == 0 && strstr(out, "\"peers\":3"), "status after idle "
	      "clients: %s", out);
	for (int i = 0; i < IDLE_CLIENTS; i++)
		close(idle[i]);

	/* A leave is counted. */
	tp_close(&c);
	tp_expect_leave(&a, c.id);
	rc = run_ctl(srv.socket_path, "--json", "status", out, sizeof(out));
	CHECK(rc == 0 && strstr(out, "\"leaves\":1") &&
	      strstr(out, "\"joins\":3"), "status after a leave: %s", out);

	/* Usage errors. */
	{
		const char *none[] = { ctl_bin(), NULL };
		const char *bad[] = { ctl_bin(), "bogus", NULL };
		const char *help[] = { ctl_bin(), "--help", NULL };
		const char *ver[] = { ctl_bin(), "--version", NULL };
		const char *gone[] = { ctl_bin(), "-S", "/nonexistent/s",
				       "status", NULL };

		CHECK(tu_run(none, out, sizeof(out), 10) == 2 &&
		      strstr(out, "ivshmem-ctl: a command is needed"), "%s",
		      out);
		CHECK(tu_run(bad, out, sizeof(out), 10) == 2 &&
		      strstr(out, "(see 'ivshmem-ctl --help')"), "%s", out);
		CHECK(tu_run(help, out, sizeof(out), 10) == 0 &&
		      strstr(out, "Usage: ivshmem-ctl") &&
		      strstr(out, "mailbox") && strstr(out, "restart"), "%s",
		      out);
		CHECK(tu_run(ver, out, sizeof(out), 10) == 0 &&
		      !strncmp(out, "ivshmem-ctl (ivshmem-ipm) ", 26), "%s",
		      out);
		CHECK(tu_run(gone, out, sizeof(out), 10) == 1 &&
		      strstr(out, "ivshmem-ctl: /nonexistent/s.ctl: "), "%s",
		      out);
	}

	srv_alive(&srv);
	tp_expect_quiet(&a, 100);
	CHECK(tu_server_stop(&srv) == 0, "server exit");
	CHECK(access(ctl_path, F_OK) < 0, "control socket left behind");
	tp_close(&a);
	tp_close(&b);
	non_reader();
	printf("server_ctl: ok\n");
	return 0;
}
