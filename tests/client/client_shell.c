/* SPDX-License-Identifier: MIT */
/*
 * The interactive shell with commands from a pipe: help, dump, int, an
 * unknown command; joins, leaves and notifications as they come, the
 * latter without claiming a sender; EOF ends it with 0 and no spinning;
 * the server going ends it with 1 and a message.
 */
#include <string.h>

#include "clienttest.h"

#define NVEC 2
#define CPU_MAX_S 0.2

static struct tu_server s;
static struct ivshmem *p;	/* a peer for it to see and ring */
static int pid_;		/* p's id */

static struct ct_proc *spawn(const char *socket_path)
{
	struct ct_proc *c = calloc(1, sizeof(*c));

	CHECK(c, "out of memory");
	ct_spawn(c, ARGV(ct_client_bin(), "-S", socket_path, "-n", "2"));
	CHECK(ct_expect(c, "joined as peer ", 10000), "no start:\n%s",
	      c->buf);
	return c;
}

/* Send a command and expect text in what it prints. */
static void cmd(struct ct_proc *c, const char *line, const char *want)
{
	ct_send(c, line);
	CHECK(ct_expect(c, want, 5000), "'%.*s': no '%s' in:\n%s",
	      (int)strcspn(line, "\n"), line, want, c->buf + c->pos);
}

/* p's vectors were rung exactly this often since the last look. */
static void rung(int v0, int v1)
{
	int n[NVEC];

	/* The shell said "rang" after ringing: the counts are in. */
	ct_peer_acks(p, n);
	CHECK(n[0] == v0 && n[1] == v1, "vectors rung %d, %d times, not "
	      "%d, %d", n[0], n[1], v0, v1);
}

static void commands(void)
{
	struct ct_proc *c = spawn(s.socket_path);
	struct ivshmem *q;
	char line[128], note[256];
	size_t start;
	int id, qid;

	id = ct_peer_event(p, IVSHMEM_EV_PEER_JOINED, -1, 5000);
	CHECK(id >= 0, "its join was not seen");
	/* p was there first: not told as a join that never happened. */
	snprintf(line, sizeof(line), "peer %d joined", pid_);
	ct_drain(c, 200);
	CHECK(!strstr(c->buf, line), "'%s' for a peer already there:\n%s",
	      line, c->buf);
	snprintf(line, sizeof(line), "peer %d is here (2 vectors)\n", pid_);
	CHECK(strstr(c->buf, line), "no '%s' in:\n%s", line, c->buf);

	cmd(c, "help\n", "int PEER VECTOR");
	CHECK(ct_expect(c, "int all", 1000), "help:\n%s", c->buf);

	snprintf(line, sizeof(line), "own id: %d\n", id);
	cmd(c, "dump\n", line);
	snprintf(line, sizeof(line), "peer %d: 2 vectors", pid_);
	CHECK(ct_expect(c, line, 1000), "dump:\n%s", c->buf);

	snprintf(line, sizeof(line), "int %d 1\n", pid_);
	cmd(c, line, "rang");
	rung(0, 1);
	snprintf(line, sizeof(line), "int %d all\n", pid_);
	cmd(c, line, "rang");
	rung(1, 1);
	cmd(c, "int all\n", "rang");
	rung(1, 1);
	cmd(c, "  int\t all  \n", "rang");
	rung(1, 1);

	cmd(c, "int 999 0\n", "no peer 999");
	snprintf(line, sizeof(line), "int %d 2\n", pid_);
	cmd(c, line, "has no vector 2");
	cmd(c, "int 1\n", "usage: int PEER VECTOR");
	cmd(c, "int x y\n", "usage: int PEER VECTOR");
	cmd(c, "frobnicate now\n", "unknown command 'frobnicate'");
	cmd(c, "\n\n   \n", "");
	rung(0, 0);

	/* Others coming and going. */
	q = ct_peer(s.socket_path, NVEC);
	qid = ivshmem_id(q);
	snprintf(line, sizeof(line), "peer %d joined (2 vectors)", qid);
	CHECK(ct_expect(c, line, 5000), "no '%s' in:\n%s", line, c->buf);
	ivshmem_close(q);
	snprintf(line, sizeof(line), "peer %d left", qid);
	CHECK(ct_expect(c, line, 5000), "no '%s' in:\n%s", line, c->buf);

	/* A doorbell: told, with no sender made up (eventfds carry none). */
	CHECK(ivshmem_ring(p, id, 1) == 0, "ring");
	CHECK(ct_expect(c, "notification on our vector 1", 5000),
	      "no notification:\n%s", c->buf);
	start = c->pos - strlen("notification on our vector 1");
	CHECK(ct_expect(c, "\n", 1000), "no end of line:\n%s", c->buf);
	snprintf(note, sizeof(note), "%.*s", (int)(c->pos - 1 - start),
		 c->buf + start);
	snprintf(line, sizeof(line), "peer %d", pid_);
	CHECK(!strstr(note, "from") && !strstr(note, line),
	      "a sender is claimed: '%s'", note);

	/* Idle, it sleeps; at EOF it ends, cleanly, and still does not spin. */
	ct_drain(c, 1500);
	CHECK(ct_cpu_s(c->pid) < CPU_MAX_S, "%.2f s of CPU when idle",
	      ct_cpu_s(c->pid));
	ct_close_in(c);
	CHECK(ct_wait_exit(c, 3000) == 0, "EOF: exit %d:\n%s", c->status,
	      c->buf);
	CHECK(c->cpu_s < CPU_MAX_S, "%.2f s of CPU in all", c->cpu_s);
	CHECK(ct_peer_event(p, IVSHMEM_EV_PEER_LEFT, id, 5000) == id,
	      "it did not leave");
	ct_finish(c);
	free(c);
}

/* EOF right away, and EOF after a last line with no newline. */
static void eof(void)
{
	struct ct_proc *c = spawn(s.socket_path);

	ct_close_in(c);
	CHECK(ct_wait_exit(c, 3000) == 0, "EOF: exit %d:\n%s", c->status,
	      c->buf);
	CHECK(c->cpu_s < CPU_MAX_S, "%.2f s of CPU", c->cpu_s);
	ct_finish(c);
	free(c);

	c = spawn(s.socket_path);
	ct_send(c, "dump");
	ct_close_in(c);
	CHECK(ct_wait_exit(c, 3000) == 0, "EOF: exit %d:\n%s", c->status,
	      c->buf);
	CHECK(strstr(c->buf, "own id: "), "the last line did not run:\n%s",
	      c->buf);
	ct_finish(c);
	free(c);

	c = spawn(s.socket_path);
	ct_send(c, "quit\n");
	CHECK(ct_wait_exit(c, 3000) == 0, "quit: exit %d:\n%s", c->status,
	      c->buf);
	ct_finish(c);
	free(c);
}

/* With stdin still open, the server goes: exit 1, saying so. */
static void server_goes(void)
{
	struct tu_server s2;
	struct ct_proc *c;

	tu_server_start(&s2, NULL);
	c = spawn(s2.socket_path);
	tu_server_stop(&s2);
	CHECK(ct_wait_exit(c, 3000) == 1, "exit %d when the server went:\n%s",
	      c->status, c->buf);
	CHECK(strstr(c->buf, "server"), "no message:\n%s", c->buf);
	CHECK(c->cpu_s < CPU_MAX_S, "%.2f s of CPU", c->cpu_s);
	ct_finish(c);
	free(c);
}

int main(void)
{
	tu_server_start(&s, ARGV("-n", "2"));
	p = ct_peer(s.socket_path, NVEC);
	pid_ = ivshmem_id(p);

	commands();
	eof();
	server_goes();
	ivshmem_close(p);
	return 0;
}
