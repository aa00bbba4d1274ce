/* SPDX-License-Identifier: MIT */
#include "stats.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int stats_init(struct stats *s, size_t expect)
{
	memset(s, 0, sizeof(*s));
	if (!expect)
		return 0;
	s->v = malloc(expect * sizeof(*s->v));
	if (!s->v)
		return -ENOMEM;
	s->cap = expect;
	return 0;
}

void stats_free(struct stats *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

void stats_reset(struct stats *s)
{
	s->n = 0;
}

int stats_add(struct stats *s, uint64_t sample)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 1024;
		uint64_t *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = sample;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest rank: the smallest sample with at least pct% at or below it. */
static uint64_t rank(const struct stats *s, unsigned pct)
{
	size_t r = (s->n * pct + 99) / 100;

	return s->v[r ? r - 1 : 0];
}

void stats_summarise(struct stats *s, struct stats_summary *out)
{
	double sum = 0;

	memset(out, 0, sizeof(*out));
	if (!s->n)
		return;
	qsort(s->v, s->n, sizeof(*s->v), cmp_u64);
	for (size_t i = 0; i < s->n; i++)
		sum += (double)s->v[i];
	out->n = s->n;
	out->min = s->v[0];
	out->p50 = rank(s, 50);
	out->p99 = rank(s, 99);
	out->max = s->v[s->n - 1];
	out->mean = sum / (double)s->n;
}
