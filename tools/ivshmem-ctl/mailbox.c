/* SPDX-License-Identifier: MIT */
/*
 * The region is hostile: any peer may write anything at any time. Each
 * field is read once (a volatile load) into a local; every offset used is
 * derived from locals that were checked against the mapping's size, so a
 * scribbled header shows as garbage and nothing is ever read out of
 * bounds. The mapping is PROT_READ: from the server the fd is read-only
 * anyway, so nothing here can write to the region.
 */
#include "mailbox.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ipmc_layout.h"
#include "sum.h"

struct view {
	const volatile uint8_t *base;
	uint64_t size;
	int json;
	int hw;                 /* the CPU's CRC-32C instruction */
	int problems;           /* inconsistencies found */
	char why[256];          /* the first, for the text summary */
};

static uint64_t rd64(const struct view *v, uint64_t off)
{
	return *(const volatile uint64_t *)(v->base + off);
}

static uint32_t rd32(const struct view *v, uint64_t off)
{
	return *(const volatile uint32_t *)(v->base + off);
}

__attribute__((format(printf, 2, 3)))
static void problem(struct view *v, const char *fmt, ...)
{
	va_list ap;

	if (!v->problems++) {
		va_start(ap, fmt);
		vsnprintf(v->why, sizeof(v->why), fmt, ap);
		va_end(ap);
	}
}

struct hdr {
	uint64_t magic, init, region_size, queue_offset, stride, cap;
	uint32_t version, slots, flags;
};

/* Is the geometry one we may walk? Sets v's problem otherwise. */
static int geometry_ok(struct view *v, const struct hdr *h)
{
	uint64_t nq;

	if (h->magic != IPMC_MAGIC) {
		problem(v, "no mailbox: magic 0x%016" PRIx64 ", expected "
			"0x%016" PRIx64, h->magic, IPMC_MAGIC);
		return 0;
	}
	if (h->version != IPMC_VERSION) {
		problem(v, "layout version %u, this program reads %u",
			h->version, IPMC_VERSION);
		return 0;
	}
	if (h->slots < IPMC_MIN_SLOTS || h->slots > IPMC_MAX_SLOTS) {
		problem(v, "%u slots (garbage: %u to %u)", h->slots,
			IPMC_MIN_SLOTS, IPMC_MAX_SLOTS);
		return 0;
	}
	if (h->region_size != v->size)
		problem(v, "the header says %" PRIu64 " bytes, the region has "
			"%" PRIu64, h->region_size, v->size);
	nq = (uint64_t)h->slots * (h->slots - 1);
	if (h->queue_offset < IPMC_HEADER_SIZE || h->queue_offset % IPMC_LINE ||
	    h->cap < IPMC_MIN_CAP || h->cap % IPMC_LINE ||
	    h->stride < IPMC_QUEUE_CTL + h->cap || h->stride % IPMC_LINE ||
	    h->stride > v->size / nq ||
	    h->queue_offset > v->size - nq * h->stride) {
		problem(v, "queue geometry out of the region (offset %" PRIu64
			", stride %" PRIu64 ", capacity %" PRIu64 ")",
			h->queue_offset, h->stride, h->cap);
		return 0;
	}
	return 1;
}

static void read_hdr(const struct view *v, struct hdr *h)
{
	h->magic = rd64(v, offsetof(struct ipmc_hdr, magic));
	h->init = rd64(v, offsetof(struct ipmc_hdr, init));
	h->version = rd32(v, offsetof(struct ipmc_hdr, version));
	h->slots = rd32(v, offsetof(struct ipmc_hdr, slots));
	h->region_size = rd64(v, offsetof(struct ipmc_hdr, region_size));
	h->queue_offset = rd64(v, offsetof(struct ipmc_hdr, queue_offset));
	h->stride = rd64(v, offsetof(struct ipmc_hdr, queue_stride));
	h->cap = rd64(v, offsetof(struct ipmc_hdr, queue_cap));
	h->flags = rd32(v, offsetof(struct ipmc_hdr, flags));
}

static void print_hdr(const struct view *v, const struct hdr *h,
		      const char *source)
{
	int magic_ok = h->magic == IPMC_MAGIC;

	if (v->json) {
		printf("\"source\":\"%s\",\"region_size\":%" PRIu64 ","
		       "\"header\":{\"magic\":\"0x%016" PRIx64 "\","
		       "\"magic_ok\":%s,\"init\":%" PRIu64 ",\"version\":%u,"
		       "\"slots\":%u,\"region_size\":%" PRIu64 ","
		       "\"queue_offset\":%" PRIu64 ",\"queue_stride\":%" PRIu64
		       ",\"queue_cap\":%" PRIu64 ",\"flags\":%u,"
		       "\"integrity\":%s}", source, v->size, h->magic,
		       magic_ok ? "true" : "false", h->init, h->version,
		       h->slots, h->region_size, h->queue_offset, h->stride,
		       h->cap, h->flags,
		       h->flags & IPMC_HDR_UNCHECKED ? "false" : "true");
		return;
	}
	printf("region     %" PRIu64 " bytes (%s), mapped read-only\n",
	       v->size, source);
	printf("header     magic 0x%016" PRIx64 " (%s), version %u, %u slots, "
	       "init token 0x%" PRIx64 "\n", h->magic,
	       magic_ok ? "mailbox" : "not a mailbox", h->version, h->slots,
	       h->init);
	printf("           region_size %" PRIu64 ", queues at %" PRIu64
	       ", stride %" PRIu64 ", capacity %" PRIu64 " bytes each\n",
	       h->region_size, h->queue_offset, h->stride, h->cap);
	printf("integrity  %s (flags 0x%x)\n", h->flags & IPMC_HDR_UNCHECKED ?
	       "off: records unchecked" : "on: every record checksummed",
	       h->flags);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t slot_off(unsigned s)
{
	return IPMC_LINE + (uint64_t)s * IPMC_LINE;
}

/*
 * Slot s's published counters (docs/mailbox-layout.md, "Slot table"): 1
 * with *st, 0 none published, -EBADMSG the check fails. The owner
 * rewrites them every 250 ms: a read torn by that is read again.
 */
static int read_counters(const struct view *v, unsigned s, uint64_t owner,
			 struct ipmc_slot_stats *st)
{
	uint64_t o = slot_off(s) + offsetof(struct ipmc_slot, stats);
	uint64_t w[IPMC_STATS_WORDS];
	int rc = 0;

	for (int tries = 0; tries < 3; tries++) {
		for (unsigned i = 0; i < IPMC_STATS_WORDS; i++)
			w[i] = rd64(v, o + 8 * i);
		rc = ipmc_stats_read(w, owner, s, st, v->hw);
		if (rc >= 0)
			break;
	}
	return rc;
}

static const char *counters_state(int rc)
{
	return rc > 0 ? "published" : rc == 0 ? "absent" : "bad_check";
}

static void json_counters(int rc, const struct ipmc_slot_stats *st)
{
	printf(",\"counters\":{\"state\":\"%s\"", counters_state(rc));
	if (rc > 0)
		printf(",\"delivered\":%u,\"lost\":%u,\"corrupt\":%u,"
		       "\"replayed\":%u,\"withdrawn\":%u,\"foreign\":%u,"
		       "\"dropped\":%u,\"send_withdrawn\":%u",
		       st->delivered, st->lost, st->corrupt, st->replayed,
		       st->withdrawn, st->foreign, st->dropped,
		       st->send_withdrawn);
	printf("}");
}

/* A counter, with '+' when it stands at its field's maximum (saturated). */
static void text_count(int width, uint32_t n, uint32_t max)
{
	char b[16];

	snprintf(b, sizeof(b), "%u%s", n, n == max ? "+" : "");
	printf(" %*s", width, b);
}

/* The counters each owner published in its slot line, as read. */
struct counters {
	uint64_t owner;
	int rc;
	struct ipmc_slot_stats st;
};

static void print_counters(const struct hdr *h, const struct counters *c)
{
	printf("\nSLOT PEER COUNTERS  DELIVERED       LOST    CORRUPT   "
	       "REPLAYED  WITHDRAWN    FOREIGN DROPPED SEND_WDRN\n");
	for (unsigned s = 0; s < h->slots; s++) {
		const struct ipmc_slot_stats *st = &c[s].st;
		int rc = c[s].rc;

		if (!c[s].owner)
			continue;
		printf("%4u %4d %-9s", s, ipmc_token_id(c[s].owner), rc > 0 ? "published" :
		       rc == 0 ? "absent" : "bad check");
		if (rc <= 0) {
			printf(rc == 0 ? "  (none: a peer of an older "
			       "build)\n" : "  (garbage, or a previous "
			       "owner's)\n");
			continue;
		}
		text_count(10, st->delivered, UINT32_MAX);
		text_count(10, st->lost, UINT32_MAX);
		text_count(10, st->corrupt, UINT32_MAX);
		text_count(10, st->replayed, UINT32_MAX);
		text_count(10, st->withdrawn, UINT32_MAX);
		text_count(10, st->foreign, UINT32_MAX);
		text_count(7, st->dropped, UINT16_MAX);
		text_count(9, st->send_withdrawn, UINT16_MAX);
		printf("\n");
	}
}

static void print_slots(struct view *v, const struct hdr *h, int interval_ms)
{
	struct counters c[IPMC_MAX_SLOTS] = { { 0 } };
	uint64_t hb0[IPMC_MAX_SLOTS];
	int64_t t0 = mono_ms(), waited = 0;

	for (unsigned s = 0; s < h->slots; s++)
		hb0[s] = rd64(v, slot_off(s) + offsetof(struct ipmc_slot,
							  heartbeat));
	if (interval_ms > 0) {
		usleep((useconds_t)interval_ms * 1000);
		waited = mono_ms() - t0;
	}
	if (v->json)
		printf(",\"heartbeat_interval_ms\":%lld,\"slots\":[",
		       (long long)waited);
	else
		printf("\nSLOT OWNER              PEER SLEEPING WANTS_ACK "
		       "HEARTBEAT  %-22s BYE\n", "HEARTBEAT AGE");
	for (unsigned s = 0; s < h->slots; s++) {
		uint64_t o = slot_off(s);
		uint64_t owner = rd64(v, o + offsetof(struct ipmc_slot, owner));
		uint32_t sl = rd32(v, o + offsetof(struct ipmc_slot, sleeping));
		uint32_t wa = rd32(v, o + offsetof(struct ipmc_slot,
						   wants_ack));
		uint64_t hb = rd64(v, o + offsetof(struct ipmc_slot,
						   heartbeat));
		uint64_t bye = rd64(v, o + offsetof(struct ipmc_slot, bye));
		int id = owner ? ipmc_token_id(owner) : -1;
		struct counters *ci = &c[s];
		char age[64], idtext[16];

		if (!owner)
			snprintf(age, sizeof(age), "-");
		else if (!waited)
			snprintf(age, sizeof(age), "not sampled");
		else if (hb != hb0[s])
			snprintf(age, sizeof(age), "< %lld ms (+%" PRIu64 ")",
				 (long long)waited, hb - hb0[s]);
		else
			/* A sleeper does not beat: only a busy one is stuck. */
			snprintf(age, sizeof(age), ">= %lld ms (%s)",
				 (long long)waited,
				 sl ? "asleep" : "not moving");
		if (owner && id < 0)
			problem(v, "slot %u: owner 0x%" PRIx64 " names no peer",
				s, owner);
		ci->owner = owner;
		if (owner)
			ci->rc = read_counters(v, s, owner, &ci->st);
		if (owner && ci->rc < 0)
			problem(v, "slot %u: its counters fail their check "
				"(garbage, or a previous owner's)", s);
		if (v->json) {
			printf("%s{\"slot\":%u,\"owner\":\"0x%" PRIx64 "\","
			       "\"peer\":%d,\"sleeping\":%u,\"wants_ack\":%u,"
			       "\"heartbeat\":%" PRIu64 ",\"heartbeat_moved\":"
			       "%s,\"bye\":\"0x%" PRIx64 "\"", s ? "," : "",
			       s, owner, id, sl, wa, hb,
			       !owner || !waited ? "null" :
			       hb != hb0[s] ? "true" : "false", bye);
			if (owner)
				json_counters(ci->rc, &ci->st);
			else
				printf(",\"counters\":null");
			printf("}");
			continue;
		}
		if (!owner) {
			printf("%4u free\n", s);
			continue;
		}
		snprintf(idtext, sizeof(idtext), "%d", id);
		printf("%4u 0x%016" PRIx64 " %4s %8u %9u %9" PRIu64 "  %-22s "
		       "0x%" PRIx64 "\n", s, owner, id < 0 ? "?" : idtext, sl,
		       wa, hb, age, bye);
	}
	if (v->json)
		printf("]");
	else
		print_counters(h, c);
}

/* The records pending in a queue, as the viewer finds them. */
struct walk {
	uint64_t valid;     /* published or claimed, their checksum verifies */
	uint64_t invalid;   /* a bad structure or checksum, or a scribbled stamp */
	uint64_t withdrawn; /* their sender withdrew them */
	uint64_t unwalked;  /* bytes past where the walk had to stop */
};

/* At most this many records per queue: bounded work whatever it holds. */
#define WALK_MAX 65536

/*
 * Walk the records from tail to head (both checked: head - tail <= cap,
 * multiples of 64) as a receiver would (docs/mailbox-layout.md,
 * "Receiving"), summing each payload where it is. Every record's span is
 * checked against the ring before it is read. A stamp or header that
 * makes no sense ends the walk: what follows cannot be found.
 */
static void walk_queue(const struct view *v, const struct hdr *h,
		       uint64_t ring, uint64_t tail, uint64_t head,
		       struct walk *w)
{
	const uint64_t cap = h->cap;
	uint64_t i = tail;
	int stuck = 0;

	*w = (struct walk){ 0 };
	for (unsigned n = 0; i < head && n < WALK_MAX; n++) {
		uint64_t off = i % cap, end, idx, need;
		unsigned st;
		struct ipmc_rec r;

		/* off is a line inside the ring: the header fits. */
		end = rd64(v, ring + off);
		r.type = rd32(v, ring + off + offsetof(struct ipmc_rec, type));
		r.len = rd32(v, ring + off + offsetof(struct ipmc_rec, len));
		r.src = rd64(v, ring + off + offsetof(struct ipmc_rec, src));
		r.dst = rd64(v, ring + off + offsetof(struct ipmc_rec, dst));
		r.seq = rd64(v, ring + off + offsetof(struct ipmc_rec, seq));
		r.flags = rd32(v, ring + off +
			       offsetof(struct ipmc_rec, flags));
		r.sum = rd32(v, ring + off + offsetof(struct ipmc_rec, sum));
		st = (unsigned)(end & IPMC_ST_MASK);
		idx = end & ~IPMC_ST_MASK;
		/* A receiver's claimed stamp holds the index's low 32 bits
		 * only (docs/mailbox-layout.md, "Records"). */
		if (end >> 63 && st == IPMC_ST_CLAIMED)
			idx = i + (uint32_t)((uint32_t)idx - (uint32_t)i);
		need = idx - i;
		if (st < IPMC_ST_PUBLISHED || st > IPMC_ST_WITHDRAWN ||
		    need - 1 >= cap || idx > head) {
			stuck = 1;
			break;
		}
		if (ipmc_rec_wraps(r.type, off, need, cap)) {
			i = idx;
			continue;
		}
		if (!ipmc_rec_fits(r.type, r.len, off, need, cap)) {
			stuck = 1;
			break;
		}
		i = idx;
		if (st == IPMC_ST_WITHDRAWN)
			w->withdrawn++;
		else if (h->flags & IPMC_HDR_UNCHECKED ||
			 ipm_sum_rec(NULL, (const void *)(v->base + ring +
				     off + IPMC_REC_HDR), r.len, idx,
				     (const uint8_t *)&r + IPMC_REC_SUMMED_OFF,
				     v->hw) == r.sum)
			w->valid++;
		else
			w->invalid++;
	}
	w->unwalked = head - i;
	w->invalid += stuck; /* the record (or stamp) it stopped at */
}

/* Each pair's queue: depth = head - tail, if head and tail make sense. */
static void print_queues(struct view *v, const struct hdr *h)
{
	int first = 1;

	if (v->json)
		printf(",\"queues\":[");
	else
		printf("\nFROM   TO %12s %12s %8s %18s %18s %10s %-14s %s\n",
		       "HEAD", "TAIL", "DEPTH", "PRODUCER", "CONSUMER",
		       "ACK_SEQ", "OK/BAD/WDRN", "STATE");
	for (unsigned from = 0; from < h->slots; from++) {
		for (unsigned to = 0; to < h->slots; to++) {
			uint64_t o, head, tail, pgen, cgen, ack, depth;
			const char *state;
			char dtext[24], rtext[64];
			struct walk w;
			int walked = 0;

			if (from == to)
				continue;
			o = h->queue_offset + (uint64_t)ipmc_queue_index(
				h->slots, from, to) * h->stride;
			head = rd64(v, o + offsetof(struct ipmc_qctl, head));
			pgen = rd64(v, o + offsetof(struct ipmc_qctl, pgen));
			tail = rd64(v, o + offsetof(struct ipmc_qctl, tail));
			cgen = rd64(v, o + offsetof(struct ipmc_qctl, cgen));
			ack = rd64(v, o + offsetof(struct ipmc_qctl, ack));
			depth = head - tail;
			if (head < tail || depth > h->cap || head % IPMC_LINE ||
			    tail % IPMC_LINE) {
				state = "garbage";
				problem(v, "queue %u->%u: head %" PRIu64
					", tail %" PRIu64 " (capacity %"
					PRIu64 ")", from, to, head, tail,
					h->cap);
			} else {
				state = depth ? "pending" : "empty";
				walked = 1;
				walk_queue(v, h, o + IPMC_QUEUE_CTL, tail, head,
					   &w);
				if (w.invalid)
					problem(v, "queue %u->%u: %" PRIu64
						" pending %s", from, to,
						w.invalid, w.invalid == 1 ?
						"record fails its checks" :
						"records fail their checks");
			}
			if (v->json) {
				printf("%s{\"from\":%u,\"to\":%u,\"head\":%"
				       PRIu64 ",\"tail\":%" PRIu64 ","
				       "\"depth\":%" PRIu64 ",\"producer\":"
				       "\"0x%" PRIx64 "\",\"consumer\":\"0x%"
				       PRIx64 "\",\"ack_seq\":%" PRIu64 ","
				       "\"state\":\"%s\"", first ? "" : ",",
				       from, to, head, tail,
				       walked ? depth : 0,
				       pgen, cgen, ack & 0xffffffffu, state);
				if (walked)
					printf(",\"records\":{\"valid\":%"
					       PRIu64 ",\"invalid\":%" PRIu64
					       ",\"withdrawn\":%" PRIu64
					       ",\"unwalked_bytes\":%" PRIu64
					       "}}", w.valid, w.invalid,
					       w.withdrawn, w.unwalked);
				else
					printf(",\"records\":null}");
				first = 0;
				continue;
			}
			if (walked) {
				snprintf(dtext, sizeof(dtext), "%" PRIu64,
					 depth);
				snprintf(rtext, sizeof(rtext), "%" PRIu64
					 "/%" PRIu64 "/%" PRIu64, w.valid,
					 w.invalid, w.withdrawn);
			} else {
				snprintf(dtext, sizeof(dtext), "?");
				snprintf(rtext, sizeof(rtext), "?");
			}
			printf("%4u %4u %12" PRIu64 " %12" PRIu64 " %8s "
			       "0x%016" PRIx64 " 0x%016" PRIx64 " %10" PRIu64
			       " %-14s %s", from, to, head, tail, dtext, pgen,
			       cgen, ack & 0xffffffffu, rtext, state);
			if (walked && w.unwalked)
				printf(" (%" PRIu64 " bytes unreadable)",
				       w.unwalked);
			printf("\n");
		}
	}
	if (v->json)
		printf("]");
}

/* A file-backed region (-M, -m) shrunk by a peer under us: SIGBUS. */
static sigjmp_buf bus_jump;

static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(bus_jump, 1);
}

int mailbox_show(const char *prog, int fd, const char *source, int json,
		 int interval_ms)
{
	struct sigaction sa = { .sa_handler = on_sigbus };
	struct view v = { .json = json, .hw = ipm_sum_hw() };
	struct stat st;
	struct hdr h;
	void *map;
	int ok;

	if (fstat(fd, &st) < 0 || st.st_size < 0) {
		fprintf(stderr, "%s: the region: %s\n", prog, strerror(errno));
		return 1;
	}
	v.size = (uint64_t)st.st_size;
	if (v.size < IPMC_HEADER_SIZE) {
		fprintf(stderr, "%s: the region has %" PRIu64 " bytes, less "
			"than a mailbox header (%u)\n", prog, v.size,
			IPMC_HEADER_SIZE);
		return 1;
	}
	map = mmap(NULL, (size_t)v.size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		fprintf(stderr, "%s: cannot map the region: %s\n", prog,
			strerror(errno));
		return 1;
	}
	v.base = map;
	sigaction(SIGBUS, &sa, NULL);
	if (sigsetjmp(bus_jump, 1)) {
		fflush(stdout);
		fprintf(stderr, "\n%s: the region shrank while it was read "
			"(SIGBUS): not sealed, and a peer truncated it\n", prog);
		munmap(map, (size_t)v.size);
		return 1;
	}
	read_hdr(&v, &h);
	if (json)
		putchar('{');
	print_hdr(&v, &h, source);
	ok = geometry_ok(&v, &h);
	if (ok) {
		print_slots(&v, &h, interval_ms);
		print_queues(&v, &h);
	}
	if (json) {
		printf(",\"consistent\":%s,\"problems\":%d,\"problem\":",
		       v.problems ? "false" : "true", v.problems);
		if (v.problems) {
			putchar('"');
			for (const char *c = v.why; *c; c++)
				if (*c == '"' || *c == '\\')
					printf("\\%c", *c);
				else
					putchar(*c);
			putchar('"');
		} else {
			printf("null");
		}
		printf("}\n");
	} else if (v.problems) {
		printf("\n%d %s: %s\n", v.problems, v.problems == 1 ?
		       "inconsistency" : "inconsistencies", v.why);
	} else {
		printf("\nconsistent\n");
	}
	munmap(map, (size_t)v.size);
	return v.problems ? 1 : 0;
}
