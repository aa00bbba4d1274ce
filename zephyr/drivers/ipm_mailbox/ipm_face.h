/* SPDX-License-Identifier: MIT */
/* What the IPM face ("ivshmem-ipm,mailbox") offers the MBOX face. */
#ifndef IVSHMEM_IPM_ZEPHYR_IPM_FACE_H
#define IVSHMEM_IPM_ZEPHYR_IPM_FACE_H

#include <zephyr/device.h>

#include "link.h"

/* The link an "ivshmem-ipm,mailbox" device owns. */
struct ivm_link *ivm_link_of(const struct device *ipm_dev);

#endif
