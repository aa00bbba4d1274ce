/* SPDX-License-Identifier: MIT */
/* ivshmem-server: set up, daemonize if asked, serve, clean up. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "listener.h"
#include "log.h"
#include "server.h"
#include "shm.h"
#include "size.h"

/* Peers need a socket plus one eventfd per vector: ask for what we may. */
static void raise_fd_limit(const struct log_sink *log, unsigned vectors)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	log_debug(log, "fd limit %llu: room for about %llu peers",
		  (unsigned long long)rl.rlim_cur,
		  (unsigned long long)(rl.rlim_cur > 32 ?
				       (rl.rlim_cur - 32) / (vectors + 1) : 0));
}

static int write_pidfile(const char *path)
{
	char buf[32];
	int fd, len, rc = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	len = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (write(fd, buf, (size_t)len) != len)
		rc = errno ? -errno : -EIO;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	return rc;
}

/* Remove the pid file only if it still names us. */
static void remove_pidfile(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (read(fd, buf, sizeof(buf) - 1) > 0 && atoi(buf) == (int)getpid())
		unlink(path);
	close(fd);
}

/*
 * Detach like daemon(1, 1) as QEMU's server does (cwd kept), and let the
 * parent exit 0 only once the child is ready, so init systems and scripts
 * see the real outcome. In two steps: daemon_fork() before the event loop
 * is set up, because epoll watches a signalfd through the wait queue of
 * the process that added it, so a loop built before fork() would never
 * see the daemon's SIGTERM; daemon_ready() once the daemon serves.
 *
 * In the child, returns the fd to report readiness on; the parent waits
 * and exits with status 0 on readiness, 1 if the child dies first.
 */
static int daemon_fork(void)
{
	int pipefd[2];
	char status = 1;
	ssize_t n;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int rc = -errno;

		close(pipefd[0]);
		close(pipefd[1]);
		return rc;
	}
	if (pid > 0) {
		close(pipefd[1]);
		do
			n = read(pipefd[0], &status, 1);
		while (n < 0 && errno == EINTR);
		_exit(n == 1 ? status : 1);
	}
	close(pipefd[0]);
	setsid();
	return pipefd[1];
}

static int daemon_ready(struct log_sink *log, int ready_fd)
{
	char status = 0;
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (devnull >= 0) {
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDOUT_FILENO);
		dup2(devnull, STDERR_FILENO);
		close(devnull);
	}
	log_to_syslog(log);
	if (write(ready_fd, &status, 1) != 1) {
		log_err(log, "cannot report readiness: %s", strerror(errno));
		return -EIO;
	}
	close(ready_fd);
	return 0;
}

/*
 * Every signal a user or an init system may send is taken through a
 * signalfd, so none kills the server with its socket and shared memory
 * left behind: INT, TERM and QUIT stop it cleanly, USR1 logs a status
 * line, HUP and USR2 are logged and change nothing. PIPE is ignored.
 */
static const int handled_signals[] = {
	SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2,
};

static int take_signals(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(handled_signals) / sizeof(int); i++)
		sigaddset(&set, handled_signals[i]);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static void log_status(const struct log_sink *log, struct server *srv,
		       const struct server_config *cfg)
{
	struct server_stats st;

	server_get_stats(srv, &st);
	log_msg(log, LOG_NOTICE, "status: %u %s (%u in setup, %u not reading), "
		"%u %s each, %zu %s being sent (%zu bytes), %zu leave %s "
		"queued, %lu %s gone before served", st.peers, cli_plural(st.peers, "peer", "peers"),
		st.in_setup, st.blocked, cfg->vectors,
		cli_plural(cfg->vectors, "vector", "vectors"), st.staged,
		cli_plural(st.staged, "message", "messages"),
		st.staged * 8, st.leaves,
		cli_plural(st.leaves, "notice", "notices"), st.dropped,
		cli_plural(st.dropped, "connection", "connections"));
}

/* Handle what the signalfd holds; 1 when the server is to stop. */
static int on_signals(const struct log_sink *log, struct server *srv,
		      const struct server_config *cfg, int sig_fd)
{
	struct signalfd_siginfo si;
	int stop = 0;

	while (read(sig_fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGINT:
		case SIGTERM:
		case SIGQUIT:
			log_info(log, "%s: stopping", strsignal(si.ssi_signo));
			stop = 1;
			break;
		case SIGUSR1:
			log_status(log, srv, cfg);
			break;
		default:
			log_msg(log, LOG_NOTICE, "%s: ignored (nothing to "
				"reload), still serving",
				strsignal(si.ssi_signo));
			break;
		}
	}
	return stop;
}

static void describe_shm(const struct server_config *cfg,
			 const struct shm_region *shm, char *buf, size_t len)
{
	if (cfg->shm_name)
		snprintf(buf, len, "POSIX shm %s", shm->name);
	else if (cfg->shm_dir)
		snprintf(buf, len, "an unlinked file in %s", cfg->shm_dir);
	else
		snprintf(buf, len, "a sealed memfd");
}

int main(int argc, char **argv)
{
	struct server_config cfg;
	struct shm_region shm = { .fd = -1, .lock_fd = -1 };
	struct listener lis = { .fd = -1 };
	struct server *srv = NULL;
	struct log_sink log;
	char err[512], size[32], what[300];
	int rc, stale, stop_fd, ready_fd = -1, pidfile_written = 0;

	rc = config_parse(&cfg, argc, argv, stdout);
	if (rc)
		return rc > 0 ? 0 : CLI_EXIT_USAGE;
	log_init(&log, cfg.verbosity < 0 ? LOG_WARNING :
		       cfg.verbosity == 0 ? LOG_INFO : LOG_DEBUG);

	/* Nothing is touched before we know the socket path is ours. */
	if (listener_check(&cfg, &stale, err, sizeof(err)) < 0) {
		log_err(&log, "%s", err);
		return 1;
	}
	raise_fd_limit(&log, cfg.vectors);
	stop_fd = take_signals();
	if (stop_fd < 0) {
		log_err(&log, "signalfd: %s", strerror(-stop_fd));
		return 1;
	}
	if (shm_region_create(&shm, &cfg, err, sizeof(err)) < 0) {
		log_err(&log, "%s", err);
		return 1;
	}
	if (listener_open(&lis, &cfg, err, sizeof(err)) < 0) {
		log_err(&log, "%s", err);
		rc = 1;
		goto out;
	}
	if (stale)
		log_info(&log, "replaced the stale socket %s", lis.path);
	if (!cfg.foreground) {
		ready_fd = daemon_fork();
		if (ready_fd < 0) {
			log_err(&log, "cannot daemonize: %s",
				strerror(-ready_fd));
			rc = 1;
			goto out;
		}
	}
	rc = server_create(&srv, &cfg, &log, lis.fd, shm.fd, stop_fd);
	if (rc < 0) {
		log_err(&log, "cannot start: %s", strerror(-rc));
		rc = 1;
		goto out;
	}
	if (cfg.pid_file) {
		rc = write_pidfile(cfg.pid_file);
		if (rc < 0) {
			log_err(&log, "cannot write pid file %s: %s",
				cfg.pid_file, strerror(-rc));
			rc = 1;
			goto out;
		}
		pidfile_written = 1;
	}
	if (ready_fd >= 0 && daemon_ready(&log, ready_fd) < 0) {
		rc = 1;
		goto out;
	}
	size_format(cfg.shm_size, size, sizeof(size));
	describe_shm(&cfg, &shm, what, sizeof(what));
	log_info(&log, "listening on %s: %s of shared memory, %s, %u %s",
		 lis.path, size, what, cfg.vectors,
		 cli_plural(cfg.vectors, "vector", "vectors"));
	for (;;) {
		rc = server_step(srv, -1);
		if (rc < 0) {
			rc = 1;
			break;
		}
		if (rc > 0 && on_signals(&log, srv, &cfg, stop_fd)) {
			rc = 0;
			break;
		}
	}
out:
	server_destroy(srv);
	listener_close(&lis);
	shm_region_destroy(&shm);
	if (pidfile_written)
		remove_pidfile(cfg.pid_file);
	close(stop_fd);
	return rc;
}
