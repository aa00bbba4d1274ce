/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmguest.h"
#include "bmmail.h"
#include "testutil.h"

#define ACK_WAIT_MS 15000

int bm_mail_send(struct bm_mail *m, struct bm_mail_end *from,
		 struct bm_mail_end *to, const char *text, int tries,
		 int must)
{
	char sent[128], got[512];
	const char *p;
	size_t len = strlen(text);

	CHECK(m->n < BM_MAIL_TEXTS, "too many texts");
	m->texts[m->n++] = strdup(text);
	snprintf(sent, sizeof(sent), "sent %zu bytes to peer %u: completed "
		 "by the receiver", len, to->id);
	snprintf(got, sizeof(got), "Received %zu bytes from peer %u: %s", len,
		 from->id, text);
	for (int t = 1; t <= tries; t++) {
		con_send(from->con, "send %u %s", to->id, text);
		if (!con_expect(from->con, sent, ACK_WAIT_MS)) {
			con_skip(from->con, 500);
			continue;
		}
		p = con_must(to->con, got, ACK_WAIT_MS);
		CHECK(*p == '\r' || *p == '\n', "%s: more after \"%s\": %.20s",
		      to->con->name, got, p);
		return t;
	}
	CHECK(!must, "%s: \"send %u %s\" never acknowledged in %d tries",
	      from->con->name, to->id, text, tries);
	return 0;
}

unsigned bm_mail_audit(struct bm_mail *m, struct con *c)
{
	unsigned n = 0;

	CHECK(!strstr(c->buf, "fnv1a64"), "%s received bytes nobody sent",
	      c->name);
	for (const char *p = c->buf; (p = strstr(p, "Received ")); p++) {
		const char *text;
		size_t len;
		int ok = 0;

		if (!strncmp(p, BM_LINE_IPM, strlen(BM_LINE_IPM)))
			continue;
		if (!strncmp(p, "Received notification on vector", 31))
			continue;
		text = strstr(p, ": ");
		CHECK(text && !strncmp(p, "Received ", 9), "%s: odd line %.60s",
		      c->name, p);
		text += 2;
		len = strcspn(text, "\r\n");
		for (unsigned i = 0; i < m->n && !ok; i++)
			ok = strlen(m->texts[i]) == len &&
			     !strncmp(m->texts[i], text, len);
		CHECK(ok, "%s delivered a text nobody sent: %.*s", c->name,
		      (int)len, text);
		n++;
	}
	return n;
}

static uint64_t next_random(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/*
 * As the guest's `scribble`, aimed better: the header and slot table, each
 * queue's control lines, and its ring around its head (where the next
 * records go), with random words, plausible indexes (a few lines past the
 * head) in the control lines, or plausible stamps (an index just past the
 * head with a state) on the head's line.
 */
void bm_mail_scribble(volatile void *mem, uint64_t size, unsigned n,
		      uint64_t seed)
{
	volatile uint64_t *w = mem;
	uint64_t x = seed | 1, stride = w[5], queues;

	if (stride < 4096 || stride > size)
		stride = 4096;
	queues = (size - 8192) / stride;
	for (unsigned i = 0; i < n; i++) {
		uint64_t r = next_random(&x), q = 0, head = 0, at, off, v;

		if (r % 4 == 0) {
			off = r >> 8 & (8192 - 8);
		} else {
			q = 8192 + (r >> 8) % queues * stride;
			head = w[q / 8];
			at = (head % (stride - 128) + (r >> 40 & 4095)) &
			     ~7ull;
			off = r % 4 == 1 ? q + (r >> 40 & 127 & ~7ull) :
			      q + 128 + (at >= 2048 ? at - 2048 : at) %
			      (stride - 128);
		}
		v = next_random(&x);
		if (r % 4 == 1 && v % 2 == 0) {
			/* A believable head (or tail) a few lines ahead. */
			v = head - head % 64 + 64 * (1 + (v >> 8 & 3));
		} else if (r % 4 >= 2 && v % 2 == 0) {
			/* A plausible stamp on the line at the head: the
			 * receiver finds a "new" record of garbage there. */
			off = q + 128 + head % (stride - 128);
			v = (head + 64 * (1 + (v >> 8 & 3))) | (v >> 4 & 3);
		}
		w[off / 8] = v;
	}
	__sync_synchronize();
}
