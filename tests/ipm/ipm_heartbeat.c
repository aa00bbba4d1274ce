/* SPDX-License-Identifier: MIT */
/*
 * Presence from heartbeats, as in a guest: A's transport is the host one
 * with its presence news hidden (a guest's PCI device has none). When B is
 * SIGKILLed, A must stop listing it and get -ENOTCONN within the dead
 * threshold, never hang; a new peer then gets B's slot.
 * ipm_heartbeat_loop (HEARTBEAT_EVENT_LOOP): B is an event loop instead
 * (ipm_fds, poll() for ipm_timeout(), ipm_process()) with no traffic: its
 * heartbeat must keep it listed all the same, and it must not spin (its
 * CPU time over those seconds stays under one).
 */
#include <poll.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipmtest.h"

/* The host transport, minus what a guest cannot know. */
struct blind {
	struct ivshm_transport t;
	struct ivshm_transport *inner;
};

static struct ivshm_transport *inner(struct ivshm_transport *t)
{
	return ((struct blind *)t)->inner;
}

static int b_ring(struct ivshm_transport *t, int peer, unsigned vector)
{
	return inner(t)->ops->ring(inner(t), peer, vector);
}

static int b_vector_fd(struct ivshm_transport *t, unsigned vector)
{
	return inner(t)->ops->vector_fd(inner(t), vector);
}

static int b_ack(struct ivshm_transport *t, unsigned vector)
{
	return inner(t)->ops->ack(inner(t), vector);
}

static int b_presence_fd(struct ivshm_transport *t)
{
	(void)t;
	return -ENOTSUP;
}

static int b_next_presence(struct ivshm_transport *t, int *peer, int *what)
{
	(void)t;
	(void)peer;
	(void)what;
	return -ENOTSUP;
}

static int b_peer_live(struct ivshm_transport *t, int peer)
{
	return peer == t->id ? 1 : -ENOTSUP;
}

static void b_close(struct ivshm_transport *t)
{
	ivshm_transport_close(inner(t));
	free(t);
}

static const struct ivshm_transport_ops blind_ops = {
	.name = "blind", .ring = b_ring, .vector_fd = b_vector_fd,
	.ack = b_ack, .presence_fd = b_presence_fd,
	.next_presence = b_next_presence, .peer_live = b_peer_live,
	.close = b_close,
};

static struct ipm *open_blind(const char *sock, const struct ipm_config *cfg)
{
	struct blind *b = calloc(1, sizeof(*b));
	struct ipm *ipm;

	IT_CHECK(b, "calloc");
	IT_CHECK(ivshm_transport_host_open(&b->inner, sock, 1, 5000) == 0,
		 "host transport");
	b->t = *b->inner;
	b->t.ops = &blind_ops;
	IT_CHECK(ipm_open(&ipm, &b->t, cfg) == 0, "ipm_open");
	return ipm;
}

#ifdef HEARTBEAT_EVENT_LOOP
/* A process's CPU time so far (user + system), in ms: /proc/PID/stat. */
static long long cpu_ms(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	IT_CHECK(f && fgets(buf, sizeof(buf), f), "%s", path);
	fclose(f);
	p = strrchr(buf, ')'); /* the name may hold spaces */
	IT_CHECK(p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u "
			     "%*u %*u %llu %llu", &ut, &st) == 2, "%s", path);
	return (long long)(ut + st) * 1000 / sysconf(_SC_CLK_TCK);
}
#endif

static int listed(struct ipm *ipm, int id)
{
	int ids[64], n = ipm_peers(ipm, ids, 64);

	for (int i = 0; i < n && i < 64; i++)
		if (ids[i] == id)
			return 1;
	return 0;
}

int main(void)
{
	struct ipm_config cfg = {
		.mode = IPM_MODE_MAILBOX, .slots = 2,
		.send_timeout_ms = 20000,
	};
	struct tu_server srv;
	struct ipm *a, *c;
	int pipefd[2], b_id, rc;
	long long t0, end;
	pid_t pid;

	it_init();
	it_server(&srv, NULL, 1);
	a = open_blind(srv.socket_path, &cfg);
	IT_CHECK(pipe(pipefd) == 0, "pipe");
	pid = fork();
	IT_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		struct ipm *b = it_open(srv.socket_path, &cfg);

		it_put_int(pipefd[1], it_id(b));
#ifdef HEARTBEAT_EVENT_LOOP
		for (;;) {
			struct pollfd fds[4];
			int n = ipm_fds(b, fds, 4);

			/* Never longer than it says: the heartbeat is due. */
			poll(fds, (nfds_t)n, ipm_timeout(b));
			ipm_process(b);
		}
#else
		for (;;)
			ipm_poll(b, 100); /* alive: heartbeats */
#endif
	}
	b_id = it_get_int(pipefd[0], 10000);
	/* Alive and beating: listed, and stays listed past the threshold. */
	end = tu_now_ns() + (5000 + 1000) * 1000000LL;
	while (tu_now_ns() < end) {
		IT_CHECK(listed(a, b_id), "live peer %d not listed", b_id);
		ipm_poll(a, 200);
	}
	IT_CHECK(ipm_send(a, 1, (uint32_t)b_id, "x", 1) == 0,
		 "send to a live peer");
#ifdef HEARTBEAT_EVENT_LOOP
	{
		long long used = cpu_ms(pid);

		it_log("the event loop used %lld ms of CPU in 6 s", used);
		IT_CHECK(used < 1000, "an idle event loop spins: %lld ms of "
			 "CPU in 6 s", used);
	}
#endif

	kill(pid, SIGKILL);
	IT_CHECK(waitpid(pid, NULL, 0) == pid, "waitpid");
	/* A blocking send to the dead peer ends with -ENOTCONN, not a hang
	 * and not the 20 s timeout. */
	t0 = tu_now_ns();
	do
		rc = ipm_send(a, 1, (uint32_t)b_id, "y", 1);
	while (rc == 0 && tu_now_ns() - t0 < 15000000000LL);
	IT_CHECK(rc == -ENOTCONN, "send to a dead peer: %d", rc);
	IT_CHECK(!listed(a, b_id), "dead peer still listed");
	it_log("dead peer noticed after %lld ms",
	       (tu_now_ns() - t0) / 1000000);

	/* Its slot (2 slots) is free for a newcomer. */
	rc = it_try_open(&c, srv.socket_path, &cfg);
	IT_CHECK(rc == 0, "newcomer: %d", rc);
	IT_CHECK(ipm_send(c, 0, (uint32_t)it_id(a), "z", 1) == 0,
		 "newcomer sends");
	ipm_close(c);
	ipm_close(a);
	IT_CHECK(tu_server_stop(&srv) == 0, "server exit status");
	return 0;
}
