/* SPDX-License-Identifier: MIT */
/* Latency samples: collect, then summarise (sorts the samples). */
#ifndef IPM_BENCH_STATS_H
#define IPM_BENCH_STATS_H

#include <stddef.h>
#include <stdint.h>

struct stats {
	uint64_t *v;    /* samples, nanoseconds */
	size_t n, cap;
};

struct stats_summary {
	size_t n;
	uint64_t min, p50, p99, max;
	double mean;
};

/* Room for 'expect' samples up front (0 is fine). 0 or -ENOMEM. */
int stats_init(struct stats *s, size_t expect);
void stats_free(struct stats *s);
/* Drop the samples, keep the memory (after a warm-up, say). */
void stats_reset(struct stats *s);
/* 0 or -ENOMEM. Cheap when stats_init() reserved enough. */
int stats_add(struct stats *s, uint64_t sample);
/*
 * Sort the samples and summarise them: nearest-rank percentiles (p50 is
 * the sample at rank ceil(0.5 n)). An empty set gives all zeroes.
 */
void stats_summarise(struct stats *s, struct stats_summary *out);

#endif
