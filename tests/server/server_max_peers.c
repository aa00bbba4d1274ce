/* SPDX-License-Identifier: MIT */
/*
 * --max-peers N: with N peers connected the next one is refused (EOF
 * before any message, never announced) with a log line; once one leaves,
 * a newcomer joins again.
 */
#include "srvtest.h"

#define MAX 4

int main(void)
{
	static const char *const args[] = { "--max-peers", "4", NULL };
	struct tpeer p[MAX], x;
	struct tu_server srv;
	int others[MAX], n;

	tu_server_start(&srv, args);
	tp_join_alone(&p[0], srv.socket_path, 1);
	for (int i = 1; i < MAX; i++) {
		tp_join(&p[i], srv.socket_path, 1, others, MAX, &n);
		CHECK(n == i, "peer %d: setup lists %d peers", p[i].id, n);
		for (int j = 0; j < i; j++)
			tp_expect_join(&p[j], p[i].id);
	}
	for (int round = 0; round < 3; round++) {
		tp_connect(&x, srv.socket_path, 1);
		tp_expect_refused(&x);
		tp_close(&x);
		for (int j = 0; j < MAX; j++)
			tp_expect_quiet(&p[j], j ? 0 : 100);
		srv_log_wait(srv.log_path, "refused", "max-peers",
			     TP_TIMEOUT_MS);

		/* One leaves; one joins in its place. */
		tp_close(&p[round]);
		for (int j = 0; j < MAX; j++)
			if (j != round)
				tp_expect_leave(&p[j], p[round].id);
		tp_join(&p[round], srv.socket_path, 1, others, MAX, &n);
		CHECK(n == MAX - 1, "newcomer: setup lists %d peers", n);
		for (int j = 0; j < MAX; j++)
			if (j != round)
				tp_expect_join(&p[j], p[round].id);
	}
	for (int j = 0; j < MAX; j++)
		tp_close(&p[j]);
	srv_alive(&srv);
	CHECK(tu_server_stop(&srv) == 0, "server exit status, see %s",
	      srv.log_path);
	printf("ok: peer %d of --max-peers %d refused, 3 times\n", MAX + 1,
	       MAX);
	return 0;
}
