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
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "ctl.h"
#include "fdstore.h"
#include "listener.h"
#include "sd.h"
#include "log.h"
#include "restart.h"
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

/*
 * Write our pid to a temporary file beside path, then rename it into
 * place: a reader sees the old file or the whole new one, never an empty
 * one (tests and scripts read it as soon as it appears).
 */
static int write_pidfile(const char *path)
{
	char buf[32], tmp[4096];
	int fd, len, rc = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid()) >=
	    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	len = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (write(fd, buf, (size_t)len) != len)
		rc = errno ? -errno : -EIO;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
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
 * line, HUP restarts it in place (restart.h), USR2 is logged and changes
 * nothing. PIPE is ignored. They stay blocked across the exec of a
 * restart, so one sent meanwhile waits for the new program's signalfd.
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

enum { SIG_NONE, SIG_STOP, SIG_RESTART };

/* Handle what the signalfd holds: SIG_STOP, SIG_RESTART or SIG_NONE. */
static int on_signals(const struct log_sink *log, struct server *srv,
		      const struct server_config *cfg, int sig_fd)
{
	struct signalfd_siginfo si;
	int stop = SIG_NONE;

	while (read(sig_fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGINT:
		case SIGTERM:
		case SIGQUIT:
			log_info(log, "%s: stopping", strsignal(si.ssi_signo));
			stop = SIG_STOP;
			break;
		case SIGUSR1:
			log_status(log, srv, cfg);
			break;
		case SIGHUP:
			log_msg(log, LOG_NOTICE, "%s: restarting in place",
				strsignal(si.ssi_signo));
			if (stop == SIG_NONE)
				stop = SIG_RESTART;
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

/*
 * The control socket beside the main one, with its owner, group and mode
 * (under socket activation: those of the socket file systemd made).
 */
static int open_ctl_socket(struct listener *ctl, const struct listener *lis,
			   const struct server_config *cfg, int activated,
			   char *err, size_t errlen)
{
	struct server_config c = *cfg;
	char path[sizeof(lis->name) + sizeof(CTL_SUFFIX)];
	struct stat st;

	snprintf(path, sizeof(path), "%s%s", lis->name, CTL_SUFFIX);
	c.socket_path = path;
	if (activated && stat(lis->name, &st) == 0) {
		c.socket_mode = st.st_mode & 07777;
		c.socket_uid = st.st_uid == geteuid() ? (uid_t)-1 : st.st_uid;
		c.socket_gid = st.st_gid == getegid() ? (gid_t)-1 : st.st_gid;
	}
	return listener_open(ctl, &c, err, errlen);
}

/* STATUS= for the service manager, e.g. "serving 3 peers, ...". */
static void notify_status(struct server *srv, const struct server_config *cfg,
			  const char *region, const char *first)
{
	struct server_stats st;
	char size[32], msg[512];

	server_get_stats(srv, &st);
	size_format(cfg->shm_size, size, sizeof(size));
	snprintf(msg, sizeof(msg), "%sSTATUS=serving %u %s, %u %s, %s %s",
		 first, st.peers, cli_plural(st.peers, "peer", "peers"),
		 cfg->vectors, cli_plural(cfg->vectors, "vector", "vectors"),
		 size, region);
	sd_notify_state(msg);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* STATUS= at most once a second, however fast peers come and go. */
#define STATUS_INTERVAL_MS 1000

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

/* Everything main() serves, for the loop and for a restart. */
struct run {
	struct server_config cfg;
	struct log_sink log;
	struct shm_region shm;
	struct listener lis, ctl_lis;
	struct restart_main rm;
	struct server *srv;
	struct ctl *ctl;
	struct ctl_info info;
	char **argv;            /* as given: what a restart executes again */
	char prog[4096];        /* "": restarts unavailable */
	char what[300];         /* the region, for STATUS= */
	struct fdstore fds;
};

static void restart(struct run *r, int reply_fd)
{
	char err[512], ts[64];
	struct timespec now;

	if (!r->prog[0]) {
		log_warn(&r->log, "restart: the program's path is unknown "
			 "(no /proc/self/exe at start); still serving");
		if (reply_fd >= 0)
			ctl_restart_failed(reply_fd, "the program's path is "
					   "unknown");
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	snprintf(ts, sizeof(ts), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)now.tv_sec * 1000000ull +
		 (unsigned long long)now.tv_nsec / 1000);
	sd_notify_state(ts);
	r->rm.reply_fd = reply_fd;
	r->rm.started = r->info.started;
	r->rm.restarts = r->info.restarts;
	/* Returns only when the new program did not take over. */
	restart_exec(r->prog, r->argv, &r->rm, r->srv, &r->cfg, &r->log, err,
		     sizeof(err));
	log_warn(&r->log, "restart failed: %s; still serving", err);
	if (reply_fd >= 0)
		ctl_restart_failed(reply_fd, err);
	r->rm.reply_fd = -1;
	sd_notify_state("READY=1");
}

/* Serve a state: server_create() with main's part taken, its peers. */
static int adopt(struct run *r, struct st_rd *rd, int stop_fd,
		 const char *what)
{
	char err[512];
	int rc;

	rc = server_create(&r->srv, &r->cfg, &r->log, r->lis.fd, r->shm.fd,
			   stop_fd);
	if (rc < 0)
		snprintf(err, sizeof(err), "%s", strerror(-rc));
	else
		rc = server_restore(r->srv, rd, err, sizeof(err));
	if (rc < 0) {
		log_err(&r->log, "%s: %s", what, err);
		return -1;
	}
	server_set_inherit(r->srv, 0);
	return 1;
}

/*
 * Taken over from the program that re-executed us: main's part of the
 * state, then the peer table. 1 when restored, 0 when there was no state,
 * -1 when it was refused (nothing of it is ours then: exit, touching
 * nothing).
 */
static int take_state(struct run *r, int stop_fd, int check)
{
	const char *what = check ? "restart check" : "restart";
	uint8_t *body = NULL;
	struct st_rd rd;
	char err[512];
	int rc;

	rc = restart_take(&r->rm, &r->cfg, &body, &rd, err, sizeof(err));
	if (rc < 0)
		log_err(&r->log, "%s: %s", what, err);
	if (rc > 0)
		rc = adopt(r, &rd, stop_fd, what);
	free(body);
	return rc;
}

/*
 * Socket activation, or the fds of systemd's fd store after a crash
 * (then 1, the peers served again). *activated: the fds passed.
 */
static int take_listen_fds(struct run *r, int stop_fd, int *activated)
{
	const char *v = getenv("LISTEN_FDNAMES");
	size_t len = v ? strlen(v) + 1 : 1;
	char *names = malloc(len), err[512];
	struct st_buf b = { 0 };
	struct st_rd rd;
	int n, rc = 0;

	if (!names)
		return -1;
	n = sd_listen_fds_names(1, names, len);
	*activated = n;
	if (n > 0 && fdstore_ours(names)) {
		rc = fdstore_state(names, n, &r->cfg, &b, err, sizeof(err));
		rd = (struct st_rd){ .p = b.p, .len = b.len };
		if (rc == 0 && restart_take_main(&r->rm, &r->cfg, &rd, err,
						 sizeof(err)) < 0)
			rc = -1;
		if (rc < 0)
			log_err(&r->log, "fd store: %s", err);
		else
			rc = adopt(r, &rd, stop_fd, "fd store");
		*activated = r->rm.activated;
	}
	st_buf_free(&b);
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	static struct run r = {
		.shm = { .fd = -1, .lock_fd = -1 },
		.lis = { .fd = -1 },
		.ctl_lis = { .fd = -1 },
	};
	struct server_config *cfg = &r.cfg;
	struct log_sink *log = &r.log;
	struct server_stats st;
	unsigned long last_events = 0;
	int64_t status_due = -1;
	int activated = 0, differs, restored, check, from_store = 0;
	char err[512], size[32], *what = r.what;
	int rc, stale, stop_fd = -1, ready_fd = -1, pidfile_written = 0;

	/* getopt permutes argv: a restart runs the command line as given. */
	r.argv = calloc((size_t)argc + 1, sizeof(char *));
	if (!r.argv)
		return 1;
	memcpy(r.argv, argv, (size_t)argc * sizeof(char *));
	rc = config_parse(cfg, argc, argv, stdout);
	if (rc)
		return rc > 0 ? 0 : CLI_EXIT_USAGE;
	log_init(log, cfg->verbosity < 0 ? LOG_WARNING :
		      cfg->verbosity == 0 ? LOG_INFO : LOG_DEBUG);
	if (restart_prog_path(argv[0], r.prog, sizeof(r.prog)) < 0)
		r.prog[0] = '\0';
	r.rm = (struct restart_main){ .lis = &r.lis, .ctl_lis = &r.ctl_lis,
				      .shm = &r.shm, .reply_fd = -1 };
	check = restart_check_mode();
	if (check) {
		/* Asked by a restarting server: would we take its state? */
		rc = take_state(&r, -1, 1);
		if (rc == 0)
			log_err(log, "restart check: no %s", RESTART_ENV_STATE);
		return rc == 1 ? 0 : 1;
	}
	raise_fd_limit(log, cfg->vectors);
	stop_fd = take_signals();
	if (stop_fd < 0) {
		log_err(log, "signalfd: %s", strerror(-stop_fd));
		return 1;
	}
	restored = take_state(&r, stop_fd, 0);
	if (restored < 0)
		return 1;
	if (restored) {
		activated = r.rm.activated;
		pidfile_written = r.rm.pidfile_written;
		if (r.rm.daemonized)
			log_to_syslog(log);
		goto serve;
	}
	from_store = take_listen_fds(&r, stop_fd, &activated);
	if (from_store < 0)
		return 1;
	if (from_store) {
		server_get_stats(r.srv, &st);
		log_info(log, "took over %u %s from the fd store (a crash "
			 "restart)", st.peers,
			 cli_plural(st.peers, "peer", "peers"));
		goto pidfile;
	}
	if (activated < 0 || activated > 1) {
		log_err(log, "socket activation: %s",
			activated < 0 ? "malformed LISTEN_FDS/LISTEN_PID" :
			"more than one socket passed (one ListenStream= "
			"is served)");
		return 1;
	}
	/* Nothing is touched before we know the socket path is ours. */
	stale = 0;
	if (!activated &&
	    listener_check(cfg, &stale, err, sizeof(err)) < 0) {
		log_err(log, "%s", err);
		return 1;
	}
	if (shm_region_create(&r.shm, cfg, err, sizeof(err)) < 0) {
		log_err(log, "%s", err);
		return 1;
	}
	if (activated) {
		rc = listener_adopt(&r.lis, SD_LISTEN_FDS_START, cfg, &differs,
				    err, sizeof(err));
		if (rc == 0 && differs)
			log_warn(log, "the socket passed by the service "
				 "manager is bound to %s, not %s (-S): "
				 "serving it", r.lis.name, cfg->socket_path);
	} else {
		rc = listener_open(&r.lis, cfg, err, sizeof(err));
	}
	if (rc < 0) {
		log_err(log, "%s", err);
		rc = 1;
		goto out;
	}
	if (open_ctl_socket(&r.ctl_lis, &r.lis, cfg, activated, err,
			    sizeof(err)) < 0)
		log_warn(log, "no control socket (ivshmem-ctl): %s", err);
	if (stale)
		log_info(log, "replaced the stale socket %s", r.lis.path);
	if (!cfg->foreground) {
		ready_fd = daemon_fork();
		if (ready_fd < 0) {
			log_err(log, "cannot daemonize: %s",
				strerror(-ready_fd));
			rc = 1;
			goto out;
		}
	}
	rc = server_create(&r.srv, cfg, log, r.lis.fd, r.shm.fd, stop_fd);
	if (rc < 0) {
		log_err(log, "cannot start: %s", strerror(-rc));
		rc = 1;
		goto out;
	}
pidfile:
	if (cfg->pid_file) {
		rc = write_pidfile(cfg->pid_file);
		if (rc < 0) {
			log_err(log, "cannot write pid file %s: %s",
				cfg->pid_file, strerror(-rc));
			rc = 1;
			goto out;
		}
		pidfile_written = 1;
	}
	if (ready_fd >= 0 && daemon_ready(log, ready_fd) < 0) {
		rc = 1;
		goto out;
	}
	r.rm.daemonized = ready_fd >= 0;
serve:
	r.rm.activated = activated;
	r.rm.pidfile_written = pidfile_written;
	size_format(cfg->shm_size, size, sizeof(size));
	describe_shm(cfg, &r.shm, what, sizeof(r.what));
	r.info = (struct ctl_info){
		.version = IVSHMEM_VERSION,
		.socket_path = r.lis.name,
		.region = cfg->shm_name ? "posix-shm" :
			  cfg->shm_dir ? "file" : "memfd",
		.region_size = cfg->shm_size,
		.vectors = cfg->vectors,
		.region_fd = r.shm.fd,
		.activated = activated,
		.started = restored ? r.rm.started : time(NULL),
		.restarts = r.rm.restarts,
	};
	if (r.ctl_lis.fd >= 0) {
		rc = ctl_create(&r.ctl, r.ctl_lis.fd, r.srv, &r.info, log);
		if (rc < 0)
			log_warn(log, "no control socket: %s", strerror(-rc));
	}
	if (fdstore_enabled())
		fdstore_start(&r.fds, log, &r.rm, r.srv,
			      !restored && !from_store);
	if (restored) {
		server_get_stats(r.srv, &st);
		log_info(log, "restarted in place (%s, restart %llu): serving "
			 "%s, %u %s kept, %s of shared memory, %s", r.prog,
			 (unsigned long long)r.rm.restarts, r.lis.name,
			 st.peers, cli_plural(st.peers, "peer", "peers"), size,
			 what);
		if (r.rm.reply_fd >= 0)
			ctl_restart_done(r.rm.reply_fd, IVSHMEM_VERSION,
					 r.rm.restarts);
		r.rm.reply_fd = -1;
	} else {
		log_info(log, "listening on %s%s: %s of shared memory, %s, "
			 "%u %s", r.lis.name,
			 activated ? " (socket activation)" : "", size, what,
			 cfg->vectors,
			 cli_plural(cfg->vectors, "vector", "vectors"));
	}
	/* STATUS=: "4M sealed memfd", "4M POSIX shm /ivshmem", ... */
	snprintf(what, sizeof(r.what), "%s%s", cfg->shm_name ? "POSIX shm " :
		 cfg->shm_dir ? "file in " : "sealed memfd",
		 cfg->shm_name ? r.shm.name : cfg->shm_dir ? cfg->shm_dir : "");
	notify_status(r.srv, cfg, what, "READY=1\n");
	for (;;) {
		int timeout = r.ctl ? ctl_timeout_ms(r.ctl) : -1, sig = 0;
		int restart_fd = -1;

		if (status_due >= 0) {
			int64_t left = status_due - mono_ms();
			int t = left < 0 ? 0 : (int)left;

			if (timeout < 0 || t < timeout)
				timeout = t;
		}
		rc = server_step(r.srv, timeout);
		if (rc < 0) {
			rc = 1;
			break;
		}
		if (r.ctl && ((rc & SERVER_STEP_WATCH) ||
			      ctl_timeout_ms(r.ctl) == 0)) {
			ctl_handle(r.ctl);
			restart_fd = ctl_take_restart(r.ctl);
		}
		/* Not server_get_stats(): O(peers), every turn. */
		if (server_events(r.srv) != last_events) {
			last_events = server_events(r.srv);
			if (status_due < 0)
				status_due = mono_ms() + STATUS_INTERVAL_MS;
		}
		if (status_due >= 0 && mono_ms() >= status_due) {
			notify_status(r.srv, cfg, what, "");
			status_due = -1;
		}
		if (rc & SERVER_STEP_STOP)
			sig = on_signals(log, r.srv, cfg, stop_fd);
		if (sig == SIG_STOP) {
			if (restart_fd >= 0)
				ctl_restart_failed(restart_fd, "the server "
						   "is stopping");
			rc = 0;
			break;
		}
		if (sig == SIG_RESTART || restart_fd >= 0)
			restart(&r, restart_fd);
	}
	sd_notify_state("STOPPING=1");
out:
	ctl_destroy(r.ctl);
	listener_close(&r.ctl_lis);
	server_destroy(r.srv);
	listener_close(&r.lis);
	shm_region_destroy(&r.shm);
	if (pidfile_written)
		remove_pidfile(cfg->pid_file);
	close(stop_fd);
	free(r.argv);
	return rc;
}
