/* SPDX-License-Identifier: MIT */
/*
 * A receiver driven by its own event loop (poll on ipm_fds(), then
 * ipm_process(), never ipm_poll) with no timeout: senders must ring it,
 * or its blocking senders would time out.
 */
#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "ipmtest.h"

#define COUNT 50

struct loop {
	const char *sock;
	int ready_fd;
	int got;
};

static void on_msg(struct ipm *ipm, void *user, uint32_t id,
		   const volatile void *data, size_t size)
{
	struct loop *l = user;

	(void)ipm;
	(void)id;
	(void)data;
	(void)size;
	l->got++;
}

static int receiver(void *arg)
{
	struct loop *l = arg;
	struct ipm_config cfg = { .mode = IPM_MODE_MAILBOX };
	struct ipm *ipm = it_open(l->sock, &cfg);

	ipm_register_callback(ipm, on_msg, l);
	it_put_int(l->ready_fd, it_id(ipm));
	while (l->got < COUNT) {
		struct pollfd fds[4];
		int n = ipm_fds(ipm, fds, 4);

		IT_CHECK(n > 0, "ipm_fds");
		IT_CHECK(poll(fds, (nfds_t)n, -1) > 0 || errno == EINTR,
			 "poll");
		IT_CHECK(ipm_process(ipm) >= 0, "ipm_process");
	}
	ipm_close(ipm);
	return 0;
}

int main(void)
{
	struct ipm_config cfg = {
		.mode = IPM_MODE_MAILBOX,
		.send_timeout_ms = 5000,
	};
	struct tu_server srv;
	struct loop l = { 0 };
	struct ipm *a;
	int pipefd[2], peer;
	pid_t pid;

	it_init();
	it_server(&srv, NULL, 1);
	IT_CHECK(pipe(pipefd) == 0, "pipe");
	l.sock = srv.socket_path;
	l.ready_fd = pipefd[1];
	pid = it_fork(receiver, &l);
	peer = it_get_int(pipefd[0], 10000);
	a = it_open(srv.socket_path, &cfg);
	for (int i = 0; i < COUNT; i++) {
		int rc = ipm_send(a, 1, (uint32_t)peer, "ping", 4);

		IT_CHECK(rc == 0, "blocking send %d to an event loop: %d", i,
			 rc);
	}
	IT_CHECK(it_wait(pid, 10000) == 0, "receiver");
	ipm_close(a);
	IT_CHECK(tu_server_stop(&srv) == 0, "server exit status");
	return 0;
}
