/* SPDX-License-Identifier: MIT */
/*
 * Doorbell mode, wire-compatible with Zephyr's ipm_ivshmem driver: a send
 * rings vector 0 of peer 'id', nothing is carried, the shared memory is
 * not touched, and the callback gets id 0 and no data.
 */
#include <errno.h>

#include "backend.h"

#define DOORBELL_VECTOR 0

struct doorbell {
	struct ivshm_transport *t;
	int pending; /* rung, not yet delivered (disabled meanwhile) */
};

static int db_open(void *priv, const struct ipm_env *env)
{
	struct doorbell *db = priv;

	db->t = env->t;
	return db->t->ops->vector_fd(db->t, DOORBELL_VECTOR) >= 0 ? 0 :
								    -ENOTSUP;
}

static void db_close(void *priv)
{
	(void)priv;
}

static int db_send(void *priv, int wait, uint32_t id, const void *data,
		   size_t size)
{
	struct ivshm_transport *t = ((struct doorbell *)priv)->t;
	int rc;

	/* As in Zephyr's driver, 'wait' has nothing to wait for. The
	 * front read the presence news first (news_per_send). */
	(void)wait;
	(void)data;
	(void)size;
	if (t->ops->peer_live(t, (int)id) == 0)
		return -ENOTCONN;
	rc = t->ops->ring(t, (int)id, DOORBELL_VECTOR);
	return rc == -ENOENT ? -ENOTCONN : rc;
}

static int db_max_data_size(const void *priv)
{
	(void)priv;
	return 0;
}

/*
 * Consume the eventfd even while disabled (or a level-triggered wait
 * would spin) but keep the notification pending, as a masked interrupt is.
 */
static void db_hold(void *priv)
{
	struct doorbell *db = priv;

	if (db->t->ops->ack(db->t, DOORBELL_VECTOR) > 0)
		db->pending = 1;
}

static int db_next(void *priv, struct ipm_arrival *a)
{
	struct doorbell *db = priv;
	int n = db->t->ops->ack(db->t, DOORBELL_VECTOR);

	if (n < 0)
		return n;
	if (n > 0)
		db->pending = 1;
	if (!db->pending)
		return 0;
	db->pending = 0;
	/* Zephyr's driver calls back once per wake-up, whatever the count. */
	*a = (struct ipm_arrival){ .id = 0, .data = NULL, .size = 0 };
	return 1;
}

static void db_complete(void *priv)
{
	(void)priv;
}

static int db_peers(void *priv, int *ids, int max)
{
	(void)priv;
	(void)ids;
	(void)max;
	return -ENOTSUP;
}

const struct ipm_backend_ops ipm_doorbell_ops = {
	.name = "doorbell",
	.priv_size = sizeof(struct doorbell),
	.news_per_send = 1,
	.open = db_open,
	.close = db_close,
	.send = db_send,
	.max_data_size = db_max_data_size,
	.next = db_next,
	.complete = db_complete,
	.hold = db_hold,
	.peers = db_peers,
};
