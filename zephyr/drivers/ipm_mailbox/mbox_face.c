/* SPDX-License-Identifier: MIT */
/*
 * The MBOX face ("ivshmem-ipm,mailbox-mbox", a child of an
 * "ivshmem-ipm,mailbox" node): Zephyr's mbox_driver_api over the link its
 * parent owns. Channel N is peer N. A channel delivers only once enabled
 * (channels start disabled, as mbox.h asks); the table holds
 * CONFIG_IPM_IVSHMEM_MAILBOX_MBOX_CHANNELS channels with a callback or
 * enabled at once.
 */
#define DT_DRV_COMPAT ivshmem_ipm_mailbox_mbox

#include <errno.h>
#include <ivshmem_ipm/ipm_mailbox.h>
#include <zephyr/device.h>
#include <zephyr/drivers/mbox.h>

#include "ipm_face.h"
#include "link.h"

#define CHANNELS CONFIG_IPM_IVSHMEM_MAILBOX_MBOX_CHANNELS

struct mbox_face_channel {
	bool used;
	bool enabled;
	uint32_t id;
	mbox_callback_t cb;
	void *user_data;
};

struct mbox_face_data {
	struct k_spinlock lock;		/* ch[] */
	struct mbox_face_channel ch[CHANNELS];
	const struct device *dev;
};

struct mbox_face_config {
	const struct device *parent;
};

static struct ivm_link *link_of(const struct device *dev)
{
	const struct mbox_face_config *cfg = dev->config;

	return ivm_link_of(cfg->parent);
}

/* The entry of channel id, or a new one (add); NULL. Under the lock. */
static struct mbox_face_channel *find(struct mbox_face_data *d, uint32_t id,
				      bool add)
{
	struct mbox_face_channel *spare = NULL;

	for (int i = 0; i < CHANNELS; i++) {
		if (d->ch[i].used && d->ch[i].id == id)
			return &d->ch[i];
		if (!d->ch[i].used && !spare)
			spare = &d->ch[i];
	}
	if (!add || !spare)
		return NULL;
	*spare = (struct mbox_face_channel){ .used = true, .id = id };
	return spare;
}

static void call(const struct device *dev, const struct mbox_face_channel *c,
		 const struct mbox_msg *msg)
{
	/* mbox_callback_t takes a non-const message it must not change. */
	c->cb(dev, c->id, c->user_data, (struct mbox_msg *)msg);
}

/*
 * A message goes to its sender's channel; a bare doorbell, whose ringer
 * ivshmem does not name, to every enabled channel. Callbacks run outside
 * the lock on a copy of the entry.
 */
static void arrived(void *face, uint32_t peer, const struct mbox_msg *msg)
{
	struct mbox_face_data *d = face;

	for (int i = 0; i < CHANNELS; i++) {
		k_spinlock_key_t key = k_spin_lock(&d->lock);
		struct mbox_face_channel c = d->ch[i];

		k_spin_unlock(&d->lock, key);
		if (!c.used || !c.enabled || !c.cb)
			continue;
		if (peer == IVM_PEER_UNKNOWN || peer == c.id)
			call(d->dev, &c, msg);
	}
}

/* Signalling (msg NULL, or no bytes) rings vector 0 of peer channel. */
static int face_send(const struct device *dev, uint32_t channel,
		     const struct mbox_msg *msg)
{
	if (msg && msg->size && !msg->data)
		return -EINVAL;
	return ivm_link_send(link_of(dev), 0, channel, msg ? msg->data : NULL,
			     msg ? msg->size : 0);
}

/*
 * Set channel's callback (set_cb) or its enabled state from want, taking
 * an entry when it needs one and freeing it once it has neither.
 */
static int update(const struct device *dev, uint32_t channel,
		  const struct mbox_face_channel *want, bool set_cb)
{
	struct mbox_face_data *d = dev->data;
	bool needed = set_cb ? want->cb != NULL : want->enabled;
	struct mbox_face_channel *c;
	k_spinlock_key_t key;
	int rc = 0;

	if (channel > IPM_IVSHMEM_MAILBOX_MAX_PEER)
		return -EINVAL;
	key = k_spin_lock(&d->lock);
	c = find(d, channel, needed);
	if (c) {
		if (set_cb) {
			c->cb = want->cb;
			c->user_data = want->user_data;
		} else {
			c->enabled = want->enabled;
		}
		c->used = c->cb || c->enabled;
	} else if (needed) {
		rc = -ENOMEM;
	}
	k_spin_unlock(&d->lock, key);
	return rc;
}

static int face_register_callback(const struct device *dev, uint32_t channel,
				  mbox_callback_t cb, void *user_data)
{
	const struct mbox_face_channel want = {
		.cb = cb, .user_data = user_data
	};

	return update(dev, channel, &want, true);
}

static int face_set_enabled(const struct device *dev, uint32_t channel,
			    bool enable)
{
	const struct mbox_face_channel want = { .enabled = enable };

	return update(dev, channel, &want, false);
}

/* The largest message: the core's limit (0: signalling only). */
static int face_mtu_get(const struct device *dev)
{
	return ivm_link_max_data(link_of(dev));
}

static uint32_t face_max_channels_get(const struct device *dev)
{
	ARG_UNUSED(dev);
	return IPM_IVSHMEM_MAILBOX_MAX_PEER + 1;
}

static int face_init(const struct device *dev)
{
	const struct mbox_face_config *cfg = dev->config;
	struct mbox_face_data *d = dev->data;

	/* The parent set the link up first (its init priority is lower). */
	if (!device_is_ready(cfg->parent))
		return -ENODEV;
	d->dev = dev;
	return ivm_link_listen(ivm_link_of(cfg->parent), arrived, d);
}

static const struct mbox_driver_api face_api = {
	.send = face_send,
	.register_callback = face_register_callback,
	.mtu_get = face_mtu_get,
	.max_channels_get = face_max_channels_get,
	.set_enabled = face_set_enabled,
};

BUILD_ASSERT(CONFIG_IPM_IVSHMEM_MAILBOX_MBOX_INIT_PRIORITY >
	     CONFIG_IPM_IVSHMEM_MAILBOX_INIT_PRIORITY,
	     "the MBOX face starts after the IPM face that owns the link");

#define MBOX_FACE_DEFINE(inst)						\
	BUILD_ASSERT(DT_NODE_HAS_COMPAT(DT_INST_PARENT(inst),		\
					ivshmem_ipm_mailbox),		\
		     "an ivshmem-ipm,mailbox-mbox node is the child of an " \
		     "ivshmem-ipm,mailbox node");			\
	static const struct mbox_face_config mbox_face_config_##inst = { \
		.parent = DEVICE_DT_GET(DT_INST_PARENT(inst)),		\
	};								\
	static struct mbox_face_data mbox_face_data_##inst;		\
	DEVICE_DT_INST_DEFINE(inst, face_init, NULL,			\
			      &mbox_face_data_##inst,			\
			      &mbox_face_config_##inst, POST_KERNEL,	\
			      CONFIG_IPM_IVSHMEM_MAILBOX_MBOX_INIT_PRIORITY, \
			      &face_api);

DT_INST_FOREACH_STATUS_OKAY(MBOX_FACE_DEFINE)
