/* SPDX-License-Identifier: MIT */
#include "io.h"
#include "notify.h"
#include "platform.h"
#include "timer.h"

static int ring(void *ctx, uint16_t peer, uint16_t vector)
{
	struct notify *n = ctx;

	/* QEMU drops a doorbell for a peer or vector that is not there. */
	ivshmem_ring(n->iv, peer, vector);
	return 0;
}

static uint64_t now_ms(void *ctx)
{
	(void)ctx;
	return timer_now_ms();
}

static void relax(void *ctx)
{
	notify_idle(ctx);
}

static int wait(void *ctx, uint32_t timeout_ms)
{
	uint64_t deadline = timer_now_ms() + timeout_ms;
	int v;

	while ((v = notify_take(ctx)) < 0) {
		if (timer_now_ms() >= deadline)
			return -ETIMEDOUT;
		notify_idle(ctx);
	}
	return v;
}

void platform_ops_init(struct platform_ops *ops, struct notify *n)
{
	ops->ctx = n;
	ops->mem = (volatile void *)n->iv->shm;
	ops->size = n->iv->shm_size;
	ops->id = n->iv->id;
	ops->vectors = (uint16_t)n->iv->vectors;
	ops->ring = ring;
	ops->now_ms = now_ms;
	ops->relax = relax;
	ops->wait = wait;
}
