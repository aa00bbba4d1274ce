/* SPDX-License-Identifier: MIT */
/*
 * Doorbell mode, wire-compatible with Zephyr's ipm_ivshmem driver: a send
 * rings vector 0 of peer 'id', nothing is carried, the shared memory is
 * not touched, and the callback gets id 0 and no data.
 */
#include <errno.h>

#include "backend.h"

#define DOORBELL_VECTOR 0

static int db_open(struct ipm *ipm)
{
	return ipm->t->ops->vector_fd(ipm->t, DOORBELL_VECTOR) >= 0 ? 0 :
									-ENOTSUP;
}

static void db_close(struct ipm *ipm)
{
	(void)ipm;
}

static int db_send(struct ipm *ipm, int wait, uint32_t id, const void *data,
		   size_t size)
{
	struct ivshm_transport *t = ipm->t;
	int rc;

	/* As in Zephyr's driver, 'wait' has nothing to wait for. */
	(void)wait;
	(void)data;
	(void)size;
	/* Ringing is a system call anyway: one more keeps joins and leaves
	 * exact here, where the mailbox's fast path cannot afford it. */
	ipm->presence_due = 1;
	ipm_drain_presence(ipm, NULL);
	if (t->ops->peer_live(t, (int)id) == 0)
		return -ENOTCONN;
	rc = t->ops->ring(t, (int)id, DOORBELL_VECTOR);
	return rc == -ENOENT ? -ENOTCONN : rc;
}

static int db_max_data_size(const struct ipm *ipm)
{
	(void)ipm;
	return 0;
}

static void db_complete(struct ipm *ipm)
{
	(void)ipm;
}

static int db_process(struct ipm *ipm)
{
	int rc = ipm_drain_presence(ipm, NULL), n;

	if (rc < 0 && rc != -ENOTCONN)
		return rc;
	/*
	 * Consume the eventfd even while disabled (or poll would spin) but
	 * keep the notification pending, as a masked interrupt is.
	 */
	n = ipm->t->ops->ack(ipm->t, DOORBELL_VECTOR);
	if (n < 0)
		return n;
	if (n > 0)
		ipm->priv = ipm; /* pending */
	if (!ipm->enabled || !ipm->priv)
		return 0;
	ipm->priv = NULL;
	ipm->delivered++;
	/* Zephyr's driver calls back once per wake-up, whatever the count. */
	if (ipm->cb)
		ipm->cb(ipm, ipm->user_data, 0, NULL, 0);
	return 1;
}

static int db_wait(struct ipm *ipm, int timeout_ms)
{
	return ipm_wait_fds(ipm, timeout_ms);
}

static int db_peers(struct ipm *ipm, int *ids, int max)
{
	(void)ipm;
	(void)ids;
	(void)max;
	return -ENOTSUP;
}

const struct ipm_backend_ops ipm_doorbell_ops = {
	.name = "doorbell",
	.open = db_open,
	.close = db_close,
	.send = db_send,
	.max_data_size = db_max_data_size,
	.complete = db_complete,
	.process = db_process,
	.wait = db_wait,
	.peers = db_peers,
};
