/* SPDX-License-Identifier: MIT */
/*
 * The only way the core touches shared memory. Every peer can write every
 * byte of the region at any time, so nothing here is trusted: a value is
 * loaded once into a local, checked, and only the local is used.
 *
 * Ordering, stated once:
 *  - shm_store_release(p, v): every store this peer made before it (a
 *    record's bytes, a header) is visible to a peer whose shm_load_acquire
 *    of the same word returns v. Used for each word that publishes
 *    something: a record's stamp, head, tail, tail_check, ack, cgen,
 *    pgen, magic.
 *  - shm_load_acquire(p): pairs with the release above; what the writer
 *    stored before it may then be read.
 *  - shm_load_relaxed / shm_store_relaxed (and the 32-bit ones for the
 *    slot's flags): a single, untorn access with no
 *    ordering: for our own words re-checked against a private copy, and
 *    for flags ordered by an explicit shm_fence().
 *  - shm_cas(p, &old, new): sequentially consistent compare-and-swap of
 *    one word (a record's state, a slot's owner, the header's init).
 *  - shm_fetch_add(p, v): a sequentially consistent add to one word (the
 *    core has no use for it; the tests' hostile peers move a word in place).
 *  - shm_fence(): a full fence. The sleeping and wants_ack handshakes are
 *    "store, fence, load" on both sides, so one side sees the other.
 *  - shm_copy_in / shm_copy_out / shm_zero: plain bytes (payloads, record
 *    headers, a region being laid out).
 *    A reader copies into private memory first and validates the copy
 *    (checksum, bounds), never the shared bytes.
 *
 * All words are 64-bit, naturally aligned. Where the CPU has no 64-bit
 * atomics (Cortex-M) the compiler calls the __atomic_*_8 helpers, which
 * the environment provides (tests/core/freestanding.sh names them).
 * Freestanding: only the compiler's builtins.
 */
#ifndef IVSHMEM_CORE_SHM_ACCESS_H
#define IVSHMEM_CORE_SHM_ACCESS_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t shm_load_acquire(const void *p)
{
	return __atomic_load_n((const uint64_t *)p, __ATOMIC_ACQUIRE);
}

static inline uint64_t shm_load_relaxed(const void *p)
{
	return __atomic_load_n((const uint64_t *)p, __ATOMIC_RELAXED);
}

static inline void shm_store_release(void *p, uint64_t v)
{
	__atomic_store_n((uint64_t *)p, v, __ATOMIC_RELEASE);
}

static inline void shm_store_relaxed(void *p, uint64_t v)
{
	__atomic_store_n((uint64_t *)p, v, __ATOMIC_RELAXED);
}

/* The slot table's two 32-bit flags (sleeping, wants_ack). */
static inline uint32_t shm_load32_relaxed(const void *p)
{
	return __atomic_load_n((const uint32_t *)p, __ATOMIC_RELAXED);
}

static inline void shm_store32_relaxed(void *p, uint32_t v)
{
	__atomic_store_n((uint32_t *)p, v, __ATOMIC_RELAXED);
}

/* 1 when *p held *old and now holds v; else 0 with *old what it held. */
static inline int shm_cas(void *p, uint64_t *old, uint64_t v)
{
	return __atomic_compare_exchange_n((uint64_t *)p, old, v, 0,
					   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/* Adds v to *p in one access; returns what *p held. */
static inline uint64_t shm_fetch_add(void *p, uint64_t v)
{
	return __atomic_fetch_add((uint64_t *)p, v, __ATOMIC_SEQ_CST);
}

static inline void shm_fence(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static inline void shm_copy_in(void *shared, const void *priv, size_t n)
{
	__builtin_memcpy(shared, priv, n);
}

static inline void shm_copy_out(void *priv, const void *shared, size_t n)
{
	__builtin_memcpy(priv, shared, n);
}

/* Clearing lines nobody uses yet (laying a region out). */
static inline void shm_zero(void *shared, size_t n)
{
	__builtin_memset(shared, 0, n);
}

#endif
