/* SPDX-License-Identifier: MIT */
/*
 * What an application of the ivshmem-ipm Zephyr driver needs beyond
 * <zephyr/drivers/ipm.h> and <zephyr/drivers/mbox.h>.
 *
 * IPM face ("ivshmem-ipm,mailbox"): ipm_send(dev, wait, peer, data, size)
 * with size 0 rings vector 0 of that peer (as Zephyr's ipm_ivshmem does);
 * with data, a mailbox message (wait: until the receiver completed it).
 * The callback gets, for a mailbox message, id = the sender's peer id and
 * data = a const struct mbox_msg * valid during the call; for a bare
 * doorbell (a vector-0 ring that brought no message) id 0 and data NULL,
 * as ipm_ivshmem gives.
 *
 * MBOX face ("ivshmem-ipm,mailbox-mbox", a child node): channel N is
 * peer N. A bare doorbell comes in with msg NULL on every enabled channel.
 */
#ifndef IVSHMEM_IPM_ZEPHYR_IPM_MAILBOX_H
#define IVSHMEM_IPM_ZEPHYR_IPM_MAILBOX_H

#include <zephyr/drivers/mbox.h>

/* ivshmem peer ids are 16 bits (the doorbell register's upper half). */
#define IPM_IVSHMEM_MAILBOX_MAX_PEER 65535u

/* The message an IPM callback's data points to (NULL: a bare doorbell). */
static inline const struct mbox_msg *
ipm_ivshmem_mailbox_msg(volatile void *data)
{
	return (const struct mbox_msg *)data;
}

#endif
