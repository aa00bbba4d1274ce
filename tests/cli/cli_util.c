/* SPDX-License-Identifier: MIT */
#include "cli_util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wire.h"

#define MAX_TRACKED 64

static pid_t owner;
static char bin_dir[64], bin_copy[96];
static pid_t pids[MAX_TRACKED];
static char shms[MAX_TRACKED][64];
static int npids, nshms;

static void cleanup(void)
{
	/* Forked children that exit through CHECK must not clean up. */
	if (getpid() != owner)
		return;
	for (int i = 0; i < npids; i++) {
		if (pids[i] > 0 && kill(pids[i], 0) == 0) {
			fprintf(stderr, "cleanup: killing leftover pid %d\n",
				(int)pids[i]);
			kill(pids[i], SIGKILL);
			waitpid(pids[i], NULL, 0);
		}
	}
	for (int i = 0; i < nshms; i++)
		shm_unlink(shms[i]);
	if (bin_copy[0])
		unlink(bin_copy);
	if (bin_dir[0])
		rmdir(bin_dir);
}

static void cleanup_init(void)
{
	tu_tmpdir(); /* its removal must run after ours */
	if (!owner) {
		owner = getpid();
		atexit(cleanup);
	}
}

void cli_track_pid(pid_t pid)
{
	cleanup_init();
	CHECK(npids < MAX_TRACKED, "too many tracked pids");
	pids[npids++] = pid;
}

void cli_track_shm(const char *name)
{
	cleanup_init();
	for (int i = 0; i < nshms; i++)
		if (!strcmp(shms[i], name))
			return;
	CHECK(nshms < MAX_TRACKED, "too many tracked shm names");
	snprintf(shms[nshms++], sizeof(shms[0]), "%s", name);
}

const char *cli_server_bin(void)
{
	return tu_bin("src/server/ivshmem-server");
}

/*
 * The build tree may sit under a directory other users cannot enter
 * (/root is 0700 on Debian, so is mktemp -d): for them, a copy in a
 * world-traversable directory of its own, removed at exit.
 */
const char *cli_server_bin_as(uid_t uid)
{
	char buf[65536];
	ssize_t n;
	int in, out;

	if (uid == (uid_t)-1 || uid == geteuid())
		return cli_server_bin();
	if (bin_copy[0])
		return bin_copy;
	cleanup_init();
	snprintf(bin_dir, sizeof(bin_dir), "/tmp/ivcli-bin.XXXXXX");
	CHECK(mkdtemp(bin_dir), "mkdtemp: %s", strerror(errno));
	CHECK(chmod(bin_dir, 0755) == 0, "chmod %s: %s", bin_dir,
	      strerror(errno));
	snprintf(bin_copy, sizeof(bin_copy), "%s/ivshmem-server", bin_dir);
	in = open(cli_server_bin(), O_RDONLY | O_CLOEXEC);
	CHECK(in >= 0, "%s: %s", cli_server_bin(), strerror(errno));
	out = open(bin_copy, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	CHECK(out >= 0, "%s: %s", bin_copy, strerror(errno));
	while ((n = read(in, buf, sizeof(buf))) > 0)
		CHECK(write(out, buf, (size_t)n) == n, "write %s: %s",
		      bin_copy, strerror(errno));
	CHECK(n == 0 && close(out) == 0, "copy to %s: %s", bin_copy,
	      strerror(errno));
	close(in);
	return bin_copy;
}

void cli_names(struct tu_server *s, const char *tag)
{
	cleanup_init();
	memset(s, 0, sizeof(*s));
	snprintf(s->socket_path, sizeof(s->socket_path), "%s/%s.sock",
		 tu_tmpdir(), tag);
	snprintf(s->shm_name, sizeof(s->shm_name), "/ivcli-%d-%s",
		 (int)getpid(), tag);
	snprintf(s->log_path, sizeof(s->log_path), "%s/%s.log", tu_tmpdir(),
		 tag);
	cli_track_shm(s->shm_name);
}

static void dump_file(const char *path)
{
	char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	fprintf(stderr, "--- %s ---\n", path);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stderr);
	close(fd);
}

void cli_start(struct tu_server *s, const char *const *extra)
{
	const char *argv[64];
	int argc = 0;

	argv[argc++] = cli_server_bin();
	argv[argc++] = "-F";
	argv[argc++] = "-S";
	argv[argc++] = s->socket_path;
	argv[argc++] = "-M";
	argv[argc++] = s->shm_name;
	for (int i = 0; extra && extra[i]; i++) {
		CHECK(argc < 63, "too many arguments");
		argv[argc++] = extra[i];
	}
	argv[argc] = NULL;

	s->pid = fork();
	CHECK(s->pid >= 0, "fork: %s", strerror(errno));
	if (s->pid == 0) {
		int fd = open(s->log_path, O_WRONLY | O_CREAT | O_TRUNC |
			      O_CLOEXEC, 0644);

		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	cli_track_pid(s->pid);
	for (int i = 0; i < 1000; i++) {
		int status, fd = tu_connect(s->socket_path);

		if (fd >= 0) {
			close(fd);
			return;
		}
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			s->pid = 0;
			dump_file(s->log_path);
			CHECK(0, "ivshmem-server exited during start-up "
			      "(status 0x%x)", status);
		}
		usleep(10000);
	}
	dump_file(s->log_path);
	CHECK(0, "ivshmem-server did not listen on %s within 10 s",
	      s->socket_path);
}

int cli_stop(struct tu_server *s, int sig)
{
	int status;

	CHECK(s->pid > 0, "no server to stop");
	CHECK(kill(s->pid, sig) == 0, "kill: %s", strerror(errno));
	for (int i = 0; i < 1000; i++) {
		pid_t rc = waitpid(s->pid, &status, WNOHANG);

		CHECK(rc >= 0, "waitpid: %s", strerror(errno));
		if (rc == s->pid) {
			s->pid = 0;
			if (WIFEXITED(status))
				return WEXITSTATUS(status);
			return 128 + WTERMSIG(status);
		}
		usleep(10000);
	}
	dump_file(s->log_path);
	CHECK(0, "ivshmem-server did not stop within 10 s of signal %d", sig);
	return -1;
}

void cli_peer_join(struct cli_peer *p, const char *socket_path)
{
	struct ivproto_rx rx = IVPROTO_RX_INIT;
	struct timeval tv = { .tv_sec = 10 };
	struct stat st;
	int64_t v;
	int fd, rc;

	memset(p, 0, sizeof(*p));
	p->shm_fd = -1;
	p->sock = tu_connect(socket_path);
	CHECK(p->sock >= 0, "connect %s: %s", socket_path,
	      strerror(-p->sock));
	setsockopt(p->sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

	rc = ivproto_recv(&rx, p->sock, &v, &fd);
	CHECK(rc == 0, "version: %s", strerror(-rc));
	CHECK(v == IVPROTO_VERSION && fd < 0, "version %lld fd %d",
	      (long long)v, fd);
	rc = ivproto_recv(&rx, p->sock, &p->id, &fd);
	CHECK(rc == 0, "id: %s", strerror(-rc));
	CHECK(p->id >= 0 && p->id <= IVPROTO_MAX_PEER_ID && fd < 0,
	      "id %lld fd %d", (long long)p->id, fd);
	rc = ivproto_recv(&rx, p->sock, &v, &p->shm_fd);
	CHECK(rc == 0, "shm: %s", strerror(-rc));
	CHECK(v == IVPROTO_SHM_ID && p->shm_fd >= 0, "shm message %lld fd %d",
	      (long long)v, p->shm_fd);
	CHECK(fstat(p->shm_fd, &st) == 0, "fstat: %s", strerror(errno));
	p->size = (uint64_t)st.st_size;
	p->mem = mmap(NULL, (size_t)p->size, PROT_READ | PROT_WRITE,
		      MAP_SHARED, p->shm_fd, 0);
	CHECK(p->mem != MAP_FAILED, "mmap %llu bytes: %s",
	      (unsigned long long)p->size, strerror(errno));
}

void cli_peer_leave(struct cli_peer *p)
{
	if (p->mem && p->mem != MAP_FAILED)
		munmap(p->mem, (size_t)p->size);
	if (p->shm_fd >= 0)
		close(p->shm_fd);
	if (p->sock >= 0)
		close(p->sock);
	memset(p, 0, sizeof(*p));
	p->sock = p->shm_fd = -1;
}

ino_t cli_path_ino(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 ? st.st_ino : 0;
}

int cli_path_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

ino_t cli_shm_ino(const char *name)
{
	struct stat st;
	int fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);
	ino_t ino = 0;

	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0)
		ino = st.st_ino;
	close(fd);
	return ino;
}

int cli_shm_exists(const char *name)
{
	int fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);

	if (fd < 0) {
		CHECK(errno == ENOENT, "shm_open %s: %s", name,
		      strerror(errno));
		return 0;
	}
	close(fd);
	return 1;
}

int cli_run_as(const char *const *argv, uid_t uid, gid_t gid, char *out,
	       size_t outlen, int timeout_s)
{
	return tu_run_as(argv, uid, gid, out, outlen, timeout_s);
}

void cli_expect_fail_as(const char *const *args, const char *const *needles,
			const char *socket_path, const char *shm_name,
			uid_t uid, gid_t gid)
{
	const char *argv[64];
	char out[8192], cmd[1024] = "";
	size_t used = 0;
	int argc = 0, rc;

	argv[argc++] = cli_server_bin_as(uid);
	for (int i = 0; args[i]; i++) {
		CHECK(argc < 63, "too many arguments");
		argv[argc++] = args[i];
		used += (size_t)snprintf(cmd + used, sizeof(cmd) - used, " %s",
					 args[i]);
		if (used >= sizeof(cmd))
			used = sizeof(cmd) - 1;
	}
	argv[argc] = NULL;
	if (shm_name)
		cli_track_shm(shm_name);

	rc = cli_run_as(argv, uid, gid, out, sizeof(out), 30);
	printf("ivshmem-server%s\n  -> exit %d: %s", cmd, rc, out);
	CHECK(rc != 0 && rc < 126, "expected a clean failure, got exit %d for "
	      "'%s':\n%s", rc, cmd, out);
	for (int i = 0; needles && needles[i]; i++)
		CHECK(strstr(out, needles[i]), "output of '%s' lacks '%s':\n%s",
		      cmd, needles[i], out);
	CHECK(!socket_path || !cli_path_exists(socket_path),
	      "'%s' left %s behind", cmd, socket_path);
	CHECK(!shm_name || !cli_shm_exists(shm_name),
	      "'%s' left shm %s behind", cmd, shm_name);
}
