/* SPDX-License-Identifier: MIT */
/*
 * The link (link.h): Zephyr's ivshmem driver as the mailbox core's
 * environment, and the receive thread that its vector-0 handler wakes.
 *
 * What waits for the core (issue 14, item 1, built by another change):
 * link_drain() runs its receive pass, ivm_link_send() its send for size >
 * 0, ivm_link_max_data() its limit, and ivm_link_init() lays out or adopts
 * the region (the link's mem and size). Until then only doorbells travel.
 */
#include "link.h"

#include <errno.h>
#include <ivshmem_ipm/ipm_mailbox.h>
#include <zephyr/drivers/virtualization/ivshmem.h>
#include <zephyr/logging/log.h>

LOG_MODULE_REGISTER(ipm_ivshmem_mailbox, CONFIG_IPM_LOG_LEVEL);

static int env_ring(void *ctx, uint32_t peer, uint16_t vector)
{
	return ivshmem_int_peer((const struct device *)ctx, peer, vector);
}

static int64_t env_now_ms(void *ctx)
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
 * The core's receive pass: deliver every message waiting for us and
 * return how many. No core yet, so no messages: every ring is a bare
 * doorbell.
 */
static int link_drain(struct ivm_link *l)
{
	ARG_UNUSED(l);
	return 0;
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
		int vector;

		k_poll(&ev, 1, K_FOREVER);
		k_poll_signal_check(&l->sig, &signaled, &vector);
		/* Reset before the work: a ring meanwhile wakes us again. */
		k_poll_signal_reset(&l->sig);
		ev.state = K_POLL_STATE_NOT_READY;
		if (!signaled)
			continue;
		/* A ring that brought no message is the sample's doorbell. */
		if (link_drain(l) == 0)
			deliver(l, IVM_PEER_UNKNOWN, NULL);
	}
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
	l->env = (struct ivm_env){
		.ring = env_ring,
		.now_ms = env_now_ms,
		.relax = env_relax,
		.ctx = (void *)ivshmem,
	};
	l->size = ivshmem_get_mem(ivshmem, &l->mem);
	l->id = ivshmem_get_id(ivshmem);
	l->vectors = ivshmem_get_vectors(ivshmem);
	if (l->vectors == 0) {
		LOG_ERR("%s has no doorbell vectors", ivshmem->name);
		return -ENODEV;
	}
	k_poll_signal_init(&l->sig);
	rc = ivshmem_register_handler(ivshmem, &l->sig, 0);
	if (rc < 0) {
		LOG_ERR("cannot take vector 0 of %s: %d", ivshmem->name, rc);
		return rc;
	}
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

int ivm_link_send(struct ivm_link *l, int wait, uint32_t peer,
		  const void *data, size_t size)
{
	if (peer > IPM_IVSHMEM_MAILBOX_MAX_PEER)
		return -EINVAL;
	if (size == 0) {
		/* A ring is never acknowledged: nothing to wait for. */
		ARG_UNUSED(wait);
		return l->env.ring(l->env.ctx, peer, 0);
	}
	/*
	 * A payload is the core's job (its send: reserve, copy, publish,
	 * ring if the receiver sleeps, wait for the ack when wait is set).
	 * Until the core lands there is no mailbox to put it in.
	 */
	ARG_UNUSED(data);
	return -ENOTSUP;
}

int ivm_link_max_data(const struct ivm_link *l)
{
	/* The core's limit (its queue capacity less a record header). */
	ARG_UNUSED(l);
	return 0;
}
