/* SPDX-License-Identifier: MIT */
/*
 * Peers never send. One that does (a byte before or after its setup, a
 * whole message carrying an fd, a flood) is disconnected as QEMU's server
 * does: its socket reaches EOF, the others are told it left, a log line
 * says why, and nothing else is harmed: the other peers carry on, a
 * newcomer gets a complete setup, and the fds sent to the server are not
 * kept (its fd count comes back to what it was).
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "srvtest.h"

#define NVEC 2

enum { BYTE_AT_ONCE, BYTE_AFTER_SETUP, MESSAGE_WITH_FD, FLOOD, NMODES };
static const char *const mode_name[NMODES] = {
	"a byte before reading", "a byte after its setup",
	"a message with an fd", "a flood of bytes",
};

static void misbehave(struct tpeer *x, int mode)
{
	static char junk[65536];
	size_t sent = 0;
	int efd;

	switch (mode) {
	case BYTE_AT_ONCE:
	case BYTE_AFTER_SETUP:
		CHECK(send(x->sock, "x", 1, MSG_NOSIGNAL) == 1, "send: %s",
		      strerror(errno));
		break;
	case MESSAGE_WITH_FD:
		efd = eventfd(0, EFD_CLOEXEC);
		CHECK(efd >= 0, "eventfd");
		CHECK(ivproto_send(x->sock, 1, efd) == 0, "ivproto_send");
		close(efd);
		break;
	case FLOOD:
		/* Until the socket is full or the server has closed it. */
		memset(junk, 0x5a, sizeof(junk));
		while (sent < 16 * sizeof(junk)) {
			ssize_t n = send(x->sock, junk, sizeof(junk),
					 MSG_NOSIGNAL);

			if (n <= 0)
				break;
			sent += (size_t)n;
		}
		CHECK(sent > 0, "flood: nothing sent: %s", strerror(errno));
		break;
	}
}

int main(void)
{
	static const char *const args[] = { "-n", "2", NULL };
	int others[8], n, fds_before, fds_after, id;
	struct tpeer w, b, x;
	struct tu_server srv;
	char needle[64];

	tu_server_start(&srv, args);
	tp_join_alone(&w, srv.socket_path, NVEC);
	tp_join(&b, srv.socket_path, NVEC, others, 8, &n);
	CHECK(n == 1 && others[0] == w.id, "bystander's setup");
	tp_expect_join(&w, b.id);
	fds_before = tu_count_fds(srv.pid);

	for (int round = 0; round < 3 * NMODES; round++) {
		int mode = round % NMODES;

		if (mode == BYTE_AT_ONCE) {
			tp_connect(&x, srv.socket_path, NVEC);
			misbehave(&x, mode);
			CHECK(tp_next_event(&w, &id, TP_TIMEOUT_MS) == 1,
			      "watcher: no join");
		} else {
			tp_join(&x, srv.socket_path, NVEC, others, 8, &n);
			CHECK(n == 2, "setup lists %d peers, expected 2", n);
			id = x.id;
			tp_expect_join(&w, id);
			misbehave(&x, mode);
		}
		tp_expect_join(&b, id);
		tp_expect_leave(&w, id);
		tp_expect_leave(&b, id);
		/* Whatever was still queued for it, then EOF. */
		tp_drain_to_eof(&x, TP_TIMEOUT_MS);
		tp_close(&x);
		snprintf(needle, sizeof(needle), "peer %d sent data", id);
		srv_log_wait(srv.log_path, needle, NULL, TP_TIMEOUT_MS);
		srv_alive(&srv);
		printf("peer %d sent %s: disconnected\n", id, mode_name[mode]);
	}
	tp_expect_quiet(&w, 100);
	tp_expect_quiet(&b, 0);

	/* Nothing else harmed: a newcomer joins, everybody sees it. */
	tp_join(&x, srv.socket_path, NVEC, others, 8, &n);
	CHECK(n == 2 && others[0] == w.id && others[1] == b.id,
	      "newcomer's setup lists %d peers", n);
	tp_expect_join(&w, x.id);
	tp_expect_join(&b, x.id);
	tp_close(&x);
	tp_expect_leave(&w, x.id);
	tp_expect_leave(&b, x.id);
	fds_after = srv_wait_fds(srv.pid, fds_before, 5000);
	CHECK(fds_after == fds_before, "server fds: %d before, %d after",
	      fds_before, fds_after);
	tp_close(&b);
	tp_expect_leave(&w, b.id);
	tp_close(&w);
	CHECK(tu_server_stop(&srv) == 0, "server exit status, see %s",
	      srv.log_path);
	printf("ok: server fds %d before and after\n", fds_before);
	return 0;
}
