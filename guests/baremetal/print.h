/* SPDX-License-Identifier: MIT */
/*
 * printf to the UART: %c %s %d %u %x %p, the l, ll and z length
 * modifiers, a field width with optional 0 padding. Nothing else.
 */
#ifndef BM_PRINT_H
#define BM_PRINT_H

__attribute__((format(printf, 1, 2))) void printf(const char *fmt, ...);

#endif
