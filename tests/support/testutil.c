/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char tmpdir[64];

/* Servers still running, killed when the test exits however it exits. */
static pid_t servers[64];

static void kill_servers(void)
{
	for (int i = 0; i < 64; i++) {
		if (servers[i] <= 0)
			continue;
		/* SIGTERM lets it remove its shm; SIGKILL if it hangs. */
		kill(servers[i], SIGTERM);
		for (int t = 0; t < 200; t++) {
			if (waitpid(servers[i], NULL, WNOHANG) != 0)
				break;
			usleep(10000);
			if (t == 199) {
				kill(servers[i], SIGKILL);
				waitpid(servers[i], NULL, 0);
			}
		}
		servers[i] = 0;
	}
}

static void remember(pid_t pid)
{
	static int registered;

	if (!registered++)
		atexit(kill_servers);
	for (int i = 0; i < 64; i++)
		if (servers[i] == 0) {
			servers[i] = pid;
			return;
		}
}

static void forget(pid_t pid)
{
	for (int i = 0; i < 64; i++)
		if (servers[i] == pid)
			servers[i] = 0;
}

static void remove_tmpdir(void)
{
	char cmd[128];

	if (tmpdir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", tmpdir);
	}
}

const char *tu_tmpdir(void)
{
	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/ivtest.XXXXXX");
		CHECK(mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
		atexit(remove_tmpdir);
	}
	return tmpdir;
}

const char *tu_bin(const char *name)
{
	static char path[4][512];
	static int next;
	const char *dir = getenv("IVSHMEM_BUILD_DIR");
	char *p = path[next++ % 4];

	CHECK(dir, "IVSHMEM_BUILD_DIR is not set (run the tests through ctest)");
	snprintf(p, sizeof(path[0]), "%s/%s", dir, name);
	return p;
}

long long tu_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int tu_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	return fd;
}

static void server_start(struct tu_server *s, const char *prog,
			 const char *const *extra, unsigned long nofile,
			 int named);

void tu_server_start(struct tu_server *s, const char *const *extra)
{
	server_start(s, NULL, extra, 0, 1);
}

void tu_server_start_nofile(struct tu_server *s, const char *const *extra,
			    unsigned long nofile)
{
	server_start(s, NULL, extra, nofile, 1);
}

void tu_server_start_default(struct tu_server *s, const char *const *extra)
{
	server_start(s, NULL, extra, 0, 0);
}

void tu_server_start_prog(struct tu_server *s, const char *prog,
			  const char *const *extra)
{
	server_start(s, prog, extra, 0, 0);
}

static void server_start(struct tu_server *s, const char *prog,
			 const char *const *extra, unsigned long nofile,
			 int named)
{
	static int seq;
	char pidfile[128];
	const char *argv[64];
	int argc = 0;

	snprintf(s->socket_path, sizeof(s->socket_path), "%s/sock%d",
		 tu_tmpdir(), seq);
	snprintf(s->shm_name, sizeof(s->shm_name), "/ivtest-%d-%d",
		 (int)getpid(), seq);
	snprintf(s->log_path, sizeof(s->log_path), "%s/server%d.log",
		 tu_tmpdir(), seq);
	snprintf(pidfile, sizeof(pidfile), "%s/server%d.pid", tu_tmpdir(), seq);
	seq++;
	argv[argc++] = prog ? prog : tu_bin("src/server/ivshmem-server");
	argv[argc++] = "-F";
	argv[argc++] = "-S";
	argv[argc++] = s->socket_path;
	if (named) {
		argv[argc++] = "-M";
		argv[argc++] = s->shm_name;
	} else {
		s->shm_name[0] = 0;
	}
	argv[argc++] = "-p";
	argv[argc++] = pidfile;
	for (int i = 0; extra && extra[i] && argc < 63; i++)
		argv[argc++] = extra[i];
	argv[argc] = NULL;

	s->pid = fork();
	CHECK(s->pid >= 0, "fork: %s", strerror(errno));
	if (s->pid == 0) {
		int fd = open(s->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0) {
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		/* Not ctest's pipe: a leftover server must not hold it open. */
		fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			close(fd);
		}
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (nofile) {
			struct rlimit rl = { .rlim_cur = nofile,
					     .rlim_max = nofile };

			if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
				_exit(126);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	/*
	 * The server writes its pid file once it listens. Probing with a
	 * connection instead would make a peer that others see come and go.
	 */
	for (int i = 0; i < 1000; i++) {
		int status;

		if (access(pidfile, F_OK) == 0) {
			remember(s->pid);
			return;
		}
		CHECK(waitpid(s->pid, &status, WNOHANG) == 0,
		      "ivshmem-server exited during start-up, see %s",
		      s->log_path);
		usleep(10000);
	}
	CHECK(0, "ivshmem-server did not listen on %s within 10 s",
	      s->socket_path);
}

int tu_server_stop(struct tu_server *s)
{
	int status;

	if (s->pid <= 0)
		return -1;
	kill(s->pid, SIGTERM);
	CHECK(waitpid(s->pid, &status, 0) == s->pid, "waitpid");
	forget(s->pid);
	s->pid = 0;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

/* In the child: drop to uid/gid ((uid_t)-1 / (gid_t)-1: unchanged). */
static void become(uid_t uid, gid_t gid)
{
	if (gid != (gid_t)-1 && (setgroups(0, NULL) < 0 ||
				 setresgid(gid, gid, gid) < 0))
		_exit(126);
	if (uid != (uid_t)-1 && setresuid(uid, uid, uid) < 0)
		_exit(126);
}

int tu_run(const char *const *argv, char *out, size_t outlen, int timeout_s)
{
	return tu_run_as(argv, (uid_t)-1, (gid_t)-1, out, outlen, timeout_s);
}

int tu_run_as(const char *const *argv, uid_t uid, gid_t gid, char *out,
	      size_t outlen, int timeout_s)
{
	int pipefd[2], status;
	size_t len = 0;
	long long deadline = tu_now_ns() + timeout_s * 1000000000LL;
	pid_t pid;

	CHECK(pipe2(pipefd, O_CLOEXEC) == 0, "pipe");
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		dup2(pipefd[1], STDOUT_FILENO);
		dup2(pipefd[1], STDERR_FILENO);
		become(uid, gid);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };
		long long left = (deadline - tu_now_ns()) / 1000000;
		char buf[4096];
		ssize_t n;

		if (left <= 0) {
			kill(pid, SIGKILL);
			break;
		}
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = read(pipefd[0], buf, sizeof(buf));
		if (n <= 0)
			break;
		if (out && len + 1 < outlen) {
			size_t take = (size_t)n < outlen - 1 - len ?
				      (size_t)n : outlen - 1 - len;

			memcpy(out + len, buf, take);
			len += take;
		}
	}
	if (out && outlen)
		out[len] = '\0';
	close(pipefd[0]);
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

int tu_count_fds(pid_t pid)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int n = 0;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/fd");
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return pid ? n : n - 1; /* our own count includes the dir's fd */
}
