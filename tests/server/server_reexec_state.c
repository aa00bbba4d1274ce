/* SPDX-License-Identifier: MIT */
/*
 * Restarts in place with everything in flight (issue 15): a peer that
 * never read its setup (its socket full, messages staged and leave
 * notices queued for it), one that read half of it, leaves and a join
 * while they wait; two restarts; then each reads a consistent story
 * ending in the true peer table, and no old peer sees EOF. 20 more
 * restarts leak no fd. A replacement program that refuses the state, is
 * not executable or is missing leaves the old one serving. States that
 * are not ours (another version, garbage, fds that are not what they
 * claim) are refused with exit status 1, touching nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "srvtest.h"
#include "state.h"

#define NVEC    2
#define READERS 60

/* Which ids a peer believes are there, as it was told. */
struct view {
	unsigned char known[IVPROTO_NUM_IDS];
};

/* Notices until none comes for quiet_ms. */
static void view_events(struct tpeer *p, struct view *v, int quiet_ms)
{
	int id, ev;

	while ((ev = tp_next_event(p, &id, quiet_ms)) != -ETIMEDOUT) {
		CHECK(ev == 0 || !v->known[id], "peer %d: peer %d joined twice",
		      p->id, id);
		CHECK(ev == 1 || v->known[id], "peer %d: peer %d left, never "
		      "joined", p->id, id);
		v->known[id] = (unsigned char)ev;
	}
}

static void view_check(const struct tpeer *p, const struct view *v,
		       const int *live, int n)
{
	int count = 0;

	for (int i = 0; i < IVPROTO_NUM_IDS; i++)
		count += v->known[i];
	for (int i = 0; i < n; i++)
		CHECK(live[i] == p->id || v->known[live[i]], "peer %d does not "
		      "know peer %d", p->id, live[i]);
	CHECK(count == n - 1, "peer %d knows %d peers, %d are there", p->id,
	      count, n - 1);
}

/* Read p's setup (connected earlier), then every notice since. */
static void join_view(struct tpeer *p, struct view *v, int quiet_ms)
{
	int others[READERS + 16], n;

	memset(v, 0, sizeof(*v));
	CHECK(tp_read_join(p, others, READERS + 16, &n) == 0, "peer refused");
	for (int i = 0; i < n; i++)
		v->known[others[i]] = 1;
	view_events(p, v, quiet_ms);
}

#define LATE 8

static void ctl_expect(const struct tu_server *srv, const char *want,
		       const char *what)
{
	const char *argv[] = { tu_bin("tools/ivshmem-ctl"), "-S",
			       srv->socket_path, "--json", "status", NULL };
	char out[4096];

	for (int i = 0; i < 200; i++) {
		CHECK(tu_run(argv, out, sizeof(out), 30) == 0, "ctl: %s", out);
		if (strstr(out, want))
			return;
		usleep(10000);
	}
	CHECK(0, "%s: no '%s' in %s", what, want, out);
}

static void in_flight(struct tu_server *srv)
{
	static struct tpeer r[READERS], y[LATE];
	static struct view rv[READERS], yv[LATE];
	struct tpeer x, nw;
	struct view xv, nv;
	int live[READERS + LATE + 2], n = 0, gone[2];


	for (int i = 0; i < READERS; i++) {
		tp_connect(&r[i], srv->socket_path, NVEC);
		join_view(&r[i], &rv[i], 0);
	}
	/* x never reads: its setup (about 125 messages) overflows its window. */
	tp_connect(&x, srv->socket_path, NVEC);
	srv_log_wait(srv->log_path, "joined", "61 peers", TP_TIMEOUT_MS);
	/* One x was told of already, one (the last) it was not yet. */
	gone[0] = r[3].id;
	gone[1] = r[READERS - 1].id;
	tp_close(&r[3]);
	tp_close(&r[READERS - 1]);
	for (int i = 0; i < 2; i++) {
		char want[32];

		snprintf(want, sizeof(want), "peer %d left", gone[i]);
		srv_log_wait(srv->log_path, want, NULL, TP_TIMEOUT_MS);
	}
	ctl_expect(srv, "\"in_setup\":1,", "peer x has its whole setup");
	/* Connections while the server re-executes: some wait in its backlog. */
	CHECK(kill(srv->pid, SIGHUP) == 0, "SIGHUP");
	for (int i = 0; i < LATE; i++)
		tp_connect(&y[i], srv->socket_path, NVEC);
	srv_log_wait(srv->log_path, "restarted in place", "restart 1)",
		     TP_TIMEOUT_MS);
	tp_connect(&nw, srv->socket_path, NVEC);
	join_view(&nw, &nv, 0);
	srv_ctl_restart(srv, 2);

	join_view(&x, &xv, 300);
	for (int i = 0; i < LATE; i++)
		join_view(&y[i], &yv[i], 100);
	for (int i = 0; i < READERS; i++)
		if (i != 3 && i != READERS - 1)
			live[n++] = r[i].id;
	live[n++] = x.id;
	for (int i = 0; i < LATE; i++)
		live[n++] = y[i].id;
	live[n++] = nw.id;
	view_check(&x, &xv, live, n);
	for (int i = 0; i < LATE; i++)
		view_check(&y[i], &yv[i], live, n);
	view_events(&nw, &nv, 100);
	view_check(&nw, &nv, live, n);
	for (int i = 0; i < READERS; i++) {
		if (i == 3 || i == READERS - 1)
			continue;
		view_events(&r[i], &rv[i], 100);
		view_check(&r[i], &rv[i], live, n);
	}
	printf("in flight: peer %d never read (setup staged), peers %d and %d "
	       "left meanwhile, %d connected during a restart, 1 between two"
	       ": all %d peers agree on the table\n", x.id, gone[0], gone[1],
	       LATE, n);
	for (int i = 0; i < READERS; i++)
		if (i != 3 && i != READERS - 1)
			tp_close(&r[i]);
	for (int i = 0; i < LATE; i++)
		tp_close(&y[i]);
	tp_close(&x);
	tp_close(&nw);
}

static void no_leak(struct tu_server *srv, unsigned *restarts)
{
	struct tpeer a, b;
	int before, after;

	tp_join(&a, srv->socket_path, NVEC, NULL, 0, NULL);
	tp_join(&b, srv->socket_path, NVEC, NULL, 0, NULL);
	tp_expect_join(&a, b.id);
	before = srv_settled_fds(srv->pid);
	for (int i = 0; i < 20; i++) {
		++*restarts;
		if (i % 2)
			srv_restart(srv, *restarts);
		else
			srv_ctl_restart(srv, *restarts);
	}
	after = srv_settled_fds(srv->pid);
	CHECK(after == before, "%d fds before 20 restarts, %d after", before,
	      after);
	tp_expect_quiet(&a, 100);
	tp_expect_quiet(&b, 100);
	printf("20 restarts: %d fds before and after, two peers heard "
	       "nothing\n", before);
	tp_close(&a);
	tp_close(&b);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	char tmp[300];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	CHECK(fd >= 0 && write(fd, text, strlen(text)) ==
	      (ssize_t)strlen(text) && close(fd) == 0, "%s", tmp);
	CHECK(rename(tmp, path) == 0, "rename %s", tmp);
}

/* A restart that must not happen: the old program serves on. */
static void restart_refused(struct tu_server *srv, struct tpeer *a,
			    const char *why, const char *in_log)
{
	const char *argv[] = { tu_bin("tools/ivshmem-ctl"), "-S",
			       srv->socket_path, "restart", NULL };
	struct tpeer c;
	char out[2048];
	int rc = tu_run(argv, out, sizeof(out), 30);

	CHECK(rc == 1 && strstr(out, in_log), "ivshmem-ctl restart (%s): "
	      "status %d, no '%s' in: %s", why, rc, in_log, out);
	srv_log_wait(srv->log_path, "restart failed", in_log, TP_TIMEOUT_MS);
	srv_alive(srv);
	tp_join(&c, srv->socket_path, NVEC, NULL, 0, NULL);
	tp_expect_join(a, c.id);
	tp_close(&c);
	tp_expect_leave(a, c.id);
	printf("%s: refused (%s), still serving\n", why, in_log);
}

static void bad_programs(struct tu_server *srv, const char *bin,
			 unsigned *restarts)
{
	struct tpeer a;
	int fds;

	tp_join(&a, srv->socket_path, NVEC, NULL, 0, NULL);
	fds = srv_settled_fds(srv->pid);
	write_file(bin, "#!/bin/sh\necho 'not a server' >&2\nexit 3\n", 0755);
	restart_refused(srv, &a, "a program that exits 3",
			"refused the state (exit status 3)");
	write_file(bin, "#!/bin/sh\nkill -SEGV $$\n", 0755);
	restart_refused(srv, &a, "a program that crashes",
			"died checking the state");
	chmod(bin, 0644);
	restart_refused(srv, &a, "a file not executable", "cannot be executed");
	unlink(bin);
	restart_refused(srv, &a, "no file", "cannot be executed");
	CHECK(srv_settled_fds(srv->pid) == fds, "refused restarts leaked fds");
	srv_copy_file(tu_bin("src/server/ivshmem-server"), bin, 0755);
	srv_ctl_restart(srv, ++*restarts);
	tp_expect_quiet(&a, 100);
	tp_close(&a);
	printf("the server's file back: restarted\n");
}

/*
 * Started through a symlink, as an installation with versioned files
 * may do: an upgrade repoints the link, and a restart runs the new file.
 */
static void symlink_upgrade(void)
{
	static const char *const args[] = { "-n", "2", NULL };
	char v1[256], v2[256], link[256], tmp[256], exe[64];
	struct tu_server srv;
	struct stat st, run;
	struct tpeer a;

	snprintf(v1, sizeof(v1), "%s/server-v1", tu_tmpdir());
	snprintf(v2, sizeof(v2), "%s/server-v2", tu_tmpdir());
	snprintf(link, sizeof(link), "%s/server-current", tu_tmpdir());
	snprintf(tmp, sizeof(tmp), "%s/server-next", tu_tmpdir());
	srv_copy_file(tu_bin("src/server/ivshmem-server"), v1, 0755);
	srv_copy_file(tu_bin("src/server/ivshmem-server"), v2, 0755);
	CHECK(symlink(v1, link) == 0, "symlink");
	tu_server_start_prog(&srv, link, args);
	tp_join(&a, srv.socket_path, NVEC, NULL, 0, NULL);
	CHECK(symlink(v2, tmp) == 0 && rename(tmp, link) == 0, "repoint");
	srv_ctl_restart(&srv, 1);
	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)srv.pid);
	CHECK(stat(v2, &st) == 0 && stat(exe, &run) == 0 &&
	      st.st_ino == run.st_ino, "after repointing the link, the "
	      "restart did not run the new file");
	tp_expect_quiet(&a, 100);
	tp_close(&a);
	CHECK(tu_server_stop(&srv) == 0, "server exit status");
	printf("started through a symlink, repointed: the restart runs the "
	       "file it points to now\n");
}

/*
 * Start the server with IVSHMEM_SERVER_STATE naming a memfd holding
 * 'state' (len bytes), as a restarting server would; it must exit 1
 * with 'msg' in its output and leave no socket.
 */
static void state_refused(const char *what, const void *state, size_t len,
			  const char *msg, int check)
{
	char dir[200], sock[256], log[256], num[16], buf[4096];
	int fd = memfd_create("state", 0), status, lfd;
	pid_t pid;
	ssize_t n;

	snprintf(dir, sizeof(dir), "%s", tu_tmpdir());
	snprintf(sock, sizeof(sock), "%s/refused.sock", dir);
	snprintf(log, sizeof(log), "%s/refused.log", dir);
	CHECK(fd > 2 && write(fd, state, len) == (ssize_t)len, "memfd");
	snprintf(num, sizeof(num), "%d", fd);
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		lfd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(lfd, 2);
		setenv("IVSHMEM_SERVER_STATE", num, 1);
		if (check)
			setenv("IVSHMEM_SERVER_STATE_CHECK", "1", 1);
		execl(tu_bin("src/server/ivshmem-server"), "ivshmem-server",
		      "-F", "-S", sock, "-n", "2", (char *)NULL);
		_exit(127);
	}
	close(fd);
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	lfd = open(log, O_RDONLY);
	n = read(lfd, buf, sizeof(buf) - 1);
	close(lfd);
	buf[n > 0 ? n : 0] = '\0';
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1, "%s: status 0x%x",
	      what, status);
	CHECK(strstr(buf, msg), "%s: no '%s' in: %s", what, msg, buf);
	CHECK(access(sock, F_OK) < 0, "%s: a socket was created", what);
	printf("%s%s: refused: %s", what, check ? " (check mode)" : "", buf);
}

static void bad_states(void)
{
	static uint8_t garbage[4096];
	struct st_buf b = { 0 };
	uint8_t *p;
	int fd;
	struct stat st;

	for (size_t i = 0; i < sizeof(garbage); i++)
		garbage[i] = (uint8_t)(i * 131 + 7);
	state_refused("garbage", garbage, sizeof(garbage), "holds no server "
		      "state", 0);
	/* A whole state of our layout: the size, then fds that are not. */
	st_u64(&b, 4u << 20);
	for (int i = 0; i < 3; i++)
		st_u32(&b, 0);         /* fd 0, no path, no name */
	st_u64(&b, 0);
	st_u64(&b, 0);
	fd = st_to_memfd(&b);
	CHECK(fd >= 0 && fstat(fd, &st) == 0, "st_to_memfd");
	p = malloc((size_t)st.st_size);
	CHECK(p && pread(fd, p, (size_t)st.st_size, 0) == st.st_size, "read");
	close(fd);
	state_refused("a listening socket that is stdin", p,
		      (size_t)st.st_size, "is not a listening socket", 0);
	state_refused("a listening socket that is stdin", p,
		      (size_t)st.st_size, "is not a listening socket", 1);
	state_refused("the same, truncated", p, (size_t)st.st_size - 3,
		      "does not match its file", 0);
	p[8] = STATE_VERSION + 1;
	state_refused("another version", p, (size_t)st.st_size,
		      "this program reads version", 0);
	p[8] = STATE_VERSION;
	p[st.st_size - 1] ^= 1;
	state_refused("one bit flipped", p, (size_t)st.st_size,
		      "damaged (checksum)", 0);
	free(p);
	st_buf_free(&b);
}

int main(void)
{
	static const char *const args[] = { "-n", "2", NULL };
	struct tu_server srv;
	unsigned restarts = 2;
	char bin[256];

	srv_raise_nofile();
	snprintf(bin, sizeof(bin), "%s/ivshmem-server", tu_tmpdir());
	srv_copy_file(tu_bin("src/server/ivshmem-server"), bin, 0755);
	tu_server_start_prog(&srv, bin, args);
	in_flight(&srv);
	no_leak(&srv, &restarts);
	bad_programs(&srv, bin, &restarts);
	CHECK(tu_server_stop(&srv) == 0, "server exit status, see %s",
	      srv.log_path);
	bad_states();
	symlink_upgrade();
	printf("server_reexec_state: ok\n");
	return 0;
}
