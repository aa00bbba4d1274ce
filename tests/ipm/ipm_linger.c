/* SPDX-License-Identifier: MIT */
/*
 * What a sender published before it left is still delivered: after a
 * clean ipm_close() and after SIGKILL, as long as nobody took its slot.
 */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipmtest.h"

#define COUNT 40
#define SIZE 1000

struct got {
	int n;
	int from;
	int bad;
};

static void on_msg(struct ipm *ipm, void *user, uint32_t id,
		   const volatile void *data, size_t size)
{
	struct got *g = user;
	uint8_t buf[SIZE];
	uint64_t seq = (uint64_t)g->n;

	(void)ipm;
	memcpy(buf, (const void *)data, size < SIZE ? size : SIZE);
	if ((int)id != g->from || size != SIZE ||
	    it_msg_check(buf, size, 7, &seq) != IT_MSG_OK ||
	    seq != (uint64_t)g->n)
		g->bad++;
	g->n++;
}

static void send_all(struct ipm *a, int to)
{
	uint8_t buf[SIZE];

	for (int i = 0; i < COUNT; i++) {
		it_msg_make(buf, SIZE, 7, (uint64_t)i);
		IT_CHECK(ipm_send(a, 0, (uint32_t)to, buf, SIZE) == 0,
			 "send %d", i);
	}
}

static void receive_all(struct ipm *b, struct got *g)
{
	long long end = tu_now_ns() + 5000000000LL;

	while (g->n < COUNT && tu_now_ns() < end)
		IT_CHECK(ipm_poll(b, 100) >= 0, "poll");
	IT_CHECK(g->n == COUNT && g->bad == 0, "got %d of %d, %d bad", g->n,
		 COUNT, g->bad);
}

int main(void)
{
	struct ipm_config cfg = { .mode = IPM_MODE_MAILBOX };
	struct tu_server srv;
	struct got g = { 0 };
	struct ipm *a, *b;
	int pipefd[2];
	pid_t pid;

	it_init();
	it_server(&srv, NULL, 1);
	b = it_open(srv.socket_path, &cfg);
	ipm_register_callback(b, on_msg, &g);

	/* A clean close right after queueing. */
	a = it_open(srv.socket_path, &cfg);
	g.from = it_id(a);
	send_all(a, it_id(b));
	ipm_close(a);
	receive_all(b, &g);

	/* SIGKILL right after queueing. */
	IT_CHECK(pipe(pipefd) == 0, "pipe");
	pid = fork();
	IT_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		struct ipm *c = it_open(srv.socket_path, &cfg);

		send_all(c, it_id(b));
		it_put_int(pipefd[1], it_id(c));
		pause();
		_exit(0);
	}
	g = (struct got){ .from = it_get_int(pipefd[0], 5000) };
	kill(pid, SIGKILL);
	IT_CHECK(waitpid(pid, NULL, 0) == pid, "waitpid");
	receive_all(b, &g);

	ipm_close(b);
	IT_CHECK(tu_server_stop(&srv) == 0, "server exit status");
	return 0;
}
