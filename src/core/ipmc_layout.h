/* SPDX-License-Identifier: MIT */
/*
 * The mailbox layout, version 4, as docs/mailbox-layout.md defines it:
 * the same bytes src/ipm reads and writes. Plain integers: shared memory
 * is only ever accessed through shm_access.h.
 */
#ifndef IVSHMEM_CORE_LAYOUT_H
#define IVSHMEM_CORE_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#define IPMC_MAGIC          UINT64_C(0x4d50494d4d485356) /* "VSHMMIPM" */
#define IPMC_VERSION        4u
#define IPMC_LINE           64u
#define IPMC_MAX_SLOTS      64u
#define IPMC_MIN_SLOTS      2u
#define IPMC_HEADER_SIZE    8192u /* header line + 64 slot lines */
#define IPMC_QUEUE_CTL      (2 * IPMC_LINE)
#define IPMC_MIN_CAP        (4 * IPMC_LINE)
#define IPMC_HDR_UNCHECKED  1u
/*
 * A sleeping owner's 'sleeping': how it wants to be woken, a ring (its
 * counter +1) or a nudge (+0: it waits edge-triggered with its counter
 * above 0). Any other non-zero value: a ring.
 */
#define IPMC_SLEEP_RING     1u
#define IPMC_SLEEP_NUDGE    2u

/* Header line, offset 0. */
struct ipmc_hdr {
	uint64_t magic;        /* stored last, with release */
	uint64_t init;         /* token of the peer laying it out */
	uint32_t version;
	uint32_t slots;
	uint64_t region_size;
	uint64_t queue_offset;
	uint64_t queue_stride;
	uint64_t queue_cap;
	uint32_t flags;        /* IPMC_HDR_UNCHECKED */
	uint8_t pad[IPMC_LINE - 60];
};

/* Slot table, offset 64: one line per slot. */
struct ipmc_slot {
	uint64_t owner;        /* nonce << 32 | (peer id + 1); 0 free */
	uint32_t sleeping;     /* owner sleeps: IPMC_SLEEP_* */
	uint32_t wants_ack;    /* owner waits for a completion */
	uint64_t heartbeat;
	uint64_t bye;          /* goodbye: check << 32 | (u32)token */
	/* The owner's counters, published with each heartbeat: the words
	 * of ipmc_stats_words() (all 0: none published). */
	uint64_t stats[4];
};

/*
 * A slot's published counters (struct ipmc_stats, each saturating at its
 * field's maximum): words 0..2 hold delivered | lost << 32, corrupt |
 * replayed << 32, withdrawn | foreign << 32; word 3 dropped (u16) |
 * send_withdrawn (u16) << 16 | check << 32, the check a CRC-32C over the
 * rest, the owner's token and the slot number (docs/mailbox-layout.md).
 */
#define IPMC_STATS_WORDS 4
struct ipmc_slot_stats {
	uint32_t delivered, lost, corrupt, replayed, withdrawn, foreign;
	uint16_t dropped, send_withdrawn;
};

/* The words slot 'slot''s owner 'token' publishes for *st. */
void ipmc_stats_words(uint64_t w[IPMC_STATS_WORDS],
		      const struct ipmc_slot_stats *st, uint64_t token,
		      unsigned slot, int hw);
/*
 * What words w read from slot 'slot', whose owner word is 'token', say: 1
 * with *st (what that owner published), 0 when all are 0 (nothing
 * published: an older peer), -EBADMSG when the check fails (garbage, a
 * torn read, or a previous owner's).
 */
int ipmc_stats_read(const uint64_t w[IPMC_STATS_WORDS], uint64_t token,
		    unsigned slot, struct ipmc_slot_stats *st, int hw);

/* A queue's two control lines: the first the sender's, the second the
 * receiver's. */
struct ipmc_qctl {
	uint64_t head;         /* sender: bytes ever published (a hint) */
	uint64_t pgen;         /* sender's token */
	uint64_t head_check;   /* check << 32 | (u32)(head / 64) */
	uint8_t pad0[IPMC_LINE - 24];
	uint64_t tail;         /* receiver: a hint, see tail_check */
	uint64_t cgen;         /* receiver's token: attached */
	uint64_t ack;          /* check << 32 | (u32)seq */
	uint64_t claim;        /* the same over ~seq */
	uint64_t tail_check;   /* check << 32 | (u32)(tail / 64) */
	uint8_t pad1[IPMC_LINE - 40];
};

#define IPMC_REC_MSG  0x4753534du /* "MSSG" */
#define IPMC_REC_WRAP 0x50415257u /* "WRAP" */

#define IPMC_ST_PUBLISHED 1u
#define IPMC_ST_CLAIMED   2u
#define IPMC_ST_WITHDRAWN 3u
#define IPMC_ST_MASK      ((uint64_t)IPMC_LINE - 1)

#define IPMC_RF_ACK 1u

/* A record's header: 48 bytes at the start of a line. */
struct ipmc_rec {
	uint64_t end;          /* the stamp: index past it | state */
	uint32_t type;
	uint32_t len;
	uint64_t src;
	uint64_t dst;
	uint64_t seq;
	uint32_t flags;
	uint32_t sum;
};

#define IPMC_REC_HDR        48u
#define IPMC_REC_SUMMED_OFF 8u
#define IPMC_REC_SUMMED_LEN 36u

_Static_assert(sizeof(struct ipmc_hdr) == IPMC_LINE, "header line");
_Static_assert(sizeof(struct ipmc_slot) == IPMC_LINE, "slot line");
_Static_assert(offsetof(struct ipmc_slot, stats) == 32, "slot stats");
_Static_assert(sizeof(struct ipmc_qctl) == IPMC_QUEUE_CTL, "queue ctl");
_Static_assert(offsetof(struct ipmc_qctl, tail) == 64, "tail");
_Static_assert(offsetof(struct ipmc_qctl, tail_check) == 96, "tail_check");
_Static_assert(offsetof(struct ipmc_qctl, head_check) == 16, "head_check");
_Static_assert(sizeof(struct ipmc_rec) == IPMC_REC_HDR, "record header");
_Static_assert(offsetof(struct ipmc_rec, sum) ==
	       IPMC_REC_SUMMED_OFF + IPMC_REC_SUMMED_LEN, "summed bytes");
_Static_assert(IPMC_LINE * (1 + IPMC_MAX_SLOTS) <= IPMC_HEADER_SIZE,
	       "slot table fits");

static inline uint64_t ipmc_rec_size(uint64_t len)
{
	return (IPMC_REC_HDR + len + IPMC_LINE - 1) &
	       ~(uint64_t)(IPMC_LINE - 1);
}

/* A WRAP at ring offset off whose stamp is need bytes on: to the end. */
static inline int ipmc_rec_wraps(uint32_t type, uint64_t off, uint64_t need,
				 uint64_t cap)
{
	return type == IPMC_REC_WRAP && off != 0 && need == cap - off;
}

/*
 * A message of len bytes at ring offset off whose stamp is need bytes on:
 * its size is its length's, and it ends inside the ring.
 */
static inline int ipmc_rec_fits(uint32_t type, uint32_t len, uint64_t off,
				uint64_t need, uint64_t cap)
{
	return type == IPMC_REC_MSG && len <= cap &&
	       need == ipmc_rec_size(len) && off + need <= cap;
}

/* A token's peer id, or -1 when it is not a token (ids 0..65535). */
static inline int ipmc_token_id(uint64_t token)
{
	uint32_t low = (uint32_t)token;

	return low >= 1 && low <= 65536 ? (int)(low - 1) : -1;
}

struct ipmc_geometry {
	unsigned slots;
	uint64_t region_size;
	uint64_t queue_offset;
	uint64_t queue_stride;
	uint64_t queue_cap;
};

/* The geometry for 'slots' peers in 'size' bytes: 0, -EINVAL, -ENOSPC. */
int ipmc_geometry(struct ipmc_geometry *g, uint64_t size, unsigned slots);

/*
 * The most slots a region of 'size' bytes holds with every queue's ring at
 * least IPMC_USEFUL_CAP bytes (at most IPMC_MAX_SLOTS); a smaller region
 * gets 2 slots if it holds them at all, else -ENOSPC.
 */
#define IPMC_USEFUL_CAP (256u * 1024u)
int ipmc_default_slots(uint64_t size);

/* Queue number of the pair (from, to), from != to. */
static inline unsigned ipmc_queue_index(unsigned slots, unsigned from,
					unsigned to)
{
	return from * (slots - 1) + (to > from ? to - 1 : to);
}

#endif
