/* SPDX-License-Identifier: MIT */
#include "core_errno.h"
#include "ipmc.h"
#include "mailbox.h"
#include "print.h"

/*
 * The copy a message is verified into. Messages larger than this (a
 * region of more than a few MiB per queue) make the open fail rather
 * than be truncated.
 */
#define COPY_MAX (1u << 20)
/*
 * After a blocking send the receiver's ack ring may still be on its way:
 * a vector-0 ring this soon after one is taken as the mailbox's.
 */
#define ACK_RING_MS 200

struct bm_mailbox {
	struct ipmc mb;
	struct ipmc_ops ops;
	struct platform_ops *plat;
	int open;
	uint64_t calm_at;	/* when a ring of ours may still come */
	uint64_t other;		/* vectors other than 0 the core's waits took */
	uint8_t copy[COPY_MAX];
};

static struct bm_mailbox the_mailbox;

static int ring(void *ctx, int peer, unsigned vector)
{
	struct bm_mailbox *m = ctx;

	return m->plat->ring(m->plat->ctx, (uint16_t)peer, (uint16_t)vector);
}

static long long now_ms(void *ctx)
{
	struct bm_mailbox *m = ctx;

	return (long long)m->plat->now_ms(m->plat->ctx);
}

static void relax(void *ctx)
{
	struct bm_mailbox *m = ctx;

	m->plat->relax(m->plat->ctx);
}

/* The core sleeps here only in a blocking send: until a ring, or ms. */
static int wait(void *ctx, int timeout_ms)
{
	struct bm_mailbox *m = ctx;
	uint64_t end = m->plat->now_ms(m->plat->ctx) + (uint64_t)timeout_ms;
	int v;

	for (;;) {
		uint64_t now = m->plat->now_ms(m->plat->ctx);

		if (now >= end)
			break;
		v = m->plat->wait(m->plat->ctx, (uint32_t)(end - now));
		if (v == 0)
			break;
		if (v > 0 && v < 64)
			m->other |= 1ull << v;
	}
	m->calm_at = m->plat->now_ms(m->plat->ctx) + ACK_RING_MS;
	return 0;
}

struct bm_mailbox *bm_mailbox(struct platform_ops *ops)
{
	the_mailbox.plat = ops;
	the_mailbox.ops = (struct ipmc_ops){
		.ctx = &the_mailbox, .ring = ring, .now_ms = now_ms,
		.relax = relax, .wait = wait,
	};
	return &the_mailbox;
}

/* Not secret, only unique across restarts: the counter at this moment. */
static uint32_t nonce(void)
{
	uint64_t t;

	__asm__ volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(t) :: "memory");
	t ^= t >> 32;
	t *= 0x9e3779b97f4a7c15ull;
	return (uint32_t)(t >> 32) | 1;
}

int bm_mailbox_open(struct bm_mailbox *m, unsigned slots)
{
	struct ipmc_config cfg = { .slots = slots, .nonce = nonce() };
	int rc;

	if (m->open) {
		printf("mailbox: already open\n");
		return -EALREADY;
	}
	rc = ipmc_open(&m->mb, (void *)m->plat->mem, m->plat->size,
		       m->plat->id, &cfg, &m->ops);
	if (rc) {
		printf("mailbox: cannot open the mailbox: error %d\n", rc);
		return rc;
	}
	if (ipmc_max_size(&m->mb) > COPY_MAX) {
		printf("mailbox: messages of up to %u bytes do not fit the "
		       "guest's %u-byte buffer\n", ipmc_max_size(&m->mb),
		       COPY_MAX);
		ipmc_close(&m->mb);
		return -ENOSPC;
	}
	m->open = 1;
	printf("mailbox: slot %u of %u, messages up to %u bytes\n", m->mb.me,
	       m->mb.g.slots, ipmc_max_size(&m->mb));
	return 0;
}

void bm_mailbox_close(struct bm_mailbox *m)
{
	if (!m->open)
		return;
	ipmc_close(&m->mb);
	m->open = 0;
}

int bm_mailbox_is_open(const struct bm_mailbox *m)
{
	return m->open;
}

int bm_mailbox_send(struct bm_mailbox *m, uint16_t peer, const void *data,
		    uint32_t len)
{
	int rc = ipmc_send(&m->mb, peer, data, len, 1);

	m->calm_at = m->plat->now_ms(m->plat->ctx) + ACK_RING_MS;
	return rc;
}

int bm_mailbox_has(struct bm_mailbox *m, uint16_t peer)
{
	int ids[IPMC_MAX_SLOTS], n = ipmc_peers(&m->mb, ids, IPMC_MAX_SLOTS);

	for (int i = 0; i < n; i++)
		if (ids[i] == peer)
			return 1;
	return 0;
}

int bm_mailbox_notify(struct bm_mailbox *m, uint16_t peer)
{
	return ipmc_send(&m->mb, peer, "", 0, 0);
}

int bm_mailbox_poll(struct bm_mailbox *m,
		    void (*fn)(void *arg, uint16_t peer, const void *data,
			       uint32_t len), void *arg)
{
	struct ipmc_msg msg;
	int n = 0;

	if (!m->open)
		return 0;
	while (ipmc_next(&m->mb, m->copy, &msg) == 1) {
		fn(arg, (uint16_t)ipmc_token_id(msg.src), msg.data, msg.len);
		ipmc_complete(&m->mb);
		n++;
	}
	return n;
}

int bm_mailbox_doorbell(struct bm_mailbox *m)
{
	return !m->open || m->plat->now_ms(m->plat->ctx) >= m->calm_at;
}

int bm_mailbox_take_other(struct bm_mailbox *m)
{
	for (int v = 1; v < 64; v++) {
		if (m->other & 1ull << v) {
			m->other &= ~(1ull << v);
			return v;
		}
	}
	return -1;
}

void bm_mailbox_print_peers(struct bm_mailbox *m)
{
	int ids[IPMC_MAX_SLOTS], n = ipmc_peers(&m->mb, ids, IPMC_MAX_SLOTS);

	printf("mailbox peers:");
	for (int i = 0; i < n; i++)
		printf(" %d", ids[i]);
	printf("%s\n", n ? "" : " none");
}

void bm_mailbox_print_stats(struct bm_mailbox *m)
{
	const struct ipmc_stats *s = &m->mb.stats;

	printf("mailbox stats: delivered %lu lost %lu corrupt %lu replayed %lu "
	       "withdrawn %lu foreign %lu dropped %lu send_withdrawn %lu\n",
	       s->delivered, s->lost, s->corrupt, s->replayed, s->withdrawn,
	       s->foreign, s->dropped, s->send_withdrawn);
}
