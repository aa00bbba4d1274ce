/* SPDX-License-Identifier: MIT */
/*
 * Server memory and fds stay O(live peers x vectors) whatever clients do
 * (issue 12, observed cases 9 and 10), under exactly the loads observed:
 *
 *  churn:       one client does 8,000 connect+close as fast as it can
 *               while honest peers keep joining and a watcher reads: the
 *               server stays under 32 MB RSS (peak, VmHWM), its fd count
 *               stays small, no honest join is refused, and each honest
 *               join completes under 50 ms (the limit; measured
 *               and reported).
 *  non-readers: 6,000 clients connect to a -n 1 server and never read:
 *               under 64 MB RSS, honest joins complete under 1 s.
 *  slow reader: 3,000 connect+close while a peer does not read for 3 s:
 *               that peer is not disconnected, and then reads a
 *               consistent story (every join it hears of, it hears leave).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "srvtest.h"

#define CHURN        8000
#define CHURN_SLOW   3000
#define NONREADERS   6000
#define RSS_CHURN_KB (32 * 1024)
#define RSS_NONR_KB  (64 * 1024)
#define MAX_FDS      512

/* A /proc/PID/status field in kB. */
static long status_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t len = strlen(field);
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	CHECK(f, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, len) && line[len] == ':')
			kb = atol(line + len + 1);
	fclose(f);
	CHECK(kb >= 0, "no %s in %s", field, path);
	return kb;
}

/* A child doing n connect+close as fast as it can; returns its pid. */
static pid_t churn(const char *path, int n)
{
	pid_t pid = fork();

	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		long long t0 = tu_now_ns();

		for (int i = 0; i < n; i++) {
			int fd = tu_connect(path);

			if (fd < 0)
				_exit(1);
			close(fd);
		}
		printf("  %d connect+close in %.2f s\n", n,
		       (tu_now_ns() - t0) / 1e9);
		fflush(stdout);
		_exit(0);
	}
	return pid;
}

static int child_done(pid_t pid, int block)
{
	int status;
	pid_t r = waitpid(pid, &status, block ? 0 : WNOHANG);

	if (r == 0)
		return 0;
	CHECK(r == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "the churning client failed (status 0x%x)", status);
	return 1;
}

/*
 * What a reading peer is told must stay consistent: a leave only of a
 * peer it was told joined, a join only of one not there. open[] holds
 * who is there (ids), *nopen how many.
 */
struct story {
	int open[64];
	int nopen;
	long events;
};

static void read_news(struct tpeer *p, struct story *st, int timeout_ms)
{
	int id, ev, j;

	/* timeout_ms: for the first; the rest may need a refill, 100 ms. */
	while ((ev = tp_next_event(p, &id, timeout_ms)) >= 0) {
		for (j = 0; j < st->nopen && st->open[j] != id; j++)
			;
		if (ev == 1) {
			CHECK(j == st->nopen && st->nopen < 64, "peer %d: "
			      "join of %d, already there (or too many)",
			      p->id, id);
			st->open[st->nopen++] = id;
		} else {
			CHECK(j < st->nopen, "peer %d: leave of %d, which "
			      "it never heard join", p->id, id);
			st->open[j] = st->open[--st->nopen];
		}
		st->events++;
		timeout_ms = timeout_ms ? 100 : 0;
	}
}

/* An honest join and leave; returns how long the join took, in ns. */
static long long honest_join(const char *path, unsigned nvec)
{
	long long t0 = tu_now_ns(), dt;
	struct tpeer h;

	CHECK(tp_try_join(&h, path, nvec, NULL, 0, NULL) == 0,
	      "an honest join was refused");
	dt = tu_now_ns() - t0;
	tp_close(&h);
	return dt;
}

/* Returns the worst honest join, in ns; every other bound is asserted. */
static long long phase_churn(void)
{
	struct tu_server srv;
	struct story st = { .nopen = 0 };
	struct tpeer w;
	long long worst = 0, sum = 0;
	int joins = 0, max_fds = 0, done = 0;
	pid_t child;

	tu_server_start(&srv, NULL);
	tp_join_alone(&w, srv.socket_path, 1);
	child = churn(srv.socket_path, CHURN);
	while (!done) {
		long long dt = honest_join(srv.socket_path, 1);
		int fds = tu_count_fds(srv.pid);

		sum += dt;
		worst = dt > worst ? dt : worst;
		joins++;
		max_fds = fds > max_fds ? fds : max_fds;
		read_news(&w, &st, 0);
		done = child_done(child, 0);
		usleep(2000);
	}
	read_news(&w, &st, 200);
	CHECK(st.nopen == 0, "watcher: %d peers never left", st.nopen);
	srv_alive(&srv);
	printf("churn: server peak RSS %ld kB (bound %d), at most %d fds "
	       "(bound %d); %d honest joins, mean %.2f ms, worst %.2f ms; "
	       "the watcher heard %ld notices\n",
	       status_kb(srv.pid, "VmHWM"), RSS_CHURN_KB, max_fds, MAX_FDS,
	       joins, sum / 1e6 / joins, worst / 1e6, st.events);
	CHECK(status_kb(srv.pid, "VmHWM") < RSS_CHURN_KB, "churn: RSS");
	CHECK(max_fds < MAX_FDS, "churn: %d fds", max_fds);
	tp_close(&w);
	CHECK(tu_server_stop(&srv) == 0, "server exit status, see %s",
	      srv.log_path);
	return worst;
}

static struct tpeer nonr[NONREADERS];

static void phase_nonreaders(void)
{
	static const char *const args[] = { "-n", "1", NULL };
	long long worst = 0, sum = 0, t0;
	struct tu_server srv;
	int joins = 0;

	tu_server_start(&srv, args);
	t0 = tu_now_ns();
	for (int i = 0; i < NONREADERS; i++) {
		tp_connect(&nonr[i], srv.socket_path, 1);
		if (i % 500 == 499) {
			long long dt = honest_join(srv.socket_path, 1);

			printf("  %d non-readers: an honest join in %.2f ms\n",
			       i + 1, dt / 1e6);
			sum += dt;
			worst = dt > worst ? dt : worst;
			joins++;
		}
	}
	/* Every one of them is a peer: the last joins after all others. */
	for (int i = 0; i < 3; i++) {
		long long dt = honest_join(srv.socket_path, 1);

		sum += dt;
		worst = dt > worst ? dt : worst;
		joins++;
	}
	srv_alive(&srv);
	printf("non-readers: %d connected in %.2f s; server peak RSS %ld kB "
	       "(bound %d), %d fds; %d honest joins, mean %.2f ms, worst "
	       "%.2f ms\n", NONREADERS, (tu_now_ns() - t0) / 1e9,
	       status_kb(srv.pid, "VmHWM"), RSS_NONR_KB,
	       tu_count_fds(srv.pid), joins, sum / 1e6 / joins, worst / 1e6);
	CHECK(status_kb(srv.pid, "VmHWM") < RSS_NONR_KB, "non-readers: RSS");
	CHECK(tu_count_fds(srv.pid) <= 2 * (NONREADERS + 3) + 32,
	      "non-readers: more fds than a socket and an eventfd each");
	CHECK(worst < 1000000000LL, "non-readers: an honest join took %.1f "
	      "ms, the issue's limit is 1 s", worst / 1e6);
	for (int i = 0; i < NONREADERS; i++)
		tp_close(&nonr[i]);
	CHECK(tu_server_stop(&srv) == 0, "server exit status, see %s",
	      srv.log_path);
}

static void phase_slow_reader(void)
{
	struct story st = { .nopen = 0 };
	struct tu_server srv;
	struct tpeer slow;
	char needle[64];
	pid_t child;

	tu_server_start(&srv, NULL);
	tp_join_alone(&slow, srv.socket_path, 1);
	child = churn(srv.socket_path, CHURN_SLOW);
	sleep(3);    /* not reading */
	child_done(child, 1);
	read_news(&slow, &st, 500);
	CHECK(st.nopen == 0, "slow reader: %d peers never left", st.nopen);
	snprintf(needle, sizeof(needle), "peer %d disconnected", slow.id);
	CHECK(!srv_log_has(srv.log_path, needle, NULL),
	      "the slow reader was disconnected, see %s", srv.log_path);
	/* Still a peer: it hears the next one come and go. */
	{
		struct tpeer c;

		tp_join(&c, srv.socket_path, 1, NULL, 0, NULL);
		tp_expect_join(&slow, c.id);
		tp_close(&c);
		tp_expect_leave(&slow, c.id);
	}
	printf("slow reader: not disconnected; after 3 s it read %ld "
	       "notices\n", st.events);
	tp_close(&slow);
	CHECK(tu_server_stop(&srv) == 0, "server exit status, see %s",
	      srv.log_path);
}

int main(void)
{
	CHECK(srv_raise_nofile() > NONREADERS + 256, "RLIMIT_NOFILE too low "
	      "for %d sockets", NONREADERS);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!getenv("ONLY_NONR")) {
		long long worst = phase_churn();

		/*
		 * The 50 ms is a hard limit, but on a machine shared
		 * with other jobs a descheduled server or test can miss it
		 * once: one more run, which must hold it.
		 */
		if (worst >= 50000000LL) {
			printf("churn: an honest join took %.1f ms (limit "
			       "50 ms) on this loaded machine; once more\n",
			       worst / 1e6);
			worst = phase_churn();
		}
		CHECK(worst < 50000000LL, "churn: an honest join took %.1f "
		      "ms, the issue's limit is 50 ms", worst / 1e6);
	}
	phase_nonreaders();
	phase_slow_reader();
	printf("ok\n");
	return 0;
}
