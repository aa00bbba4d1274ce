/* SPDX-License-Identifier: MIT */
/*
 * A line-based shell on the UART with the commands and lines of Zephyr's
 * ipm_ivshmem sample and our ipm-shell, plus peek and poke of the shared
 * region, for tests and people. See README.md for the commands.
 */
#ifndef BM_SHELL_H
#define BM_SHELL_H

#include "platform.h"

struct notify;

/* Run forever: commands from the UART, notifications as they come. */
__attribute__((noreturn)) void shell_run(struct platform_ops *ops,
					 struct notify *n);

#endif
