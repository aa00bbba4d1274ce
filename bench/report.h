/* SPDX-License-Identifier: MIT */
/*
 * The results of one run: a table for people and the JSON object of
 * bench-json.md (docs: its names are an interface).
 */
#ifndef IPM_BENCH_REPORT_H
#define IPM_BENCH_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "stats.h"

enum result_kind {
	RESULT_LATENCY,     /* unit "ns": n, p50, p99, max, mean */
	RESULT_THROUGHPUT,  /* unit "MB/s": value, msgs_per_s */
};

struct result {
	char name[48];
	enum result_kind kind;
	uint64_t size;          /* payload bytes */
	int peers;              /* < 0: the figure has no peer count */
	struct stats_summary lat;
	double value;           /* MB/s (10^6 bytes/s of payload) */
	double msgs_per_s;
	int has_ratio;
	double ratio;           /* p50 (or value) / the baseline's */
	char baseline[48];
	int has_ratio2;         /* a second baseline (tput.mailbox) */
	double ratio2;
	char baseline2[48];
	char note[160];
	/* More string keys for the JSON ("arch": "aarch64"...), in order. */
	struct {
		char key[16];
		char value[32];
	} extra[4];
	int nextra;
};

/*
 * A target of bench-json.md: figure/size's ratio to baseline/base_size
 * (p50 over p50, or value over value) must be <= limit (at_most) or >=
 * limit.
 */
struct target {
	const char *figure;
	uint64_t size;
	const char *baseline;
	uint64_t base_size;
	int at_most;
	double limit;
};

struct report_meta {
	const char *tool;
	const char *version;
	int cpus;
	int pinned;
	const struct target *targets;
	size_t ntargets;
};

struct report;

struct report *report_new(void);
void report_free(struct report *r);

/* Add a result; the pointer stays valid until report_free(). NULL: ENOMEM. */
struct result *report_add_latency(struct report *r, const char *name,
				  uint64_t size, int peers,
				  const struct stats_summary *lat);
struct result *report_add_throughput(struct report *r, const char *name,
				     uint64_t size, int peers, double mb_s,
				     double msgs_per_s);
/* The first result with this name, size and peers (peers < 0: any). */
struct result *report_find(struct report *r, const char *name,
			   uint64_t size, int peers);
/*
 * res relative to base: p50 over p50 for latencies, value over value for
 * throughputs. Nothing happens when base is NULL or its figure is 0.
 */
void report_set_ratio(struct result *res, const struct result *base);
/* The same for a second baseline, shown after the first. */
void report_set_ratio2(struct result *res, const struct result *base);
void report_set_note(struct result *res, const char *note);
/* Add a string key to the result's JSON. 0, or -ENOSPC when full. */
int report_set_str(struct result *res, const char *key, const char *value);

/* The table, then the TARGETS section (measured ratio, PASS or MISS). */
void report_table(struct report *r, const struct report_meta *m, FILE *f);
/*
 * A target's measured ratio: 1 with *ratio set, 0 when a figure is
 * missing.
 */
int report_target_ratio(struct report *r, const struct target *t,
			double *ratio);
/* One JSON object and a newline. */
void report_json(struct report *r, const struct report_meta *m, FILE *f);

#endif
