/* SPDX-License-Identifier: MIT */
/* Byte sizes as users write them: "4096", "4K", "4M", "2G", "1T". */
#ifndef IVSHMEM_UTIL_SIZE_H
#define IVSHMEM_UTIL_SIZE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parse a decimal number with an optional binary suffix K, M, G, T, P or E
 * (case-insensitive, an optional trailing 'B' or "iB" accepted), as QEMU's
 * -l option does. Returns 0, -EINVAL for syntax, -ERANGE on overflow.
 */
int size_parse(const char *text, uint64_t *out);

/* Format as the shortest exact "<n><suffix>" (e.g. 4M, 1536K, 4097). */
void size_format(uint64_t size, char *buf, size_t len);

/*
 * Format for people: the largest unit that leaves at least 1, with one
 * decimal, rounded down (e.g. 23.5G, 512K, 4G, 1000). Exact multiples of
 * the unit get no decimal.
 */
void size_format_human(uint64_t size, char *buf, size_t len);

static inline int size_is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

#endif
