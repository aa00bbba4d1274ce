/* SPDX-License-Identifier: MIT */
/*
 * Error numbers: the environment's own where it has <errno.h> (a libc, a
 * RTOS), so the core's -errno values are what its callers expect; Linux's
 * values otherwise.
 */
#ifndef IVSHMEM_CORE_ERRNO_H
#define IVSHMEM_CORE_ERRNO_H

#if defined(__has_include) && __has_include(<errno.h>)
#include <errno.h>
#else
#define EINVAL          22
#define EBUSY           16
#define ENOSPC          28
#define EALREADY        114
#define ENOTCONN        107
#define ETIMEDOUT       110
#define EPROTO          71
#define EBADMSG         74
#define EMSGSIZE        90
#define EPROTONOSUPPORT 93
#define EINPROGRESS     115
#define ENOTSUP         95
#define EAGAIN          11
#endif

#endif
