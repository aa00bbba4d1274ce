/* SPDX-License-Identifier: MIT */
/*
 * ivshmem-ctl mailbox's integrity counters (issue 15, item 5): two real
 * `ipm-shell -m mailbox` on a real server. A sends B three messages; with
 * B stopped, A queues three more and the test scribbles the first one's
 * checksum in the region. The view, read-only, then finds the queue's
 * three pending records: two valid, one that fails its checksum. B goes
 * on: it refuses the scribbled record (corrupt), the next one shows the
 * gap (lost), and at its next heartbeat the view shows the counters B
 * published: delivered equal to what B printed, corrupt 1, lost 1. A copy
 * of the region with garbage in B's counters shows them as bad_check, not
 * as numbers; zeroed (a peer of an older build), as absent.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipmc_layout.h"
#include "shm_access.h"
#include "srvtest.h"

struct shell {
	pid_t pid;
	int in;
	char out[256];
};

static void shell_start(struct shell *sh, const char *sock, const char *name)
{
	int p[2], fd;

	snprintf(sh->out, sizeof(sh->out), "%s/%s.out", tu_tmpdir(), name);
	fd = open(sh->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0 && pipe2(p, O_CLOEXEC) == 0, "pipe");
	sh->pid = fork();
	CHECK(sh->pid >= 0, "fork");
	if (sh->pid == 0) {
		if (dup2(p[0], 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execl(tu_bin("tools/ipm-shell"), "ipm-shell", "-S", sock, "-m",
		      "mailbox", "--slots", "2", (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	close(fd);
	sh->in = p[1];
}

static void shell_cmd(struct shell *sh, const char *line)
{
	size_t n = strlen(line);

	CHECK(write(sh->in, line, n) == (ssize_t)n, "write to the shell");
}

/* What the shell printed so far (NUL-terminated, static). */
static const char *shell_output(const struct shell *sh)
{
	static char buf[65536];
	int fd = open(sh->out, O_RDONLY);
	ssize_t n;

	CHECK(fd >= 0, "open %s", sh->out);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

static int count_of(const char *text, const char *what)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

/* Wait until the shell printed 'what' at least n times. */
static void shell_expect(struct shell *sh, const char *what, int n)
{
	for (int i = 0; i < 200; i++) {
		if (count_of(shell_output(sh), what) >= n)
			return;
		usleep(50000);
	}
	CHECK(0, "the shell did not print '%s' %d times: %s", what, n,
	      shell_output(sh));
}

static int shell_id(struct shell *sh)
{
	const char *p;
	int id = -1;

	shell_cmd(sh, "ivshmem\n");
	shell_expect(sh, "Peer id: ", 1);
	p = strstr(shell_output(sh), "Peer id: ");
	CHECK(sscanf(p, "Peer id: %d", &id) == 1, "peer id");
	return id;
}

static void shell_stop(struct shell *sh)
{
	int status;

	shell_cmd(sh, "quit\n");
	close(sh->in);
	CHECK(waitpid(sh->pid, &status, 0) == sh->pid, "waitpid");
}

static int ctl(const char *const *argv, char *out, size_t len)
{
	return tu_run(argv, out, len, 30);
}

/* Peer id's slot in a --json view; its "counters" object, or NULL. */
static const char *counters_of(const char *json, int id)
{
	char want[32];
	const char *p;

	snprintf(want, sizeof(want), "\"peer\":%d,", id);
	p = strstr(json, want);
	return p ? strstr(p, "\"counters\":") : NULL;
}

struct counters {
	unsigned delivered, lost, corrupt, replayed, withdrawn, foreign;
	unsigned dropped, send_withdrawn;
};

static int parse_counters(const char *c, struct counters *n)
{
	return sscanf(c, "\"counters\":{\"state\":\"published\","
		      "\"delivered\":%u,\"lost\":%u,\"corrupt\":%u,"
		      "\"replayed\":%u,\"withdrawn\":%u,\"foreign\":%u,"
		      "\"dropped\":%u,\"send_withdrawn\":%u}", &n->delivered,
		      &n->lost, &n->corrupt, &n->replayed, &n->withdrawn,
		      &n->foreign, &n->dropped, &n->send_withdrawn) == 8;
}

static struct ipmc_slot *slot_of(uint8_t *base, unsigned slots, int id)
{
	for (unsigned s = 0; s < slots; s++) {
		struct ipmc_slot *sl =
			(struct ipmc_slot *)(base + IPMC_LINE) + s;

		if (ipmc_token_id(shm_load_acquire(&sl->owner)) == id)
			return sl;
	}
	CHECK(0, "peer %d holds no slot", id);
}

static uint8_t *snap;
static size_t snap_len;
static size_t b_stats; /* offset of B's counters in the region */

static void live(void)
{
	static char out[65536];
	const char *argv[8] = { tu_bin("tools/ivshmem-ctl") };
	struct tu_server srv;
	struct shell a, b;
	struct ipmc_geometry g;
	struct ipmc_qctl *q;
	struct ipmc_rec *rec;
	struct counters n;
	struct stat st;
	uint8_t *base;
	uint64_t head, tail;
	unsigned sa, sb;
	char line[64];
	int ida, idb, fd, rc, got = 0;
	unsigned printed;

	tu_server_start(&srv, (const char *[]){ "-n", "1", NULL });
	shell_start(&a, srv.socket_path, "a");
	ida = shell_id(&a);
	shell_start(&b, srv.socket_path, "b");
	idb = shell_id(&b);

	fd = shm_open(srv.shm_name, O_RDWR, 0);
	CHECK(fd >= 0 && fstat(fd, &st) == 0, "shm_open %s: %s", srv.shm_name,
	      strerror(errno));
	snap_len = (size_t)st.st_size;
	base = mmap(NULL, snap_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		    0);
	CHECK(base != MAP_FAILED, "mmap");
	close(fd);
	CHECK(ipmc_geometry(&g, snap_len, 2) == 0, "geometry");
	sa = (unsigned)(slot_of(base, 2, ida) - (struct ipmc_slot *)(base +
								   IPMC_LINE));
	sb = !sa;
	q = (struct ipmc_qctl *)(base + g.queue_offset +
		ipmc_queue_index(2, sa, sb) * g.queue_stride);

	/* Three delivered and completed. */
	for (int i = 1; i <= 3; i++) {
		snprintf(line, sizeof(line), "send %d hello-%d\n", idb, i);
		shell_cmd(&a, line);
		shell_expect(&a, "completed by the receiver", i);
	}
	shell_expect(&b, "Received 7 bytes from peer", 3);

	/* B stopped: three more queued (zero-length, non-blocking). */
	CHECK(kill(b.pid, SIGSTOP) == 0, "SIGSTOP");
	tail = shm_load_acquire(&q->head);
	snprintf(line, sizeof(line), "ivshmem_ipm_send %d\n", idb);
	for (int i = 0; i < 3; i++)
		shell_cmd(&a, line);
	for (int i = 0; i < 200 && shm_load_acquire(&q->head) < tail +
	     3 * ipmc_rec_size(0); i++)
		usleep(10000);
	head = shm_load_acquire(&q->head);
	CHECK(head == tail + 3 * ipmc_rec_size(0), "A queued %llu bytes",
	      (unsigned long long)(head - tail));
	/* The first one's checksum scribbled on. */
	rec = (struct ipmc_rec *)(base + g.queue_offset + IPMC_QUEUE_CTL +
		ipmc_queue_index(2, sa, sb) * g.queue_stride +
		tail % g.queue_cap);
	CHECK(rec->type == IPMC_REC_MSG && rec->len == 0, "no record at %llu",
	      (unsigned long long)tail);
	rec->sum ^= 0x100;

	argv[1] = "-S";
	argv[2] = srv.socket_path;
	argv[3] = "mailbox";
	rc = ctl(argv, out, sizeof(out));
	printf("B stopped, the first of its 3 pending records scribbled:\n"
	       "%s", out);
	CHECK(rc == 1 && strstr(out, "2/1/0"), "the view: %d: %s", rc, out);
	argv[3] = "--json";
	argv[4] = "mailbox";
	rc = ctl(argv, out, sizeof(out));
	snprintf(line, sizeof(line), "\"from\":%u,\"to\":%u,", sa, sb);
	CHECK(rc == 1 && strstr(out, line) && strstr(strstr(out, line),
	      "\"records\":{\"valid\":2,\"invalid\":1,\"withdrawn\":0,"
	      "\"unwalked_bytes\":0}"), "--json: %d: %s", rc, out);

	/* B goes on: 1 refused (corrupt), then a gap of 1 (lost). */
	CHECK(kill(b.pid, SIGCONT) == 0, "SIGCONT");
	shell_expect(&b, "Received IPM notification over IVSHMEM", 2);
	printed = count_of(shell_output(&b), "Received 7 bytes") +
		  count_of(shell_output(&b), "Received IPM notification");
	/* Its next heartbeat (every 250 ms) publishes them (one between
	 * two deliveries may come first). */
	for (int i = 0; i < 100 && !got; i++) {
		const char *c;

		rc = ctl(argv, out, sizeof(out));
		c = counters_of(out, idb);
		CHECK(c, "no counters for peer %d: %s", idb, out);
		got = parse_counters(c, &n) && n.corrupt > 0 &&
		      n.delivered == printed;
		if (!got)
			usleep(50000);
	}
	CHECK(got, "B's counters never showed the corrupt record and the "
	      "%u messages it printed: %s", printed, counters_of(out, idb));
	CHECK(rc == 0 && strstr(out, "\"consistent\":true"), "after: %d: %s",
	      rc, out);
	CHECK(n.delivered == 5 && n.corrupt == 1 && n.lost == 1 &&
	      !n.replayed && !n.withdrawn && !n.foreign && !n.dropped &&
	      !n.send_withdrawn, "B's counters: %s", counters_of(out, idb));
	CHECK(parse_counters(counters_of(out, ida), &n) && n.delivered == 0 &&
	      !n.corrupt && !n.lost, "A's counters: %s",
	      counters_of(out, ida));
	argv[3] = "mailbox";
	argv[4] = NULL;
	rc = ctl(argv, out, sizeof(out));
	printf("B went on, the view after its heartbeat:\n%s", out);
	CHECK(rc == 0, "the view: %d", rc);

	/* A copy, for the garbage below. */
	snap = malloc(snap_len);
	CHECK(snap, "malloc");
	memcpy(snap, base, snap_len);
	b_stats = (size_t)((uint8_t *)slot_of(base, 2, idb)->stats - base);
	munmap(base, snap_len);
	shell_stop(&a);
	shell_stop(&b);
	CHECK(tu_server_stop(&srv) == 0, "server exit status");
}

/* The copy with B's counters replaced by words: the view's --json. */
static const char *view_with(const uint64_t w[4], int *rc)
{
	static char out[65536];
	char path[256];
	const char *argv[] = { tu_bin("tools/ivshmem-ctl"), "-i", "0", "-r",
			       path, "--json", "mailbox", NULL };
	int fd;

	snprintf(path, sizeof(path), "%s/region", tu_tmpdir());
	memcpy(snap + b_stats, w, 4 * sizeof(*w));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, snap, snap_len) == (ssize_t)snap_len &&
	      !close(fd), "write %s", path);
	*rc = ctl(argv, out, sizeof(out));
	return out;
}

static void garbage(void)
{
	uint64_t w[4], rng = 0x9e3779b97f4a7c15ull;
	const char *out;
	int rc;

	memcpy(w, snap + b_stats, sizeof(w));
	out = view_with(w, &rc);
	CHECK(rc == 0 && strstr(out, "\"delivered\":5,"), "the copy: %d: %s",
	      rc, out);
	for (int round = 0; round < 50; round++) {
		memcpy(w, snap + b_stats, sizeof(w));
		for (int k = 0; k <= round % 4; k++) {
			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			/* Small numbers, then whole random words. */
			w[rng % 4] ^= round < 25 ? (rng >> 32) % 7 + 1 : rng;
		}
		out = view_with(w, &rc);
		CHECK(rc == 1 && strstr(out, "\"counters\":{\"state\":"
					"\"bad_check\"}"),
		      "garbage in B's counters: %d: %s", rc, out);
	}
	memset(w, 0, sizeof(w));
	out = view_with(w, &rc);
	CHECK(rc == 0 && strstr(out, "\"counters\":{\"state\":\"absent\"}"),
	      "zeroed counters: %d: %s", rc, out);
	printf("B's counters replaced by garbage in a copy of the region: "
	       "bad_check all 50 times, no numbers; zeroed: absent\n");
}

int main(void)
{
	live();
	garbage();
	free(snap);
	printf("server_ctl_counters: ok\n");
	return 0;
}
