/* SPDX-License-Identifier: MIT */
/*
 * Daemon mode (no -F): the command returns only once the daemon listens,
 * with the real outcome as its exit status.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_util.h"

#define NEEDLES(...) ((const char *const[]){ __VA_ARGS__, NULL })

static pid_t read_pid(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	CHECK(fd >= 0, "pid file %s: %s", path, strerror(errno));
	CHECK(read(fd, buf, sizeof(buf) - 1) > 0, "empty pid file");
	close(fd);
	return (pid_t)atoi(buf);
}

/* Reap whatever got reparented to us; returns how many. */
static int reap_all(void)
{
	int n = 0;

	while (waitpid(-1, NULL, WNOHANG) > 0)
		n++;
	return n;
}

static void daemon_serves(void)
{
	struct tu_server s;
	struct cli_peer a, b;
	char pidfile[256], out[4096];
	const char *argv[] = { cli_server_bin(), "-S", s.socket_path, "-M",
			       s.shm_name, "-p", pidfile, "-l", "1M", NULL };
	int rc, status;
	pid_t pid;

	cli_names(&s, "daemon");
	snprintf(pidfile, sizeof(pidfile), "%s/daemon.pid", tu_tmpdir());
	rc = tu_run(argv, out, sizeof(out), 20);
	CHECK(rc == 0, "daemon start exited %d:\n%s", rc, out);

	/* Listening already, with no retry: that is the promise. */
	pid = read_pid(pidfile);
	CHECK(pid > 1 && pid != getpid(), "pid file holds %d", (int)pid);
	cli_track_pid(pid);
	CHECK(kill(pid, 0) == 0, "the daemon %d is not running", (int)pid);
	CHECK(getsid(pid) == pid, "the daemon is not a session leader");
	cli_peer_join(&a, s.socket_path);
	cli_peer_join(&b, s.socket_path);
	CHECK(a.size == 1u << 20, "size %llu", (unsigned long long)a.size);
	a.mem[4] = 42;
	CHECK(b.mem[4] == 42, "peers do not share memory");
	cli_peer_leave(&a);
	cli_peer_leave(&b);

	CHECK(kill(pid, SIGTERM) == 0, "kill: %s", strerror(errno));
	/* We are its subreaper, so we see its exit status. */
	for (int i = 0; i < 1000; i++) {
		rc = waitpid(pid, &status, WNOHANG);
		CHECK(rc >= 0, "waitpid %d: %s", (int)pid, strerror(errno));
		if (rc == pid)
			break;
		usleep(10000);
	}
	CHECK(rc == pid, "the daemon ignored SIGTERM for 10 s");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "the daemon ended with status 0x%x", status);
	CHECK(!cli_path_exists(s.socket_path), "socket left behind");
	CHECK(!cli_path_exists(pidfile), "pid file left behind");
	CHECK(!cli_shm_exists(s.shm_name), "shm left behind");
	printf("daemon serves and cleans up: ok\n");
}

static void daemon_fails(const char *tag, const char *pidfile,
			 const char *const *needles)
{
	struct tu_server s;

	cli_names(&s, tag);
	cli_expect_fail(CLI_ARGS("-S", s.socket_path, "-M", s.shm_name, "-p",
				 pidfile),
			needles, s.socket_path, s.shm_name);
	/* The failed daemon is gone, not lingering unseen. */
	usleep(20000);
	reap_all();
	CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD,
	      "a process is left over");
	printf("%s: ok\n", tag);
}

int main(void)
{
	char path[256];
	struct stat st;

	/* Daemons get reparented to us, not to init. */
	CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0, "prctl: %s",
	      strerror(errno));
	daemon_serves();

	snprintf(path, sizeof(path), "%s/no-such-dir/x.pid", tu_tmpdir());
	daemon_fails("pidfile-no-dir", path,
		     NEEDLES("pid file", "no-such-dir"));
	CHECK(!cli_path_exists(path), "pid file created");
	/* A directory in the way of the pid file. */
	daemon_fails("pidfile-is-dir", tu_tmpdir(), NEEDLES("pid file"));
	CHECK(stat(tu_tmpdir(), &st) == 0 && S_ISDIR(st.st_mode),
	      "tmpdir harmed");
	/* Set-up errors are reported in daemon mode too. */
	{
		struct tu_server s;

		cli_names(&s, "daemon-bad-size");
		cli_expect_fail(CLI_ARGS("-S", s.socket_path, "-M", s.shm_name,
					 "-p", path, "-l", "1P"),
				NEEDLES("cannot provide"), s.socket_path,
				s.shm_name);
		CHECK(!cli_path_exists(path), "pid file created");
	}
	printf("cli_daemon: ok\n");
	return 0;
}
