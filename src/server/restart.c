/* SPDX-License-Identifier: MIT */
#include "restart.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/*
 * argv[0] made absolute, if it names the very file we run: then a
 * symlink in it (e.g. one an upgrade repoints) is kept. 0 or -errno.
 */
static int argv0_path(const char *argv0, const struct stat *exe, char *buf,
		      size_t len)
{
	char cwd[4096];
	struct stat st;
	int n;

	if (!argv0 || !strchr(argv0, '/'))
		return -ENOENT;   /* found in PATH: no telling which */
	if (argv0[0] == '/')
		n = snprintf(buf, len, "%s", argv0);
	else if (getcwd(cwd, sizeof(cwd)))
		n = snprintf(buf, len, "%s/%s", cwd, argv0);
	else
		return -errno;
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	if (stat(buf, &st) < 0)
		return -errno;
	return st.st_dev == exe->st_dev && st.st_ino == exe->st_ino ? 0 :
	       -ESTALE;
}

int restart_prog_path(const char *argv0, char *buf, size_t len)
{
	struct stat exe;
	ssize_t n;

	if (stat("/proc/self/exe", &exe) == 0 &&
	    argv0_path(argv0, &exe, buf, len) == 0)
		return 0;
	n = readlink("/proc/self/exe", buf, len - 1);
	if (n < 0)
		return -errno;
	if ((size_t)n >= len - 1)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	return 0;
}

int restart_check_mode(void)
{
	const char *v = getenv(RESTART_ENV_CHECK);

	return v && !strcmp(v, "1");
}

static int set_cloexec(int fd, int on)
{
	int fl;

	if (fd < 0)
		return 0;
	fl = fcntl(fd, F_GETFD);
	if (fl < 0)
		return -errno;
	fl = on ? fl | FD_CLOEXEC : fl & ~FD_CLOEXEC;
	return fcntl(fd, F_SETFD, fl) < 0 ? -errno : 0;
}

static int main_inherit(const struct restart_main *m, int inherit)
{
	int rc = set_cloexec(m->lis->fd, !inherit);

	if (!rc)
		rc = set_cloexec(m->ctl_lis->fd, !inherit);
	if (!rc)
		rc = set_cloexec(m->shm->fd, !inherit);
	if (!rc)
		rc = set_cloexec(m->shm->lock_fd, !inherit);
	if (!rc)
		rc = set_cloexec(m->reply_fd, !inherit);
	return rc;
}

static void save_listener(struct st_buf *b, const struct listener *l)
{
	st_i32(b, l->fd);
	st_str(b, l->path);
	st_str(b, l->name);
	st_u64(b, l->dev);
	st_u64(b, l->ino);
}

void restart_save_main(struct st_buf *b, const struct restart_main *m,
		       const struct server_config *cfg, uint64_t restarts)
{
	st_u64(b, cfg->shm_size);
	save_listener(b, m->lis);
	save_listener(b, m->ctl_lis);
	st_i32(b, m->shm->fd);
	st_i32(b, m->shm->lock_fd);
	st_str(b, m->shm->name);
	st_u32(b, (uint32_t)m->shm->sealed);
	st_u64(b, m->shm->dev);
	st_u64(b, m->shm->ino);
	st_u32(b, (uint32_t)m->activated);
	st_u32(b, (uint32_t)m->daemonized);
	st_u32(b, (uint32_t)m->pidfile_written);
	st_i64(b, m->started);
	st_u64(b, restarts);
	st_i32(b, m->reply_fd);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Run the new program in check mode on the state: it reads and checks
 * everything (and closes nothing of ours: its fds are copies) and exits
 * 0 when it would take it. Its messages go to our stderr.
 */
static int check_new(const char *prog, char *const argv[], char *err,
		     size_t errlen)
{
	int64_t deadline = mono_ms() + RESTART_CHECK_MS;
	int status;
	pid_t pid = fork();

	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -errno;
	}
	if (pid == 0) {
		setenv(RESTART_ENV_CHECK, "1", 1);
		execv(prog, argv);
		fprintf(stderr, "ivshmem-server: cannot execute %s: %s\n", prog,
			strerror(errno));
		_exit(127);
	}
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			snprintf(err, errlen, "waitpid: %s", strerror(errno));
			return -ECHILD;
		}
		if (mono_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			snprintf(err, errlen, "%s did not check the state "
				 "within %d s", prog, RESTART_CHECK_MS / 1000);
			return -ETIMEDOUT;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		snprintf(err, errlen, "%s cannot be executed", prog);
	else if (WIFEXITED(status))
		snprintf(err, errlen, "%s refused the state (exit status %d)",
			 prog, WEXITSTATUS(status));
	else
		snprintf(err, errlen, "%s died checking the state (%s)", prog,
			 strsignal(WTERMSIG(status)));
	return -EPROTO;
}

int restart_exec(const char *prog, char *const argv[], struct restart_main *m,
		 struct server *srv, const struct server_config *cfg,
		 const struct log_sink *log, char *err, size_t errlen)
{
	struct st_buf b = { 0 };
	char num[16];
	int fd, rc;

	restart_save_main(&b, m, cfg, m->restarts + 1);
	server_save(srv, &b);
	fd = st_to_memfd(&b);
	st_buf_free(&b);
	if (fd < 0) {
		snprintf(err, errlen, "cannot write the state: %s",
			 strerror(-fd));
		return fd;
	}
	snprintf(num, sizeof(num), "%d", fd);
	rc = main_inherit(m, 1);
	if (!rc)
		rc = server_set_inherit(srv, 1);
	if (rc < 0) {
		snprintf(err, errlen, "fcntl: %s", strerror(-rc));
		goto out;
	}
	setenv(RESTART_ENV_STATE, num, 1);
	rc = check_new(prog, argv, err, errlen);
	if (rc == 0) {
		log_info(log, "re-executing %s", prog);
		execv(prog, argv);
		rc = -errno;
		snprintf(err, errlen, "cannot execute %s: %s", prog,
			 strerror(errno));
	}
	unsetenv(RESTART_ENV_STATE);
out:
	main_inherit(m, 0);
	server_set_inherit(srv, 0);
	close(fd);
	return rc;
}

/* A listener's fd must be a listening AF_UNIX socket we can serve. */
static int take_listener(struct st_rd *r, struct listener *l, int required,
			 const char *what, char *err, size_t errlen)
{
	int acc = 0;
	socklen_t len = sizeof(acc);

	l->fd = st_get_i32(r);
	st_get_str(r, l->path, sizeof(l->path));
	st_get_str(r, l->name, sizeof(l->name));
	l->dev = (dev_t)st_get_u64(r);
	l->ino = (ino_t)st_get_u64(r);
	if (r->err) {
		snprintf(err, errlen, "the state ends inside the %s", what);
		l->fd = -1;
		return -EPROTO;
	}
	if (l->fd < 0 && !required)
		return 0;
	if (l->fd <= STDERR_FILENO ||
	    getsockopt(l->fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) < 0 ||
	    !acc) {
		snprintf(err, errlen, "the %s (fd %d) is not a listening "
			 "socket", what, l->fd);
		l->fd = -1;
		return -EPROTO;
	}
	return 0;
}

int restart_take(struct restart_main *m, const struct server_config *cfg,
		 uint8_t **body, struct st_rd *r, char *err, size_t errlen)
{
	const char *v = getenv(RESTART_ENV_STATE);
	char *end;
	long fd;
	int rc;

	*body = NULL;
	if (!v)
		return 0;
	errno = 0;
	fd = strtol(v, &end, 10);
	if (!*v || *end || errno || fd <= STDERR_FILENO || fd > 1 << 20) {
		snprintf(err, errlen, "%s=%s is not an fd", RESTART_ENV_STATE, v);
		return -1;
	}
	rc = st_from_fd((int)fd, body, r, err, errlen);
	close((int)fd);
	unsetenv(RESTART_ENV_STATE);
	if (rc < 0)
		return -1;
	return restart_take_main(m, cfg, r, err, errlen);
}

int restart_take_main(struct restart_main *m, const struct server_config *cfg,
		      struct st_rd *r, char *err, size_t errlen)
{
	struct shm_region *shm = m->shm;
	struct stat st;

	if (st_get_u64(r) != cfg->shm_size && !r->err) {
		snprintf(err, errlen, "the region's size differs from -l");
		return -1;
	}
	if (take_listener(r, m->lis, 1, "listening socket", err, errlen) < 0 ||
	    take_listener(r, m->ctl_lis, 0, "control socket", err, errlen) < 0)
		return -1;
	shm->fd = st_get_i32(r);
	shm->lock_fd = st_get_i32(r);
	st_get_str(r, shm->name, sizeof(shm->name));
	shm->sealed = (int)st_get_u32(r);
	shm->dev = (dev_t)st_get_u64(r);
	shm->ino = (ino_t)st_get_u64(r);
	m->activated = (int)st_get_u32(r);
	m->daemonized = (int)st_get_u32(r);
	m->pidfile_written = (int)st_get_u32(r);
	m->started = st_get_i64(r);
	m->restarts = st_get_u64(r);
	m->reply_fd = st_get_i32(r);
	if (r->err) {
		snprintf(err, errlen, "the state ends before the peer table");
		shm->fd = shm->lock_fd = m->reply_fd = -1;
		shm->name[0] = '\0';
		return -1;
	}
	if (shm->fd <= STDERR_FILENO || fstat(shm->fd, &st) < 0 ||
	    st.st_dev != shm->dev || st.st_ino != shm->ino ||
	    (uint64_t)st.st_size != cfg->shm_size ||
	    (shm->lock_fd >= 0 && shm->lock_fd <= STDERR_FILENO)) {
		snprintf(err, errlen, "fd %d is not the region the state "
			 "describes", shm->fd);
		shm->fd = shm->lock_fd = m->reply_fd = -1;
		shm->name[0] = '\0';
		return -1;
	}
	if (m->reply_fd >= 0 && m->reply_fd <= STDERR_FILENO)
		m->reply_fd = -1;
	/* Ours again: close-on-exec, as everything we open. */
	set_cloexec(m->lis->fd, 1);
	set_cloexec(m->ctl_lis->fd, 1);
	set_cloexec(shm->fd, 1);
	set_cloexec(shm->lock_fd, 1);
	set_cloexec(m->reply_fd, 1);
	return 1;
}
