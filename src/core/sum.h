/* SPDX-License-Identifier: MIT */
/*
 * The mailbox's checksum (docs/mailbox-layout.md, "Records"): CRC-32C in
 * four interleaved lanes over the payload, folded with the header. Only
 * memcpy from libc, no allocation, no global state: it goes with the
 * queue protocol wherever that runs.
 *
 * 'hw' selects the CPU's CRC instruction (SSE4.2, ARMv8 CRC); the caller
 * finds out once whether it has one (ipm_sum_hw()). Both give the same
 * values.
 */
#ifndef IVSHMEM_IPM_SUM_H
#define IVSHMEM_IPM_SUM_H

#include <stddef.h>
#include <stdint.h>

#define IPM_SUM_LANES 4

/* Lanes at their start value. */
static inline void ipm_lanes_init(uint32_t lanes[IPM_SUM_LANES])
{
	for (int k = 0; k < IPM_SUM_LANES; k++)
		lanes[k] = 0xffffffffu;
}

/*
 * Copy n bytes from src to dst while running the lanes over them, in one
 * pass: each word is loaded once, so what is summed is what was stored.
 * dst NULL: sum only.
 */
void ipm_sum_copy(void *dst, const void *src, size_t n,
		  uint32_t lanes[IPM_SUM_LANES], int hw);

/* CRC-32C of n bytes, continuing from crc (start with 0xffffffff). */
uint32_t ipm_crc32c(uint32_t crc, const void *p, size_t n, int hw);

/*
 * A record's sum: the lanes started with ipm_sum_head() over its stamp's
 * index and its IPMC_REC_SUMMED_LEN header bytes (a 64-byte block, zero
 * padded), run on over the payload with ipm_sum_copy(), then folded: the
 * CRC-32C (final xor) of the four lanes. One pass, the header included.
 */
#define IPM_SUM_HEAD 64
void ipm_sum_head(uint32_t lanes[IPM_SUM_LANES], uint64_t index,
		  const void *summed, int hw);
uint32_t ipm_sum_fold(const uint32_t lanes[IPM_SUM_LANES], int hw);

/*
 * All of it in one call: the sum of a record whose stamp's index is
 * 'index' and whose summed header bytes are at 'summed', its n payload
 * bytes copied from src to dst (dst NULL: summed only) on the way. The
 * same value as ipm_sum_head(), ipm_sum_copy() and ipm_sum_fold().
 */
uint32_t ipm_sum_rec(void *dst, const void *src, size_t n, uint64_t index,
		     const void *summed, int hw);

/* The check of an ack word: CRC-32C of seq, receiver and sender tokens. */
uint32_t ipm_ack_check(uint64_t seq, uint64_t dst, uint64_t src, int hw);

/* Whether this CPU has a CRC-32C instruction we can use. */
int ipm_sum_hw(void);

#endif
