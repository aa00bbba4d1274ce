/* SPDX-License-Identifier: MIT */
/*
 * Out of fds: a server started with an fd limit of 64 (soft and hard, so
 * it cannot raise it), then lowered so that exactly FIT peers fit plus a
 * few spare fds. Peers connect one by one: FIT join, the next is refused
 * (its socket reaches EOF before any message and nobody is told it
 * joined), so are more, and a log line says so. The server keeps serving:
 * after some peers leave, as many new ones join with a complete setup,
 * and the next one is refused again. The spare fds decide where the last
 * fd runs out: 0 at accept() (which then fails even with nobody waiting),
 * 1 at the peer's first eventfd, 2 (with 3 vectors) at its second.
 */
#include <dirent.h>
#include <string.h>
#include <sys/resource.h>

#include "srvtest.h"

#define NOFILE  64
#define MAX_TRY 64
#define LEAVE   3
#define FIT     8

static void expect_setup(const struct tpeer *x, const int *others, int n,
			 const struct tpeer *w, const struct tpeer *held,
			 int nheld)
{
	CHECK(n == nheld + 1, "peer %d: setup lists %d peers, %d are there",
	      x->id, n, nheld + 1);
	CHECK(others[0] == w->id, "peer %d: setup does not start with the "
	      "watcher", x->id);
	for (int i = 0; i < nheld; i++)
		CHECK(others[i + 1] == held[i].id, "peer %d: setup lists %d "
		      "where peer %d was expected", x->id, others[i + 1],
		      held[i].id);
}

/* Lower the server's fd limit so that exactly 'spare' fds are free. */
static void set_free_fds(pid_t pid, int spare)
{
	char path[64], used[NOFILE] = { 0 };
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	CHECK(d, "%s", path);
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);

		if (de->d_name[0] != '.' && fd < NOFILE)
			used[fd] = 1;
	}
	closedir(d);
	for (int lim = 0, nfree = 0; lim <= NOFILE; lim++) {
		if (nfree == spare) {
			struct rlimit rl = { .rlim_cur = (rlim_t)lim,
					     .rlim_max = (rlim_t)lim };

			CHECK(prlimit(pid, RLIMIT_NOFILE, &rl, NULL) == 0,
			      "prlimit");
			return;
		}
		if (lim < NOFILE && !used[lim])
			nfree++;
	}
	CHECK(0, "the server has fewer than %d fds free", spare);
}

static void run(unsigned nvec, unsigned spare)
{
	const char *args[] = { "-n", NULL, NULL };
	int others[MAX_TRY + 1], n, nheld = 0, most, fds, refused = 0;
	struct tpeer w, x, held[MAX_TRY];
	struct tu_server srv;
	char nv[16], limits[64];

	snprintf(nv, sizeof(nv), "%u", nvec);
	args[1] = nv;
	tu_server_start_nofile(&srv, args, NOFILE);
	tp_join_alone(&w, srv.socket_path, nvec);
	snprintf(limits, sizeof(limits), "/proc/%d/limits", (int)srv.pid);
	snprintf(nv, sizeof(nv), " %d ", NOFILE);
	CHECK(srv_log_has(limits, "Max open files", nv),
	      "the server's fd limit is not %d", NOFILE);
	srv_settled_fds(srv.pid);
	set_free_fds(srv.pid, FIT * (1 + (int)nvec) + (int)spare);

	/* Fill it up. */
	for (;;) {
		CHECK(nheld < MAX_TRY, "%d peers joined a server with %d fds",
		      nheld, NOFILE);
		if (tp_try_join(&x, srv.socket_path, nvec, others, MAX_TRY + 1,
				&n) < 0) {
			tp_close(&x);
			refused++;
			break;
		}
		expect_setup(&x, others, n, &w, held, nheld);
		tp_expect_join(&w, x.id);
		held[nheld++] = x;
	}
	most = nheld;
	fds = tu_count_fds(srv.pid);
	CHECK(most == FIT, "%d peers fit, expected %d", most, FIT);

	/* Those that do not fit are refused, and never announced. */
	for (int i = 0; i < 5; i++) {
		tp_connect(&x, srv.socket_path, nvec);
		tp_expect_refused(&x);
		tp_close(&x);
		refused++;
	}
	tp_expect_quiet(&w, 100);
	if (spare)
		srv_log_wait(srv.log_path, "refused peer",
			     "cannot create its eventfds", TP_TIMEOUT_MS);
	else
		srv_log_wait(srv.log_path, "refused a peer", "open files",
			     TP_TIMEOUT_MS);
	srv_alive(&srv);

	/* Some leave: as many join again, with a complete setup. */
	for (int i = 0; i < LEAVE; i++) {
		tp_close(&held[--nheld]);
		tp_expect_leave(&w, held[nheld].id);
	}
	for (int i = 0; i < LEAVE; i++) {
		tp_join(&x, srv.socket_path, nvec, others, MAX_TRY + 1, &n);
		expect_setup(&x, others, n, &w, held, nheld);
		tp_expect_join(&w, x.id);
		held[nheld++] = x;
	}
	CHECK(nheld == most, "%d peers now, %d before", nheld, most);
	/* ...and one more is refused again. */
	tp_connect(&x, srv.socket_path, nvec);
	tp_expect_refused(&x);
	tp_close(&x);
	refused++;
	tp_expect_quiet(&w, 50);

	while (nheld) {
		tp_close(&held[--nheld]);
		tp_expect_leave(&w, held[nheld].id);
	}
	tp_close(&w);
	srv_alive(&srv);
	printf("%u vector%s, %u spare: %d fds held %d peers and the watcher, "
	       "%d refused %s\n", nvec, nvec == 1 ? "" : "s", spare, fds, most,
	       refused, spare == 0 ? "at accept" : spare == 1 ?
	       "at the first eventfd" : "at a later eventfd");
	CHECK(tu_server_stop(&srv) == 0, "server exit status, see %s",
	      srv.log_path);
}

int main(void)
{
	run(1, 0);
	run(1, 1);
	run(3, 0);
	run(3, 2);
	printf("ok\n");
	return 0;
}
