/* SPDX-License-Identifier: MIT */
/*
 * Under systemd, without PID-1 systemd: the server started by Debian's
 * systemd-socket-activate takes its listening socket from fd 3 with no
 * option, a peer's connect starts it and the peer joins; READY=1 and
 * STATUS= go to a NOTIFY_SOCKET the test binds (STATUS follows joins),
 * STOPPING=1 at exit; the socket file is left in place, the control
 * socket beside it (made by the server, same mode) is removed. A passed
 * fd that is not a listening stream socket is a clear error; a -S that
 * differs from the passed socket's path is a warning. With JOURNAL_STREAM
 * naming its stderr, log lines carry "<N>" priorities; with a stale
 * JOURNAL_STREAM (stderr redirected), plain lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "srvtest.h"

#define NVEC 2

static const char *activate_bin(void)
{
	static const char *const cand[] = {
		"/usr/bin/systemd-socket-activate",
		"/lib/systemd/systemd-socket-activate",
	};

	for (unsigned i = 0; i < 2; i++)
		if (access(cand[i], X_OK) == 0)
			return cand[i];
	return NULL;
}

static pid_t spawned = -1;

/* A failed CHECK exits: take the server along. */
static void kill_spawned(void)
{
	if (spawned > 0)
		kill(spawned, SIGKILL);
}

static pid_t spawn(const char *const *argv, const char *log_path)
{
	pid_t pid = fork();

	CHECK(pid >= 0, "fork");
	spawned = pid;
	if (pid == 0) {
		int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd >= 0) {
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static int wait_exit(pid_t pid)
{
	int st;

	CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
	spawned = -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Does /proc/net/unix list a listening socket (__SO_ACCEPTCON) at path? */
static int listening(const char *path)
{
	char line[512], p[256];
	unsigned flags;
	int found = 0;
	FILE *f = fopen("/proc/net/unix", "r");

	if (!f)
		return access(path, F_OK) == 0;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%*s %*s %*s %x %*s %*s %*s %255s",
			       &flags, p) == 2 && (flags & 0x10000) &&
			!strcmp(p, path);
	fclose(f);
	return found;
}

/*
 * systemd-socket-activate binds (the file appears) before it listens:
 * wait for the listen, without connecting (a connect would start the
 * server and make a peer).
 */
static void wait_path(const char *path)
{
	for (int i = 0; i < TP_TIMEOUT_MS / 10 && !listening(path); i++)
		usleep(10000);
	CHECK(listening(path), "nothing listens on %s", path);
}

/* Wait for a notification containing want; returns it in buf. */
static void expect_notify(int nfd, const char *want, char *buf, size_t len)
{
	for (;;) {
		struct pollfd pfd = { .fd = nfd, .events = POLLIN };
		ssize_t n;

		CHECK(poll(&pfd, 1, TP_TIMEOUT_MS) == 1, "no '%s' notified",
		      want);
		n = recv(nfd, buf, len - 1, 0);
		CHECK(n > 0, "recv notify: %s", strerror(errno));
		buf[n] = '\0';
		if (strstr(buf, want))
			return;
	}
}

static void activation(const char *act, const char *dir)
{
	char sock[108], ctl[120], notify[108], env[160], log[128], buf[512];
	char out[4096];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st_sock, st_ctl;
	struct tpeer a, b;
	int nfd, rc;
	pid_t pid;

	snprintf(sock, sizeof(sock), "%s/act.sock", dir);
	snprintf(ctl, sizeof(ctl), "%s.ctl", sock);
	snprintf(notify, sizeof(notify), "%s/notify", dir);
	snprintf(env, sizeof(env), "NOTIFY_SOCKET=%s", notify);
	snprintf(log, sizeof(log), "%s/act.log", dir);

	nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(nfd >= 0, "socket");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", notify);
	CHECK(bind(nfd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind %s",
	      notify);

	{
		const char *argv[] = {
			act, "-l", sock, "-E", env,
			tu_bin("src/server/ivshmem-server"), "-F", "-S", sock,
			"-n", "2", NULL,
		};

		pid = spawn(argv, log);
	}
	wait_path(sock);
	/* The first connect starts the server; the peer joins. */
	tp_join(&a, sock, NVEC, NULL, 0, NULL);
	expect_notify(nfd, "READY=1", buf, sizeof(buf));
	CHECK(strstr(buf, "STATUS=serving "), "READY without STATUS: %s",
	      buf);
	srv_log_wait(log, "listening on", "(socket activation)",
		     TP_TIMEOUT_MS);
	tp_join(&b, sock, NVEC, NULL, 0, NULL);
	tp_expect_join(&a, b.id);
	expect_notify(nfd, "STATUS=serving 2 peers, 2 vectors, 4M sealed "
		      "memfd", buf, sizeof(buf));

	/* The control socket, made by the server beside the passed one. */
	CHECK(stat(sock, &st_sock) == 0 && stat(ctl, &st_ctl) == 0,
	      "no %s", ctl);
	CHECK((st_ctl.st_mode & 07777) == (st_sock.st_mode & 07777) &&
	      st_ctl.st_uid == st_sock.st_uid &&
	      st_ctl.st_gid == st_sock.st_gid, "control socket permissions");
	{
		const char *argv[] = { tu_bin("tools/ivshmem-ctl"), "-S", sock,
				       "status", NULL };

		rc = tu_run(argv, out, sizeof(out), 30);
		CHECK(rc == 0 && strstr(out, "activated                1") &&
		      strstr(out, "peers                    2"), "%s", out);
	}
	tp_close(&b);
	tp_expect_leave(&a, b.id);
	expect_notify(nfd, "STATUS=serving 1 peer,", buf, sizeof(buf));

	CHECK(kill(pid, SIGTERM) == 0, "kill");
	rc = wait_exit(pid);
	CHECK(rc == 0, "server exit %d", rc);
	expect_notify(nfd, "STOPPING=1", buf, sizeof(buf));
	CHECK(access(sock, F_OK) == 0, "the passed socket file was removed");
	CHECK(access(ctl, F_OK) < 0, "the control socket was left behind");
	tp_close(&a);
	close(nfd);
}

/* -S naming another path than the passed socket's: a warning. */
static void differs(const char *act, const char *dir)
{
	char sock[108], other[108], log[128];
	struct tpeer a;
	pid_t pid;

	snprintf(sock, sizeof(sock), "%s/d.sock", dir);
	snprintf(other, sizeof(other), "%s/other.sock", dir);
	snprintf(log, sizeof(log), "%s/d.log", dir);
	{
		const char *argv[] = {
			act, "-l", sock, tu_bin("src/server/ivshmem-server"),
			"-F", "-S", other, NULL,
		};

		pid = spawn(argv, log);
	}
	wait_path(sock);
	tp_join(&a, sock, 1, NULL, 0, NULL);
	srv_log_wait(log, "is bound to", "not ", TP_TIMEOUT_MS);
	CHECK(access(other, F_OK) < 0, "-S path was created");
	kill(pid, SIGTERM);
	CHECK(wait_exit(pid) == 0, "exit");
	tp_close(&a);
}

/* LISTEN_FDS naming us with a pipe at fd 3: a clear error, exit 1. */
static void not_a_socket(const char *dir)
{
	char log[128], sock[108];
	int p[2], st;
	pid_t pid;

	snprintf(log, sizeof(log), "%s/bad.log", dir);
	snprintf(sock, sizeof(sock), "%s/bad.sock", dir);
	CHECK(pipe(p) == 0, "pipe");
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		char envpid[32];
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(fd, STDERR_FILENO);
		dup2(p[0], 3);
		snprintf(envpid, sizeof(envpid), "%d", (int)getpid());
		setenv("LISTEN_PID", envpid, 1);
		setenv("LISTEN_FDS", "1", 1);
		execl(tu_bin("src/server/ivshmem-server"), "ivshmem-server",
		      "-F", "-S", sock, (char *)NULL);
		_exit(127);
	}
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	      WEXITSTATUS(st) == 1, "not-a-socket: status %d", st);
	CHECK(srv_log_has(log, "is not a listening AF_UNIX stream socket",
			  NULL), "no clear error");
	CHECK(access(sock, F_OK) < 0, "a socket was created");
	close(p[0]);
	close(p[1]);
}

/* JOURNAL_STREAM naming stderr: "<N>" prefixes; stale: plain lines. */
static void journal(const char *dir)
{
	char log[128], sock[108], env[64];
	struct stat st;
	pid_t pid;

	for (int stale = 0; stale < 2; stale++) {
		snprintf(log, sizeof(log), "%s/j%d.log", dir, stale);
		snprintf(sock, sizeof(sock), "%s/j%d.sock", dir, stale);
		close(open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644));
		CHECK(stat(log, &st) == 0, "stat");
		snprintf(env, sizeof(env), "%llu:%llu",
			 (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_ino + stale);
		setenv("JOURNAL_STREAM", env, 1);
		{
			const char *argv[] = {
				tu_bin("src/server/ivshmem-server"), "-F",
				"-S", sock, NULL,
			};

			pid = spawn(argv, log);
		}
		unsetenv("JOURNAL_STREAM");
		srv_log_wait(log, "listening on", NULL, TP_TIMEOUT_MS);
		kill(pid, SIGTERM);
		CHECK(wait_exit(pid) == 0, "exit");
		if (!stale)
			CHECK(srv_log_has(log, "<6>listening on", NULL) &&
			      srv_log_has(log, "<6>Terminated: stopping",
					  NULL), "no journal priorities");
		else
			CHECK(srv_log_has(log, "ivshmem-server: listening on",
					  NULL) &&
			      !srv_log_has(log, "<6>", NULL),
			      "priorities with a stale JOURNAL_STREAM");
	}
}

int main(void)
{
	const char *act = activate_bin();
	const char *dir = tu_tmpdir();

	signal(SIGPIPE, SIG_IGN);
	atexit(kill_spawned);
	journal(dir);
	not_a_socket(dir);
	if (!act) {
		printf("server_activation: no systemd-socket-activate, "
		       "skipped the rest\n");
		return 77;
	}
	activation(act, dir);
	differs(act, dir);
	printf("server_activation: ok\n");
	return 0;
}
