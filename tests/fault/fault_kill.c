/* SPDX-License-Identifier: MIT */
/*
 * Mailbox peers SIGKILLed at random points of two-way traffic, many
 * rounds, through the real server (public API only).
 *
 * Three survivors exchange self-checking messages (it_msg_make: each
 * carries its stream, sender -> receiver, its sequence number and a
 * checksum) with each other and with whoever holds the fourth slot. Each
 * round a doomed peer takes that slot, sends to and receives from every
 * survivor, and dies of SIGKILL at a random point: from outside after a
 * random delay, inside its callback (a message held) after a random
 * number of messages, or right after a random send returned. Survivors
 * send to it with wait=1 now and then, so some die under a blocked sender. Throughout,
 * every receiver checks every message strictly: intact, for it, from the
 * sender the callback names, in order, no duplicate, no gap (a killed
 * sender's messages arrive as a prefix of what it sent). Survivors must
 * keep every send among themselves succeeding; sends to the doomed may
 * fail (-ENOTCONN, -ETIMEDOUT, -EBUSY). At the end a newcomer takes the
 * dead peers' slot, and survivors and newcomer exchange a last batch in
 * full: everything every survivor and the newcomer sent to each other is
 * delivered, counted through a shared table.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipmtest.h"

#define SURVIVORS 3
#define LIVE (SURVIVORS + 1)	/* survivors and the final newcomer */
#define ROUNDS 16
#define MAX_MSG (96 * 1024)

static struct tu_server srv;

/* Shared with every child (MAP_SHARED before the forks). */
struct board {
	volatile int ids[LIVE];		/* live peers' ids, -1: not yet */
	volatile int stop;		/* 1: stop sending, settle, report */
	/* sent[i][j]: messages live peer i had sent to live peer j */
	volatile uint64_t sent[LIVE][LIVE];
	volatile int done[LIVE];
};

static struct board *bd;

static int live_index(int id)
{
	for (int i = 0; i < LIVE; i++)
		if (bd->ids[i] == id)
			return i;
	return -1;
}

static struct ipm_config mbox_cfg(void)
{
	return (struct ipm_config){
		.mode = IPM_MODE_MAILBOX, .slots = LIVE,
		.send_timeout_ms = 20000,
	};
}

/* Open, waiting for a killed peer's slot to come back. */
static struct ipm *open_retry(void)
{
	struct ipm_config cfg = mbox_cfg();
	struct ipm *ipm;
	int rc, tries = 0;

	while ((rc = it_try_open(&ipm, srv.socket_path, &cfg)) == -ENOSPC) {
		IT_CHECK(++tries < 1000, "no slot for 10 s");
		usleep(10000);
	}
	IT_CHECK(rc == 0, "open: %s", strerror(-rc));
	return ipm;
}

/* Per-destination stream state of one sender. */
struct dests {
	int n;
	int id[64];
	uint64_t seq[64];
	int dead[64];
	long long first_fail[64]; /* a joining peer's first -ENOTCONN */
};

static int dest_slot(struct dests *d, int id)
{
	for (int i = 0; i < d->n; i++)
		if (d->id[i] == id)
			return i;
	IT_CHECK(d->n < 64, "too many destinations");
	d->id[d->n] = id;
	d->seq[d->n] = 0;
	d->dead[d->n] = 0;
	d->first_fail[d->n] = 0;
	return d->n++;
}

/*
 * One send of the next message to id. Returns the ipm_send result; -EBUSY
 * is retried while taking what arrives, up to a bound.
 */
static int send_next(struct ipm *ipm, struct dests *d, int id, uint64_t *rng,
		     uint8_t *buf, int wait)
{
	int i = dest_slot(d, id), rc, tries = 0;
	size_t size = it_rand_size(rng, MAX_MSG);

	if (d->dead[i])
		return -ENOTCONN;
	it_msg_make(buf, size, it_stream(it_id(ipm), id), d->seq[i]);
	while ((rc = ipm_send(ipm, wait, (uint32_t)id, buf, size)) == -EBUSY &&
	       ++tries < 2000)
		IT_CHECK(ipm_poll(ipm, 1) >= 0, "ipm_poll");
	if (rc == 0)
		d->seq[i]++;
	else if (rc != -ENOTCONN || d->seq[i] > 0)
		d->dead[i] = 1; /* that stream ends here */
	/* -ENOTCONN before any success: it may be joining; try again. */
	return rc;
}

/* A survivor (index me < SURVIVORS) or the newcomer (index SURVIVORS). */
static int live_main(void *arg)
{
	int me = (int)(intptr_t)arg;
	struct ipm *ipm = open_retry();
	uint64_t rng = (uint64_t)(me + 1) * 0x9e3779b97f4a7c15ULL;
	uint8_t *buf = malloc(MAX_MSG);
	struct dests d = { 0 };
	struct it_recv r;
	int ids[64], my = it_id(ipm), early = 0;

	IT_CHECK(buf, "malloc");
	it_recv_init(&r, my, MAX_MSG, 1);
	ipm_register_callback(ipm, it_recv_cb, &r);
	bd->ids[me] = my;
	while (!bd->stop) {
		int n = ipm_peers(ipm, ids, 64);

		for (int i = 0; i < n && i < 64 && !bd->stop; i++) {
			int j = live_index(ids[i]), rc;
			/* Blocking only towards higher ids: no cycle of
			 * senders waiting on each other. */
			int wait = ids[i] > my && it_rand(&rng) % 4 == 0;

			rc = send_next(ipm, &d, ids[i], &rng, buf, wait);
			if (j >= 0 && rc == -ENOTCONN &&
			    d.seq[dest_slot(&d, ids[i])] == 0) {
				/*
				 * Listed by ipm_peers() but perhaps not
				 * attached yet (mbox_attach() claims the slot,
				 * then attaches the queues): counted, tried
				 * again, for 5 s at most.
				 */
				int k = dest_slot(&d, ids[i]);

				if (!d.first_fail[k])
					d.first_fail[k] = tu_now_ns();
				early++;
				IT_CHECK(tu_now_ns() - d.first_fail[k] <
					 5000000000LL, "live %d -> live %d: "
					 "-ENOTCONN for 5 s (%d sends) though "
					 "ipm_peers() lists it", my, ids[i],
					 early);
			} else if (j >= 0) {
				IT_CHECK(rc == 0, "live %d -> live %d: %s", my,
					 ids[i], strerror(-rc));
				bd->sent[me][j] = d.seq[dest_slot(&d, ids[i])];
			} else {
				IT_CHECK(rc == 0 || rc == -ENOTCONN ||
					 rc == -ETIMEDOUT || rc == -EBUSY,
					 "live %d -> doomed %d: %s", my,
					 ids[i], strerror(-rc));
			}
		}
		IT_CHECK(ipm_poll(ipm, 2) >= 0, "ipm_poll");
	}
	/* Settle: everything the other live peers sent us must arrive. */
	for (long long end = tu_now_ns() + 30000000000LL;;) {
		int missing = 0;

		for (int j = 0; j < LIVE; j++)
			if (j != me && bd->ids[j] >= 0 &&
			    it_recv_got(&r, bd->ids[j]) < bd->sent[j][me])
				missing++;
		if (!missing)
			break;
		IT_CHECK(tu_now_ns() < end, "live %d: messages missing", my);
		IT_CHECK(ipm_poll(ipm, 10) >= 0, "ipm_poll");
	}
	IT_CHECK(r.bad == 0 && r.gaps == 0, "bad messages");
	bd->done[me] = 1;
	/* Stay (and complete) until everyone has settled. */
	for (int all = 0; !all;) {
		all = 1;
		for (int j = 0; j < LIVE; j++)
			all &= bd->ids[j] < 0 || bd->done[j];
		IT_CHECK(ipm_poll(ipm, 5) >= 0, "ipm_poll");
	}
	it_log("live peer %d: %llu messages from %u senders, all intact, in "
	       "order, none missing; %d sends to a joining live peer got "
	       "-ENOTCONN", my, (unsigned long long)r.total, r.nsrc, early);
	ipm_close(ipm);
	it_recv_free(&r);
	free(buf);
	return 0;
}

/* How a doomed peer dies. */
enum { KILL_OUTSIDE, KILL_IN_CALLBACK, KILL_AFTER_SEND, KILL_MODES };

struct doomed {
	int mode, after;
	int up[2];
	struct it_recv r;
};

static void doomed_cb(struct ipm *ipm, void *user, uint32_t id,
		      const volatile void *data, size_t size)
{
	struct doomed *x = user;

	it_recv_cb(ipm, &x->r, id, data, size);
	if (x->mode == KILL_IN_CALLBACK && (int)x->r.total >= x->after)
		raise(SIGKILL); /* the message held, not completed */
}

static int doomed_main(void *arg)
{
	struct doomed *x = arg;
	struct ipm *ipm = open_retry();
	uint64_t rng = (uint64_t)getpid() * 0x9e37ULL;
	uint8_t *buf = malloc(MAX_MSG);
	struct dests d = { 0 };
	int sends = 0;

	IT_CHECK(buf, "malloc");
	it_recv_init(&x->r, it_id(ipm), MAX_MSG, 1);
	ipm_register_callback(ipm, doomed_cb, x);
	it_put_int(x->up[1], it_id(ipm));
	for (;;) {
		for (int j = 0; j < SURVIVORS; j++) {
			/* Non-blocking: the survivors (lower ids) block
			 * on us, and a cycle of waits would time out. */
			int rc = send_next(ipm, &d, bd->ids[j], &rng, buf, 0);

			/* The survivors are all there. */
			IT_CHECK(rc == 0, "doomed -> %d: %s", bd->ids[j],
				 strerror(-rc));
			if (x->mode == KILL_AFTER_SEND && ++sends >= x->after)
				raise(SIGKILL);
		}
		IT_CHECK(ipm_poll(ipm, 1) >= 0, "ipm_poll");
	}
}

int main(void)
{
	uint64_t rng = 12;
	pid_t live[LIVE];
	int killed[KILL_MODES] = { 0 };

	it_init();
	bd = mmap(NULL, sizeof(*bd), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(bd != MAP_FAILED, "mmap");
	memset((void *)bd, 0, sizeof(*bd));
	for (int i = 0; i < LIVE; i++)
		bd->ids[i] = -1;
	it_server(&srv, "16M", 1);
	for (int i = 0; i < SURVIVORS; i++) {
		live[i] = it_fork(live_main, (void *)(intptr_t)i);
		for (int n = 0; bd->ids[i] < 0; n++) {
			CHECK(n < 1000, "survivor %d did not join", i);
			usleep(10000);
		}
	}
	for (int round = 0; round < ROUNDS; round++) {
		struct doomed x = {
			.mode = (int)(it_rand(&rng) % KILL_MODES),
			.after = 1 + (int)(it_rand(&rng) % 40),
		};
		pid_t pid;
		int id, st;

		CHECK(pipe(x.up) == 0, "pipe");
		pid = it_fork(doomed_main, &x);
		close(x.up[1]);
		id = it_get_int(x.up[0], 15000);
		close(x.up[0]);
		if (x.mode == KILL_OUTSIDE) {
			usleep((useconds_t)(it_rand(&rng) % 300000));
			kill(pid, SIGKILL);
		}
		st = it_wait(pid, 30000);
		CHECK(st == 128 + SIGKILL, "doomed peer %d (mode %d) ended "
		      "with %d, not killed: it found a bad message or a "
		      "failed send", id, x.mode, st);
		killed[x.mode]++;
		for (int i = 0; i < SURVIVORS; i++)
			CHECK(waitpid(live[i], &st, WNOHANG) == 0,
			      "survivor %d died in round %d", i, round);
	}
	it_log("%d peers killed: %d from outside at a random moment, %d in "
	       "their callback, %d right after a send", ROUNDS,
	       killed[KILL_OUTSIDE], killed[KILL_IN_CALLBACK],
	       killed[KILL_AFTER_SEND]);
	/* The newcomer in the dead peers' slot, then a last exchange. */
	live[SURVIVORS] = it_fork(live_main, (void *)(intptr_t)SURVIVORS);
	for (int n = 0; bd->ids[SURVIVORS] < 0; n++) {
		CHECK(n < 1500, "the newcomer did not get the slot");
		usleep(10000);
	}
	usleep(500000);
	bd->stop = 1;
	for (int i = 0; i < LIVE; i++)
		CHECK(it_wait(live[i], 60000) == 0, "live peer %d failed", i);
	for (int i = 0; i < LIVE; i++)
		for (int j = 0; j < LIVE; j++)
			CHECK(i == j || bd->sent[i][j] > 0, "live %d never "
			      "sent to live %d", i, j);
	it_log("survivors and newcomer: every message among them delivered");
	CHECK(tu_server_stop(&srv) == 0, "server exit status");
	return 0;
}
