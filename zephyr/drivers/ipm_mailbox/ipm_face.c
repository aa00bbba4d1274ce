/* SPDX-License-Identifier: MIT */
/*
 * The IPM face ("ivshmem-ipm,mailbox"): Zephyr's ipm_driver_api over the
 * link, which this device owns (its data starts with the link, so that
 * the MBOX face of a child node finds it: ivm_link_of()).
 */
#define DT_DRV_COMPAT ivshmem_ipm_mailbox

#include <errno.h>
#include <ivshmem_ipm/ipm_mailbox.h>
#include <zephyr/device.h>
#include <zephyr/drivers/ipm.h>

#include "link.h"
#include "ipm_face.h"

struct ipm_face_data {
	struct ivm_link link;		/* first: ivm_link_of() */
	struct k_spinlock lock;		/* the three below */
	ipm_callback_t cb;
	void *user_data;
	bool enabled;
	const struct device *dev;
};

struct ipm_face_config {
	const struct device *ivshmem;
	k_thread_stack_t *stack;
	size_t stack_size;
};

struct ivm_link *ivm_link_of(const struct device *ipm_dev)
{
	return &((struct ipm_face_data *)ipm_dev->data)->link;
}

static void arrived(void *face, uint32_t peer, const struct mbox_msg *msg)
{
	struct ipm_face_data *d = face;
	k_spinlock_key_t key = k_spin_lock(&d->lock);
	ipm_callback_t cb = d->enabled ? d->cb : NULL;
	void *user_data = d->user_data;

	k_spin_unlock(&d->lock, key);
	if (!cb)
		return;
	/* A bare doorbell as ipm_ivshmem gives it: id 0, no data. */
	if (!msg)
		cb(d->dev, user_data, 0, NULL);
	else
		cb(d->dev, user_data, peer, (volatile void *)msg);
}

static int face_send(const struct device *dev, int wait, uint32_t id,
		     const void *data, int size)
{
	if (size < 0 || (size > 0 && !data))
		return -EINVAL;
	return ivm_link_send(ivm_link_of(dev), wait, id, data, (size_t)size);
}

static int face_max_data_size_get(const struct device *dev)
{
	return ivm_link_max_data(ivm_link_of(dev));
}

static uint32_t face_max_id_val_get(const struct device *dev)
{
	ARG_UNUSED(dev);
	return IPM_IVSHMEM_MAILBOX_MAX_PEER;
}

static void face_register_callback(const struct device *dev,
				   ipm_callback_t cb, void *user_data)
{
	struct ipm_face_data *d = dev->data;
	k_spinlock_key_t key = k_spin_lock(&d->lock);

	d->cb = cb;
	d->user_data = user_data;
	k_spin_unlock(&d->lock, key);
}

/*
 * Enabled from the start, as ipm_ivshmem behaves (its applications never
 * call this). Disabled: the callback is not called; what arrives meanwhile
 * is dropped, messages too (the link completes them for both faces at
 * once, and the MBOX face may be listening).
 */
static int face_set_enabled(const struct device *dev, int enable)
{
	struct ipm_face_data *d = dev->data;
	k_spinlock_key_t key = k_spin_lock(&d->lock);

	d->enabled = enable != 0;
	k_spin_unlock(&d->lock, key);
	return 0;
}

static int face_init(const struct device *dev)
{
	const struct ipm_face_config *cfg = dev->config;
	struct ipm_face_data *d = dev->data;
	int rc;

	d->dev = dev;
	d->enabled = true;
	rc = ivm_link_init(&d->link, cfg->ivshmem, cfg->stack,
			   cfg->stack_size);
	if (rc == 0)
		rc = ivm_link_listen(&d->link, arrived, d);
	return rc;
}

static const struct ipm_driver_api face_api = {
	.send = face_send,
	.register_callback = face_register_callback,
	.max_data_size_get = face_max_data_size_get,
	.max_id_val_get = face_max_id_val_get,
	.set_enabled = face_set_enabled,
};

#define IPM_FACE_DEFINE(inst)						\
	K_THREAD_STACK_DEFINE(ipm_face_stack_##inst,			\
			      CONFIG_IPM_IVSHMEM_MAILBOX_RX_STACK_SIZE); \
	static const struct ipm_face_config ipm_face_config_##inst = {	\
		.ivshmem = DEVICE_DT_GET(DT_INST_PHANDLE(inst, ivshmem)), \
		.stack = ipm_face_stack_##inst,				\
		.stack_size = K_THREAD_STACK_SIZEOF(ipm_face_stack_##inst), \
	};								\
	static struct ipm_face_data ipm_face_data_##inst;		\
	DEVICE_DT_INST_DEFINE(inst, face_init, NULL,			\
			      &ipm_face_data_##inst,			\
			      &ipm_face_config_##inst, POST_KERNEL,	\
			      CONFIG_IPM_IVSHMEM_MAILBOX_INIT_PRIORITY,	\
			      &face_api);

DT_INST_FOREACH_STATUS_OKAY(IPM_FACE_DEFINE)
