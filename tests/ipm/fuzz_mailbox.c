/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the mailbox against hostile writes (issue 12, must-have 3).
 *
 * Three mailbox devices share one malloc'd region through an in-process
 * transport (the real struct ivshm_transport interface over the buffer;
 * ring() sets a flag, presence news comes from the input). The input is a
 * sequence of operations: the devices' own calls (ipm_send with wait 0 or
 * 1, ipm_process, ipm_complete) and hostile ones (write any bytes
 * anywhere, copy old bytes forward, plausible stamps at a queue's tail,
 * presence news). Hostile operations also run inside the receive callback
 * and inside the transport calls a device makes (ring, vector_fd,
 * peer_live), and there a device may process its own queues while another
 * is blocked in a send.
 *
 * Beyond not crashing, the integrity properties hold: every payload
 * carries its own number and checksum, and the test aborts when a device
 * delivers what was never sent, a message whose send failed, a duplicate
 * or one out of order, when a blocking send returns 0 for a message not
 * delivered, or an error for one that was.
 *
 * Deterministic: the tokens' nonces come from getrandom(), which this
 * program defines (a fixed sequence per input); nothing sleeps (a
 * blocking send's timeout is 1 ms, and the doorbell fd is always
 * readable, so waits spin instead of sleeping).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/types.h>
#include <unistd.h>

#include <ivshmem/ipm.h>

#include "ipmc_layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NDEV      3
#define REGION    (64 * 1024)
#define MAX_SENDS 2048
#define MAX_WAITS 3    /* blocking sends per input: each may spin 1 ms */
#define PAY_MAGIC 0x534d5a46u /* "FZMS" */
#define PAY_HDR   16u
#define PAY_MAX   700u

#define FAIL(...) do {                                                    \
	fprintf(stderr, "fuzz_mailbox: " __VA_ARGS__);                     \
	fprintf(stderr, "\n");                                             \
	abort();                                                           \
} while (0)

/* Deterministic nonces: the library's getrandom() is ours. */
static uint64_t rnd_state;

ssize_t getrandom(void *buf, size_t len, unsigned int flags)
{
	uint8_t *b = buf;

	(void)flags;
	for (size_t i = 0; i < len; i++) {
		rnd_state = rnd_state * 6364136223846793005ULL +
			    1442695040888963407ULL;
		b[i] = (uint8_t)(rnd_state >> 56);
	}
	return (ssize_t)len;
}

/* Send states, per (sender, receiver) pair and attempt number. */
enum { S_NONE, S_INFLIGHT, S_QUEUED, S_ACKED, S_FAILED };

struct world;

struct ftransport {
	struct ivshm_transport t;
	struct world *w;
	int dev;
};

struct world {
	uint8_t *mem;
	const uint8_t *in;
	size_t len, pos;
	struct ipm *ipm[NDEV];
	struct ftransport *tr[NDEV];
	int busy[NDEV];     /* on the stack: never re-entered */
	int live[NDEV];     /* as the transport tells it */
	int news[NDEV];     /* a LEFT to report, per device: peer + 1 */
	int budget;         /* hostile actions left for hooks this op */
	int waits;
	uint32_t next[NDEV][NDEV];       /* next attempt number */
	uint8_t state[NDEV][NDEV][MAX_SENDS];
	uint8_t got[NDEV][NDEV][MAX_SENDS];
	int64_t last[NDEV][NDEV];        /* last delivered number */
	uint8_t buf[PAY_MAX];
	struct ipmc_geometry g; /* where things are: never read from mem */
};

static int byte(struct world *w)
{
	return w->pos < w->len ? w->in[w->pos++] : -1;
}

static uint32_t u16(struct world *w)
{
	int a = byte(w), b = byte(w);

	return (uint32_t)(a < 0 ? 0 : a) | (uint32_t)(b < 0 ? 0 : b) << 8;
}

static uint32_t pay_sum(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static void pay_make(uint8_t *p, size_t n, int src, int dst, uint32_t seq)
{
	uint32_t magic = PAY_MAGIC, sum;
	uint16_t len = (uint16_t)n;

	memcpy(p, &magic, 4);
	p[4] = (uint8_t)src;
	p[5] = (uint8_t)dst;
	memcpy(p + 6, &len, 2);
	memcpy(p + 8, &seq, 4);
	for (size_t i = PAY_HDR; i < n; i++)
		p[i] = (uint8_t)(seq * 31 + i);
	sum = pay_sum(p, 12) ^ pay_sum(p + PAY_HDR, n - PAY_HDR);
	memcpy(p + 12, &sum, 4);
}

static int dev_of_id(uint32_t id)
{
	return id >= 1 && id <= NDEV ? (int)id - 1 : -1;
}

static void hostile(struct world *w);

/* A hook inside a transport call or a callback: maybe act. */
static void hook(struct world *w)
{
	if (w->budget <= 0)
		return;
	w->budget--;
	hostile(w);
}

static int ft_ring(struct ivshm_transport *t, int peer, unsigned vector)
{
	struct ftransport *ft = (struct ftransport *)t;

	(void)peer;
	(void)vector;
	hook(ft->w);
	return 0;
}

/* Always readable: waits spin (bounded by 1 ms timeouts), never sleep. */
static int always_fd = -1;

static int ft_vector_fd(struct ivshm_transport *t, unsigned vector)
{
	struct ftransport *ft = (struct ftransport *)t;

	(void)vector;
	hook(ft->w);
	return always_fd;
}

static int ft_ack(struct ivshm_transport *t, unsigned vector)
{
	(void)t;
	(void)vector;
	return 0;
}

static int ft_presence_fd(struct ivshm_transport *t)
{
	(void)t;
	return always_fd;
}

static int ft_next_presence(struct ivshm_transport *t, int *peer, int *what)
{
	struct ftransport *ft = (struct ftransport *)t;
	int *n = &ft->w->news[ft->dev];

	if (!*n)
		return 0;
	*peer = *n; /* device k has peer id k + 1 */
	*what = IVSHM_PEER_LEFT;
	*n = 0;
	return 1;
}

static int ft_peer_live(struct ivshm_transport *t, int peer)
{
	struct ftransport *ft = (struct ftransport *)t;
	int d = dev_of_id((uint32_t)peer);

	hook(ft->w);
	if (peer == t->id)
		return 1;
	return d >= 0 && ft->w->live[d];
}

static void ft_close(struct ivshm_transport *t)
{
	struct ftransport *ft = (struct ftransport *)t;

	ft->w->tr[ft->dev] = NULL;
	free(ft);
}

static const struct ivshm_transport_ops ft_ops = {
	.name = "fuzz",
	.ring = ft_ring,
	.vector_fd = ft_vector_fd,
	.ack = ft_ack,
	.presence_fd = ft_presence_fd,
	.next_presence = ft_next_presence,
	.peer_live = ft_peer_live,
	.close = ft_close,
};

static void recv_cb(struct ipm *ipm, void *user, uint32_t id,
		    const volatile void *data, size_t size)
{
	struct world *w = user;
	int me = -1, src = dev_of_id(id);
	uint32_t magic, seq, sum;
	uint16_t len;
	uint8_t p[PAY_MAX];

	for (int d = 0; d < NDEV; d++)
		if (w->ipm[d] == ipm)
			me = d;
	/* Hostile writes while the callback holds the message. */
	hook(w);
	if (size < PAY_HDR || size > PAY_MAX || src < 0 || me < 0)
		FAIL("delivered %zu bytes from id %u: never sent", size, id);
	memcpy(p, (const void *)data, size);
	memcpy(&magic, p, 4);
	memcpy(&len, p + 6, 2);
	memcpy(&seq, p + 8, 4);
	memcpy(&sum, p + 12, 4);
	if (magic != PAY_MAGIC || p[4] != src || p[5] != me || len != size ||
	    seq >= MAX_SENDS ||
	    sum != (pay_sum(p, 12) ^ pay_sum(p + PAY_HDR, size - PAY_HDR)))
		FAIL("%d got a message from %d that was never sent", me, src);
	switch (w->state[src][me][seq]) {
	case S_INFLIGHT:
	case S_QUEUED:
	case S_ACKED:
		break;
	default:
		FAIL("%d -> %d #%u delivered, state %d", src, me, seq,
		     w->state[src][me][seq]);
	}
	if ((int64_t)seq <= w->last[src][me])
		FAIL("%d -> %d #%u delivered after #%lld: duplicate or "
		     "reordered", src, me, seq,
		     (long long)w->last[src][me]);
	w->last[src][me] = seq;
	w->got[src][me][seq] = 1;
	if (byte(w) == 0x42)
		ipm_complete(ipm);
}

/* Run dev's calls only if it is not on the stack already. */
static void do_process(struct world *w, int d)
{
	if (d < 0 || !w->ipm[d] || w->busy[d])
		return;
	w->busy[d] = 1;
	ipm_process(w->ipm[d]);
	w->busy[d] = 0;
}

static void do_send(struct world *w, int s, int dst, int wait, size_t n)
{
	uint32_t seq = w->next[s][dst];
	int rc;

	if (!w->ipm[s] || w->busy[s] || seq >= MAX_SENDS)
		return;
	if (wait && w->waits++ >= MAX_WAITS)
		wait = 0;
	w->next[s][dst]++;
	pay_make(w->buf, n, s, dst, seq);
	w->state[s][dst][seq] = S_INFLIGHT;
	w->busy[s] = 1;
	rc = ipm_send(w->ipm[s], wait, (uint32_t)dst + 1, w->buf, n);
	w->busy[s] = 0;
	if (rc == 0 && wait && !w->got[s][dst][seq])
		FAIL("%d -> %d #%u: blocking send returned 0, not delivered",
		     s, dst, seq);
	if (rc < 0 && w->got[s][dst][seq])
		FAIL("%d -> %d #%u: send returned %d, but it was delivered",
		     s, dst, seq, rc);
	w->state[s][dst][seq] = rc == 0 ? (wait ? S_ACKED : S_QUEUED) :
					  S_FAILED;
}

/* One hostile act on the region (or the presence news). */
static void hostile(struct world *w)
{
	int op = byte(w);
	uint32_t a, b, n;

	if (op < 0)
		return;
	switch (op % 6) {
	case 0: /* any bytes anywhere */
		a = (u16(w) << 2) % REGION;
		n = 1 + (uint32_t)(byte(w) & 7);
		for (uint32_t i = 0; i < n && a + i < REGION; i++)
			w->mem[a + i] = (uint8_t)byte(w);
		break;
	case 1: /* an aligned word: small values, near what is there */
		a = ((u16(w) << 3) % REGION) & ~7u;
		{
			uint64_t v;

			memcpy(&v, w->mem + a, 8);
			v += (uint64_t)(int8_t)byte(w) * 64;
			memcpy(w->mem + a, &v, 8);
		}
		break;
	case 2: /* old bytes copied forward */
		a = ((u16(w) << 2) % REGION) & ~63u;
		b = ((u16(w) << 2) % REGION) & ~63u;
		n = 64 * (1 + (uint32_t)(byte(w) & 7));
		if (a + n <= REGION && b + n <= REGION)
			memmove(w->mem + b, w->mem + a, n);
		break;
	case 3: /* a plausible stamp at a queue's tail */
		{
			unsigned q = (unsigned)byte(w) % 6;
			uint8_t *ctl = w->mem + w->g.queue_offset +
				       q * w->g.queue_stride;
			uint64_t t, cap = w->g.queue_cap, st;

			memcpy(&t, ctl + 64, 8);
			st = t + 64 * (1 + (uint64_t)(byte(w) & 15));
			st |= (uint64_t)(byte(w) & 3);
			if ((t % cap) + 8 <= cap)
				memcpy(ctl + IPMC_QUEUE_CTL + t % cap, &st, 8);
		}
		break;
	case 4: /* presence news: a device is said to have left */
		a = (uint32_t)byte(w) % NDEV;
		b = (uint32_t)byte(w) % NDEV;
		if (a != b && w->pos < w->len) {
			w->news[a] = (int)b + 1;
			w->live[b] = 0;
		}
		break;
	default: /* a device processes, from inside another's call */
		do_process(w, byte(w) % NDEV);
		break;
	}
}

static void step(struct world *w, int op)
{
	int s = byte(w), d;

	if (s < 0)
		return;
	d = (s >> 4) % NDEV;
	s %= NDEV;
	w->budget = 2;
	switch (op % 5) {
	case 0:
	case 1:
		if (s != d)
			do_send(w, s, d, op % 5 == 1,
				PAY_HDR + (size_t)byte(w) * 2 %
				(PAY_MAX - PAY_HDR));
		break;
	case 2:
		do_process(w, s);
		break;
	case 3:
		if (w->ipm[s] && !w->busy[s])
			ipm_complete(w->ipm[s]);
		break;
	default:
		w->budget = 0;
		hostile(w);
		break;
	}
}

static void world_free(struct world *w)
{
	for (int d = 0; d < NDEV; d++)
		ipm_close(w->ipm[d]);
	free(w->mem);
	free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct world *w = calloc(1, sizeof(*w));
	int op;

	if (!w)
		return 0;
	if (always_fd < 0) {
		always_fd = eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC);
		if (always_fd < 0)
			abort();
	}
	rnd_state = 12345;
	w->mem = calloc(1, REGION);
	w->in = data;
	w->len = size;
	if (ipmc_geometry(&w->g, REGION, 3) < 0)
		abort();
	if (!w->mem) {
		free(w);
		return 0;
	}
	for (int d = 0; d < NDEV; d++) {
		struct ipm_config cfg = {
			.mode = IPM_MODE_MAILBOX, .slots = 3,
			.send_timeout_ms = 1, .manual_complete = d == 2,
		};
		struct ftransport *ft = calloc(1, sizeof(*ft));

		if (!ft)
			abort();
		ft->t = (struct ivshm_transport){
			.ops = &ft_ops, .mem = w->mem, .size = REGION,
			.id = d + 1, .vectors = 1,
		};
		ft->w = w;
		ft->dev = d;
		w->tr[d] = ft;
		w->live[d] = 1;
		for (int k = 0; k < NDEV; k++)
			w->last[k][d] = -1;
		if (ipm_open(&w->ipm[d], &ft->t, &cfg) < 0)
			abort(); /* a clean region always has room */
		ipm_register_callback(w->ipm[d], recv_cb, w);
	}
	while ((op = byte(w)) >= 0)
		step(w, op);
	/* Whatever is left: deliver it, all checked. */
	w->budget = 0;
	for (int d = 0; d < NDEV; d++) {
		do_process(w, d);
		if (w->ipm[d])
			ipm_complete(w->ipm[d]);
		do_process(w, d);
	}
	world_free(w);
	return 0;
}
