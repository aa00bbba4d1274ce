/* SPDX-License-Identifier: MIT */
#ifndef BM_STRING_H
#define BM_STRING_H

#include <stddef.h>
#include <stdint.h>

#include "io.h"

void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
/* Decimal or 0x-hex, the whole string; 0 or -EINVAL / -ERANGE. */
int parse_u64(const char *s, uint64_t *out);

#endif
