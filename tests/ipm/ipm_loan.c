/* SPDX-License-Identifier: MIT */
/*
 * The zero-copy send (ipm_loan, issue 14 item 3) between mailbox devices
 * on a private server: payloads written in place and committed arrive as
 * if sent by ipm_send() (checked, in order, none lost); an abandoned loan
 * sends nothing and costs no sequence number; one loan at a time; the
 * limits and errors of ipm_send(); a blocking commit returns 0 only once
 * the receiver (another process) completed it, and -ETIMEDOUT when nobody
 * takes it, which is then never delivered; bytes changed after the commit
 * are refused by the receiver's checksum; doorbell mode has no loans.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ipmtest.h"

static struct tu_server srv;

static struct ipm_config mbox(int timeout_ms)
{
	return (struct ipm_config){ .mode = IPM_MODE_MAILBOX, .slots = 3,
				    .send_timeout_ms = timeout_ms };
}

static void drain(struct ipm *b, const struct it_recv *r, uint64_t want)
{
	long long deadline = tu_now_ns() + 5000000000LL;

	while (r->total < want) {
		IT_CHECK(ipm_poll(b, 50) >= 0, "ipm_poll");
		IT_CHECK(tu_now_ns() < deadline, "%llu of %llu delivered",
			 (unsigned long long)r->total,
			 (unsigned long long)want);
	}
}

/* Loan, write a self-checking message in place, commit. */
static int loan_send(struct ipm *a, int to, int wait, size_t n, uint64_t seq)
{
	void *p;
	int rc = ipm_loan(a, wait, (uint32_t)to, n, &p);

	if (rc)
		return rc;
	it_msg_make(p, n, it_stream(it_id(a), to), seq);
	return ipm_loan_commit(a);
}

/* A child that takes one blocking message and completes it. */
static int taker(void *arg)
{
	int *fds = arg;
	struct ipm_config cfg = mbox(5000);
	struct ipm *c = it_open(srv.socket_path, &cfg);
	struct it_recv r;

	it_recv_init(&r, it_id(c), 1 << 20, 1);
	ipm_register_callback(c, it_recv_cb, &r);
	it_put_int(fds[1], it_id(c));
	drain(c, &r, 1);
	IT_CHECK(r.bad == 0, "bad");
	ipm_poll(c, 100);
	ipm_close(c);
	it_recv_free(&r);
	return 0;
}

int main(void)
{
	struct ipm_config cfg = mbox(200), db = { .mode = IPM_MODE_DOORBELL };
	struct ipm *a, *b, *d;
	struct it_recv r;
	struct ipm_stats st;
	uint64_t seq = 0;
	void *p, *q;
	int ib, max, fds[2];
	static const size_t sizes[] = { 0, 1, 47, 48, 100, 4096, 65536,
					200000 };

	it_init();
	it_server(&srv, "4M", 1);
	a = it_open(srv.socket_path, &cfg);
	b = it_open(srv.socket_path, &cfg);
	ib = it_id(b);
	max = ipm_max_data_size_get(a);
	/* Not strict: the message scribbled after its commit is a gap. */
	it_recv_init(&r, ib, (size_t)max, 0);
	ipm_register_callback(b, it_recv_cb, &r);

	/* Sizes from 0 to the largest, committed without waiting. */
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		int rc = loan_send(a, ib, 0, sizes[i], seq++);

		IT_CHECK(rc == 0, "loan of %zu: %s", sizes[i], strerror(-rc));
		drain(b, &r, seq);
	}
	/* The largest takes the whole ring: it waits (-EBUSY) until the
	 * receiver has passed the WRAP its reservation put before it. */
	int rc, tries = 0;
	while ((rc = loan_send(a, ib, 0, (size_t)max, seq)) == -EBUSY) {
		IT_CHECK(++tries < 100, "largest: always -EBUSY");
		ipm_poll(b, 10);
	}
	IT_CHECK(rc == 0, "largest: %s", strerror(-rc));
	seq++;
	drain(b, &r, seq);

	/* One loan at a time; an abandoned one sends nothing. */
	IT_CHECK(ipm_loan(a, 0, (uint32_t)ib, 100, &p) == 0, "loan");
	IT_CHECK(ipm_loan(a, 0, (uint32_t)ib, 100, &q) == -EALREADY,
		 "a second loan");
	memset(p, 0x55, 100);
	ipm_loan_abandon(a);
	IT_CHECK(ipm_loan_commit(a) == -EINVAL, "commit without a loan");
	IT_CHECK(ipm_poll(b, 50) == 0, "the abandoned loan arrived");
	IT_CHECK(loan_send(a, ib, 0, 100, seq++) == 0, "after abandon");
	drain(b, &r, seq);

	/* ipm_send()'s limits and errors. */
	IT_CHECK(ipm_loan(a, 0, (uint32_t)ib, (size_t)max + 1, &p) ==
		 -EMSGSIZE, "too big");
	IT_CHECK(ipm_loan(a, 0, (uint32_t)ib, 10, NULL) == -EINVAL, "NULL");
	IT_CHECK(ipm_loan(a, 0, 70000, 10, &p) == -EINVAL, "id");
	IT_CHECK(ipm_loan(a, 0, 999, 10, &p) == -ENOTCONN, "no such peer");

	/* Bytes changed after the commit: refused, counted corrupt. */
	IT_CHECK(ipm_loan(a, 0, (uint32_t)ib, 1000, &p) == 0, "loan");
	it_msg_make(p, 1000, it_stream(it_id(a), ib), seq);
	IT_CHECK(ipm_loan_commit(a) == 0, "commit");
	((volatile uint8_t *)p)[500] ^= 1;
	ipm_poll(b, 50);
	ipm_stats(b, &st);
	IT_CHECK(st.corrupt == 1 && r.total == seq && r.gaps == 0,
		 "late write: corrupt %llu", (unsigned long long)st.corrupt);
	/* That number is lost (counted), not reused: */
	seq++;

	/* Blocking, nobody taking it: -ETIMEDOUT, then never delivered. */
	IT_CHECK(loan_send(a, ib, 1, 100, seq) == -ETIMEDOUT, "timed out");
	ipm_poll(b, 50);
	ipm_stats(b, &st);
	IT_CHECK(r.total == seq - 1 && st.withdrawn == 1,
		 "withdrawn: %llu delivered, withdrawn %llu",
		 (unsigned long long)r.total, (unsigned long long)st.withdrawn);
	IT_CHECK(loan_send(a, ib, 0, 100, seq++) == 0, "next");
	drain(b, &r, seq - 1);
	/* Every message in order and intact; the one gap is the late write. */
	IT_CHECK(r.bad == 0 && r.gaps == 1, "bad %llu, gaps %llu",
		 (unsigned long long)r.bad, (unsigned long long)r.gaps);

	/* Blocking, taken by another process: 0 once it completed it. */
	IT_CHECK(pipe(fds) == 0, "pipe");
	pid_t pid = it_fork(taker, fds);
	int ic = it_get_int(fds[0], 10000);

	rc = loan_send(a, ic, 1, 65536, 0);
	IT_CHECK(rc == 0, "blocking loan: %s", strerror(-rc));
	IT_CHECK(it_wait(pid, 10000) == 0, "the taker failed");

	/* Doorbell mode: no loans. */
	d = it_open(srv.socket_path, &db);
	IT_CHECK(ipm_loan(d, 0, (uint32_t)ib, 10, &p) == -ENOTSUP, "doorbell");
	IT_CHECK(ipm_loan_commit(d) == -EINVAL, "doorbell commit");
	ipm_loan_abandon(d);

	ipm_close(d);
	ipm_close(a);
	ipm_close(b);
	it_recv_free(&r);
	printf("ipm_loan: ok (%llu messages loaned)\n",
	       (unsigned long long)seq);
	return 0;
}
