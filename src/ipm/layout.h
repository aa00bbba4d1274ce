/* SPDX-License-Identifier: MIT */
/*
 * The mailbox's layout in shared memory, version 4 (docs/mailbox-layout.md),
 * seen as C11 atomics: for the tests that play a hostile peer and for
 * ivshmem-ctl, which need no more than this header. The code is the core's
 * (src/core, which has its own src/core/ipmc_layout.h); geometry.c asserts
 * that the two describe the same bytes.
 */
#ifndef IVSHMEM_IPM_LAYOUT_H
#define IVSHMEM_IPM_LAYOUT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define IPM_MAGIC          UINT64_C(0x4d50494d4d485356) /* "VSHMMIPM" */
#define IPM_LAYOUT_VERSION 4u
#define IPM_LINE           64u
#define IPM_MAX_SLOTS      64u
#define IPM_MIN_SLOTS      2u
#define IPM_HEADER_SIZE    8192u /* header line + 64 slot lines, rounded */
#define IPM_QUEUE_CTL      (2 * IPM_LINE)
#define IPM_MIN_CAP        (4 * IPM_LINE)

/* One line: the geometry, written once by the first mailbox peer. */
struct ipm_hdr {
	_Atomic uint64_t magic;   /* stored last, with release */
	_Atomic uint64_t init;    /* token of the peer initialising */
	uint32_t version;
	uint32_t slots;
	uint64_t region_size;
	uint64_t queue_offset;
	uint64_t queue_stride;    /* bytes per queue: control + data */
	uint64_t queue_cap;       /* data bytes per queue */
	uint32_t flags;           /* IPM_HDR_* */
	uint8_t pad[IPM_LINE - 60];
};

/* Records carry no checksum, receivers deliver in place: integrity off. */
#define IPM_HDR_UNCHECKED 1u

/* One line per peer slot. */
struct ipm_slot {
	/* 0: free; else the owner's token: nonce << 32 | (peer id + 1). */
	_Atomic uint64_t owner;
	_Atomic uint32_t sleeping;  /* owner sleeps on its doorbell: IPM_SLEEP_* */
	_Atomic uint32_t wants_ack; /* owner waits for a completion */
	_Atomic uint64_t heartbeat; /* presence where the transport has none */
	/* The owner's goodbye, stored before it frees the slot: ipm_bye(). */
	_Atomic uint64_t bye;
	/* The owner's counters: ipmc_stats_words() (src/core/ipmc_layout.h). */
	_Atomic uint64_t stats[4];
};

/*
 * How a sleeping owner wants to be woken: a ring (its eventfd's counter
 * +1), or a nudge (+0: it waits edge-triggered with its counter above 0).
 * Any other non-zero value: a ring.
 */
#define IPM_SLEEP_RING  1u
#define IPM_SLEEP_NUDGE 2u

/*
 * A queue from one slot to another: a byte ring of 'cap' bytes after two
 * control lines, each written by one side only. head and tail count bytes
 * ever published / consumed; both stay multiples of IPM_LINE.
 */
struct ipm_queue_ctl {
	_Atomic uint64_t head;  /* producer */
	_Atomic uint64_t pgen;  /* producer's token */
	_Atomic uint64_t head_check; /* head, checked (docs/mailbox-layout.md) */
	uint8_t pad0[IPM_LINE - 24];
	_Atomic uint64_t tail;  /* consumer: a hint, see tail_check */
	_Atomic uint64_t cgen;  /* consumer's token: it is attached */
	_Atomic uint64_t ack;   /* check << 32 | seq: last acked completion */
	_Atomic uint64_t claim; /* the same for the last ACK record claimed */
	/* check << 32 | tail / 64: the tail as the consumer wrote it */
	_Atomic uint64_t tail_check;
	uint8_t pad1[IPM_LINE - 40];
};

enum ipm_rec_type {
	IPM_REC_MSG = 0x4753534d,  /* "MSSG" */
	IPM_REC_WRAP = 0x50415257, /* "WRAP": continue at ring offset 0 */
};

/* A record's state: the low bits of its stamp (the index is a line). */
enum ipm_rec_state {
	IPM_ST_PUBLISHED = 1,
	IPM_ST_CLAIMED = 2,   /* by the receiver, by compare-and-swap */
	IPM_ST_WITHDRAWN = 3, /* by the sender, by compare-and-swap */
};
#define IPM_ST_MASK ((uint64_t)IPM_LINE - 1)

/* The sender waits: claim by compare-and-swap, ack on completion. */
#define IPM_RF_ACK 1u

/*
 * Each record starts on a line; the payload follows the header. 'end' is
 * stored last, with release: the receiver finds a new record by it, so a
 * message costs the lines it occupies and no other shared line.
 */
struct ipm_rec {
	uint64_t end;  /* index just past this record | its state: the stamp */
	uint32_t type;
	uint32_t len;
	uint64_t src;  /* sender's token */
	uint64_t dst;  /* receiver's token */
	uint64_t seq;  /* 1, 2, ... per (src, dst) pair in this queue */
	uint32_t flags; /* IPM_RF_* */
	uint32_t sum;  /* ipm_sum: index, bytes 8..43, payload */
};

/* The header bytes the checksum covers (after the stamp, before sum). */
#define IPM_REC_SUMMED_OFF 8u
#define IPM_REC_SUMMED_LEN 36u

static inline _Atomic uint64_t *ipm_rec_end(void *rec)
{
	return (_Atomic uint64_t *)rec;
}

#define IPM_REC_HDR sizeof(struct ipm_rec)

static inline uint64_t ipm_align_line(uint64_t v)
{
	return (v + IPM_LINE - 1) & ~(uint64_t)(IPM_LINE - 1);
}

static inline uint64_t ipm_rec_size(uint64_t len)
{
	return ipm_align_line(IPM_REC_HDR + len);
}

static inline int ipm_token_id(uint64_t token)
{
	uint32_t low = (uint32_t)token;

	return low >= 1 && low <= 65536 ? (int)(low - 1) : -1;
}

struct ipm_geometry {
	unsigned slots;
	uint64_t region_size;
	uint64_t queue_offset;
	uint64_t queue_stride;
	uint64_t queue_cap;
};

/* The geometry for 'slots' peers in a region of 'size' bytes; 0 or -ENOSPC. */
int ipm_geometry_compute(struct ipm_geometry *g, uint64_t size, unsigned slots);

/* Queue number of the pair (from, to), from != to. */
static inline unsigned ipm_queue_index(unsigned slots, unsigned from,
				       unsigned to)
{
	return from * (slots - 1) + (to > from ? to - 1 : to);
}

#endif
