/* SPDX-License-Identifier: MIT */
/*
 * The link (link.h): Zephyr's ivshmem driver as the mailbox core's
 * environment (src/core: ring a peer's vector, k_uptime_get(), k_yield(),
 * a wait on our vector 0), and the receive thread that its vector-0
 * handler wakes. The core lays the region out or adopts the layout of the
 * peer that came first; should it find no mailbox it can join, the link
 * stays doorbells only.
 */
#include "link.h"

#include <errno.h>
#include <ivshmem_ipm/ipm_mailbox.h>
#include <zephyr/drivers/virtualization/ivshmem.h>
#include <zephyr/logging/log.h>

LOG_MODULE_REGISTER(ipm_ivshmem_mailbox, CONFIG_IPM_LOG_LEVEL);

/* As often as the core wants our heartbeat (guests have no presence). */
#define TICK_MS 250
/*
 * A ring that brings no message is the sample's doorbell, unless it may
 * be the mailbox's own: an ack for a send of ours, or the wake-up for a
 * message we had already taken by then (a sender rings a receiver that
 * flagged itself sleeping). Those come within this many ms.
 */
#define CALM_MS 200

/* The verified copy a message is delivered from (the receive thread's). */
static uint8_t copy_buf[CONFIG_IPM_IVSHMEM_MAILBOX_COPY_SIZE] __aligned(8);

static int env_ring(void *ctx, int peer, unsigned int vector)
{
	struct ivm_link *l = ctx;

	return ivshmem_int_peer(l->ivshmem, (uint32_t)peer, (uint16_t)vector);
}

static long long env_now_ms(void *ctx)
{
	ARG_UNUSED(ctx);
	return k_uptime_get();
}

/* The core's spin-wait step: let others run, unless we cannot sleep. */
static void env_relax(void *ctx)
{
	ARG_UNUSED(ctx);
	if (k_is_in_isr() || k_is_pre_kernel())
		arch_nop();
	else
		k_yield();
}

/*
 * A blocking send sleeps here, with the mailbox's mutex held once: let the
 * receive thread in meanwhile (it passes our vector-0 rings on).
 */
static int env_wait(void *ctx, int timeout_ms)
{
	struct ivm_link *l = ctx;

	l->waiting++;
	k_mutex_unlock(&l->mutex);
	k_sem_take(&l->rung, K_MSEC(timeout_ms));
	k_mutex_lock(&l->mutex, K_FOREVER);
	l->waiting--;
	l->calm_at = k_uptime_get() + CALM_MS;
	return 0;
}

static void deliver(struct ivm_link *l, uint32_t peer,
		    const struct mbox_msg *msg)
{
	for (int i = 0; i < IVM_FACES; i++) {
		k_spinlock_key_t key = k_spin_lock(&l->lock);
		ivm_arrival_fn fn = l->faces[i].fn;
		void *face = l->faces[i].face;

		k_spin_unlock(&l->lock, key);
		if (fn)
			fn(face, peer, msg);
	}
}

/*
 * The core's receive pass, under the mutex: deliver every message waiting
 * for us, completing each after its callbacks (which may send), and
 * return how many.
 */
static int link_drain(struct ivm_link *l)
{
	struct ipmc_msg m;
	int n = 0;
	int64_t now = k_uptime_get();

	if (l->mb_err)
		return 0;
	if (now - l->ticked_at >= TICK_MS) {
		l->ticked_at = now;
		ipmc_tick(&l->mb);
	}
	while (ipmc_next(&l->mb, copy_buf, &m) == 1) {
		struct mbox_msg msg = { .data = m.data, .size = m.len };

		deliver(l, (uint32_t)ipmc_token_id(m.src), &msg);
		ipmc_complete(&l->mb);
		n++;
	}
	if (n)
		l->calm_at = k_uptime_get() + CALM_MS;
	return n;
}

static void rx_thread(void *p1, void *p2, void *p3)
{
	struct ivm_link *l = p1;
	struct k_poll_event ev = K_POLL_EVENT_INITIALIZER(
		K_POLL_TYPE_SIGNAL, K_POLL_MODE_NOTIFY_ONLY, &l->sig);

	ARG_UNUSED(p2);
	ARG_UNUSED(p3);
	for (;;) {
		unsigned int signaled;
		int vector, got, more = 0, quiet;

		k_mutex_lock(&l->mutex, K_FOREVER);
		link_drain(l);
		/* Flag ourselves sleeping (senders ring us), look again. */
		if (!l->mb_err)
			more = ipmc_idle(&l->mb, IPMC_SLEEP_RING);
		k_mutex_unlock(&l->mutex);
		if (!more)
			k_poll(&ev, 1, l->mb_err ? K_FOREVER : K_MSEC(TICK_MS));
		k_poll_signal_check(&l->sig, &signaled, &vector);
		/* Reset before the work: a ring meanwhile wakes us again. */
		if (signaled)
			k_poll_signal_reset(&l->sig);
		ev.state = K_POLL_STATE_NOT_READY;

		k_mutex_lock(&l->mutex, K_FOREVER);
		if (!l->mb_err)
			ipmc_awake(&l->mb);
		quiet = !l->waiting && k_uptime_get() >= l->calm_at;
		got = link_drain(l);
		k_mutex_unlock(&l->mutex);
		if (!signaled)
			continue;
		/* A sleeping blocking send waits for this very ring. */
		k_sem_give(&l->rung);
		/* A ring that brought no message is the sample's doorbell. */
		if (got == 0 && quiet)
			deliver(l, IVM_PEER_UNKNOWN, NULL);
	}
}

static uint32_t nonce(const struct ivm_link *l)
{
	uint64_t x = k_cycle_get_64() ^ ((uint64_t)l->id << 48);

	x *= 0x9e3779b97f4a7c15ull;
	return (uint32_t)(x >> 32) | 1;
}

/* Join the region's mailbox, or say why the link rings doorbells only. */
static void link_open(struct ivm_link *l)
{
	struct ipmc_config cfg = {
		.slots = 0,	/* laying out: the most the region holds */
		/* Unique across restarts, not secret: the cycle counter. */
		.nonce = nonce(l),
	};

	l->ops = (struct ipmc_ops){
		.ctx = l,
		.ring = env_ring,
		.now_ms = env_now_ms,
		.relax = env_relax,
		.wait = env_wait,
	};
	l->mb_err = ipmc_open(&l->mb, (void *)l->mem, l->size, (int)l->id, &cfg,
			    &l->ops);
	if (l->mb_err) {
		LOG_WRN("no mailbox in the region (%d): doorbells only",
			l->mb_err);
		return;
	}
	if (ipmc_max_size(&l->mb) > sizeof(copy_buf)) {
		LOG_WRN("messages of up to %u bytes do not fit the %zu-byte "
			"copy (CONFIG_IPM_IVSHMEM_MAILBOX_COPY_SIZE): "
			"doorbells only", ipmc_max_size(&l->mb),
			sizeof(copy_buf));
		ipmc_close(&l->mb);
		l->mb_err = -ENOSPC;
		return;
	}
	LOG_INF("mailbox: slot %u of %u, messages up to %u bytes", l->mb.me,
		l->mb.g.slots, ipmc_max_size(&l->mb));
}

int ivm_link_init(struct ivm_link *l, const struct device *ivshmem,
		  k_thread_stack_t *stack, size_t stack_size)
{
	int rc;

	if (!device_is_ready(ivshmem)) {
		LOG_ERR("%s is not ready", ivshmem->name);
		return -ENODEV;
	}
	l->ivshmem = ivshmem;
	l->size = ivshmem_get_mem(ivshmem, &l->mem);
	l->id = ivshmem_get_id(ivshmem);
	l->vectors = ivshmem_get_vectors(ivshmem);
	if (l->vectors == 0) {
		LOG_ERR("%s has no doorbell vectors", ivshmem->name);
		return -ENODEV;
	}
	k_mutex_init(&l->mutex);
	k_sem_init(&l->rung, 0, 1);
	k_poll_signal_init(&l->sig);
	rc = ivshmem_register_handler(ivshmem, &l->sig, 0);
	if (rc < 0) {
		LOG_ERR("cannot take vector 0 of %s: %d", ivshmem->name, rc);
		return rc;
	}
	link_open(l);
	k_thread_create(&l->thread, stack, stack_size, rx_thread, l, NULL,
			NULL, CONFIG_IPM_IVSHMEM_MAILBOX_RX_PRIO, 0, K_NO_WAIT);
	k_thread_name_set(&l->thread, "ipm_mailbox_rx");
	LOG_INF("peer %u, %zu bytes at 0x%lx, %u vectors", l->id, l->size,
		(unsigned long)l->mem, l->vectors);
	return 0;
}

int ivm_link_listen(struct ivm_link *l, ivm_arrival_fn fn, void *face)
{
	k_spinlock_key_t key = k_spin_lock(&l->lock);
	int rc = -ENOSPC;

	for (int i = 0; i < IVM_FACES; i++) {
		if (!l->faces[i].fn) {
			l->faces[i].face = face;
			l->faces[i].fn = fn;
			rc = 0;
			break;
		}
	}
	k_spin_unlock(&l->lock, key);
	return rc;
}

/* Is peer a live mailbox peer, as our view has it? Under the mutex. */
static bool mailbox_peer(struct ivm_link *l, uint32_t peer)
{
	int ids[IPMC_MAX_SLOTS];
	int n = ipmc_peers(&l->mb, ids, IPMC_MAX_SLOTS);

	for (int i = 0; i < n; i++)
		if ((uint32_t)ids[i] == peer)
			return true;
	return false;
}

int ivm_link_send(struct ivm_link *l, int wait, uint32_t peer,
		  const void *data, size_t size)
{
	int rc;

	if (peer > IPM_IVSHMEM_MAILBOX_MAX_PEER)
		return -EINVAL;
	if (size > 0 && l->mb_err)
		return -ENOTSUP;	/* no mailbox to put it in */
	if (size > UINT32_MAX)
		return -EMSGSIZE;
	if (k_is_in_isr())
		return size ? -EWOULDBLOCK : env_ring(l, (int)peer, 0);
	k_mutex_lock(&l->mutex, K_FOREVER);
	if (size > 0) {
		rc = ipmc_send(&l->mb, (int)peer, data, (uint32_t)size,
			       wait != 0);
		/* Its ack's ring may come after we saw the ack. */
		l->calm_at = k_uptime_get() + CALM_MS;
	}
	else if (!l->mb_err && mailbox_peer(l, peer))
		/* Its vector 0 alone would look like a mailbox wake-up. */
		rc = ipmc_send(&l->mb, (int)peer, "", 0, 0);
	else
		rc = env_ring(l, (int)peer, 0);
	k_mutex_unlock(&l->mutex);
	return rc;
}

int ivm_link_max_data(const struct ivm_link *l)
{
	uint32_t max = l->mb_err ? 0 : ipmc_max_size(&l->mb);

	return max > INT32_MAX ? INT32_MAX : (int)max;
}
