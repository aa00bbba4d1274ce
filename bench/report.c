/* SPDX-License-Identifier: MIT */
#include "report.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct report {
	struct result **res;
	size_t n, cap;
};

struct report *report_new(void)
{
	return calloc(1, sizeof(struct report));
}

void report_free(struct report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		free(r->res[i]);
	free(r->res);
	free(r);
}

static struct result *add(struct report *r, const char *name,
			  enum result_kind kind, uint64_t size, int peers)
{
	struct result *res;

	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 16;
		struct result **v = realloc(r->res, cap * sizeof(*v));

		if (!v)
			return NULL;
		r->res = v;
		r->cap = cap;
	}
	res = calloc(1, sizeof(*res));
	if (!res)
		return NULL;
	snprintf(res->name, sizeof(res->name), "%s", name);
	res->kind = kind;
	res->size = size;
	res->peers = peers;
	r->res[r->n++] = res;
	return res;
}

struct result *report_add_latency(struct report *r, const char *name,
				  uint64_t size, int peers,
				  const struct stats_summary *lat)
{
	struct result *res = add(r, name, RESULT_LATENCY, size, peers);

	if (res)
		res->lat = *lat;
	return res;
}

struct result *report_add_throughput(struct report *r, const char *name,
				     uint64_t size, int peers, double mb_s,
				     double msgs_per_s)
{
	struct result *res = add(r, name, RESULT_THROUGHPUT, size, peers);

	if (res) {
		res->value = mb_s;
		res->msgs_per_s = msgs_per_s;
	}
	return res;
}

struct result *report_find(struct report *r, const char *name,
			   uint64_t size, int peers)
{
	for (size_t i = 0; i < r->n; i++) {
		struct result *res = r->res[i];

		if (!strcmp(res->name, name) && res->size == size &&
		    (peers < 0 || res->peers == peers))
			return res;
	}
	return NULL;
}

static int ratio_of(const struct result *res, const struct result *base,
		    double *ratio)
{
	double num, den;

	if (!base || base->kind != res->kind)
		return 0;
	if (res->kind == RESULT_LATENCY) {
		num = (double)res->lat.p50;
		den = (double)base->lat.p50;
	} else {
		num = res->value;
		den = base->value;
	}
	if (den <= 0 || !isfinite(num / den))
		return 0;
	*ratio = num / den;
	return 1;
}

void report_set_ratio(struct result *res, const struct result *base)
{
	if (!ratio_of(res, base, &res->ratio))
		return;
	res->has_ratio = 1;
	snprintf(res->baseline, sizeof(res->baseline), "%s", base->name);
}

void report_set_ratio2(struct result *res, const struct result *base)
{
	if (!ratio_of(res, base, &res->ratio2))
		return;
	res->has_ratio2 = 1;
	snprintf(res->baseline2, sizeof(res->baseline2), "%s", base->name);
}

int report_target_ratio(struct report *r, const struct target *t,
			double *ratio)
{
	const struct result *res = report_find(r, t->figure, t->size, -1);
	const struct result *base = report_find(r, t->baseline, t->base_size,
						-1);

	return res && ratio_of(res, base, ratio);
}

static int target_met(const struct target *t, double ratio)
{
	return t->at_most ? ratio <= t->limit : ratio >= t->limit;
}

void report_set_note(struct result *res, const char *note)
{
	snprintf(res->note, sizeof(res->note), "%s", note);
}

int report_set_str(struct result *res, const char *key, const char *value)
{
	int n = res->nextra;

	if (n == (int)(sizeof(res->extra) / sizeof(res->extra[0])))
		return -ENOSPC;
	snprintf(res->extra[n].key, sizeof(res->extra[n].key), "%s", key);
	snprintf(res->extra[n].value, sizeof(res->extra[n].value), "%s",
		 value);
	res->nextra++;
	return 0;
}

/* 0, 64, 4K, 64K, 1M: exact binary units only. */
static const char *fmt_size(uint64_t size, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	int u = -1;

	while (size && size % 1024 == 0 && u < 3) {
		size /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%llu", (unsigned long long)size);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)size,
			 units[u]);
	return buf;
}

static double us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

static void print_targets(struct report *r, const struct report_meta *m,
			  FILE *f)
{
	char size[24], bsize[24];

	if (!m || !m->ntargets)
		return;
	fprintf(f, "\nTARGETS (docs/bench-json.md; ratios of p50 or MB/s, this "
		"run)\n");
	for (size_t i = 0; i < m->ntargets; i++) {
		const struct target *t = &m->targets[i];
		char want[96];
		double ratio;

		snprintf(want, sizeof(want), "%s %s %s %.2f x %s %s",
			 t->figure, fmt_size(t->size, size, sizeof(size)),
			 t->at_most ? "<=" : ">=", t->limit, t->baseline,
			 fmt_size(t->base_size, bsize, sizeof(bsize)));
		if (report_target_ratio(r, t, &ratio))
			fprintf(f, "  %-58s %8.2fx  %s\n", want, ratio,
				target_met(t, ratio) ? "PASS" : "MISS");
		else
			fprintf(f, "  %-58s %9s  %s\n", want, "-",
				"not measured");
	}
}

void report_table(struct report *r, const struct report_meta *m, FILE *f)
{
	fprintf(f, "%-26s %5s %5s %7s %10s %10s %10s %10s  %s\n", "name",
		"size", "peers", "n", "p50", "p99", "max", "mean", "ratio");
	fprintf(f, "%-26s %5s %5s %7s %10s %10s %10s %10s\n", "", "", "", "",
		"us", "us", "us", "us");
	for (size_t i = 0; i < r->n; i++) {
		const struct result *res = r->res[i];
		char size[24], peers[16], ratio[160] = "";

		fmt_size(res->size, size, sizeof(size));
		if (res->peers >= 0)
			snprintf(peers, sizeof(peers), "%d", res->peers);
		else
			snprintf(peers, sizeof(peers), "-");
		if (res->has_ratio && res->has_ratio2)
			snprintf(ratio, sizeof(ratio), "%.2fx %s, %.2fx %s",
				 res->ratio, res->baseline, res->ratio2,
				 res->baseline2);
		else if (res->has_ratio)
			snprintf(ratio, sizeof(ratio), "%.2fx %s", res->ratio,
				 res->baseline);
		if (res->kind == RESULT_LATENCY)
			fprintf(f, "%-26s %5s %5s %7zu %10.2f %10.2f %10.2f "
				"%10.2f  %s\n", res->name, size, peers,
				res->lat.n, us(res->lat.p50),
				us(res->lat.p99), us(res->lat.max),
				res->lat.mean / 1000.0, ratio);
		else
			fprintf(f, "%-26s %5s %5s %7s %10.1f MB/s %12.0f "
				"msg/s  %s\n", res->name, size, peers, "",
				res->value, res->msgs_per_s, ratio);
		if (res->note[0])
			fprintf(f, "%-26s   note: %s\n", "", res->note);
	}
	print_targets(r, m, f);
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* JSON has no NaN or infinity. */
static void json_num(FILE *f, double v, int decimals)
{
	if (isfinite(v))
		fprintf(f, "%.*f", decimals, v);
	else
		fputs("null", f);
}

static void json_result(FILE *f, const struct result *res)
{
	fputs("{\"name\": ", f);
	json_str(f, res->name);
	fprintf(f, ", \"size\": %llu", (unsigned long long)res->size);
	if (res->kind == RESULT_LATENCY) {
		fprintf(f, ", \"unit\": \"ns\", \"n\": %zu, \"p50\": %llu, "
			"\"p99\": %llu, \"max\": %llu, \"mean\": ", res->lat.n,
			(unsigned long long)res->lat.p50,
			(unsigned long long)res->lat.p99,
			(unsigned long long)res->lat.max);
		json_num(f, res->lat.mean, 1);
	} else {
		fputs(", \"unit\": \"MB/s\", \"value\": ", f);
		json_num(f, res->value, 1);
		fputs(", \"msgs_per_s\": ", f);
		json_num(f, res->msgs_per_s, 0);
	}
	if (res->peers >= 0)
		fprintf(f, ", \"peers\": %d", res->peers);
	for (int i = 0; i < res->nextra; i++) {
		fputs(", ", f);
		json_str(f, res->extra[i].key);
		fputs(": ", f);
		json_str(f, res->extra[i].value);
	}
	if (res->has_ratio) {
		fputs(", \"ratio\": ", f);
		json_num(f, res->ratio, 6);
		fputs(", \"baseline\": ", f);
		json_str(f, res->baseline);
	}
	if (res->has_ratio2) {
		fputs(", \"ratio2\": ", f);
		json_num(f, res->ratio2, 6);
		fputs(", \"baseline2\": ", f);
		json_str(f, res->baseline2);
	}
	if (res->note[0]) {
		fputs(", \"note\": ", f);
		json_str(f, res->note);
	}
	fputc('}', f);
}

static void json_targets(struct report *r, const struct report_meta *m,
			 FILE *f)
{
	fputs(",\n  \"targets\": [", f);
	for (size_t i = 0; i < m->ntargets; i++) {
		const struct target *t = &m->targets[i];
		double ratio;
		int have = report_target_ratio(r, t, &ratio);

		fputs(i ? ",\n    {\"name\": " : "\n    {\"name\": ", f);
		json_str(f, t->figure);
		fprintf(f, ", \"size\": %llu, \"baseline\": ",
			(unsigned long long)t->size);
		json_str(f, t->baseline);
		fprintf(f, ", \"baseline_size\": %llu, \"op\": \"%s\", "
			"\"target\": ", (unsigned long long)t->base_size,
			t->at_most ? "<=" : ">=");
		json_num(f, t->limit, 2);
		fputs(", \"ratio\": ", f);
		if (have)
			json_num(f, ratio, 6);
		else
			fputs("null", f);
		fprintf(f, ", \"pass\": %s}", !have ? "null" :
			target_met(t, ratio) ? "true" : "false");
	}
	fputs(m->ntargets ? "\n  ]" : "]", f);
}

void report_json(struct report *r, const struct report_meta *m, FILE *f)
{
	fputs("{\n  \"tool\": ", f);
	json_str(f, m->tool);
	fputs(",\n  \"version\": ", f);
	json_str(f, m->version);
	fprintf(f, ",\n  \"cpus\": %d,\n  \"pinned\": %s,\n  \"results\": [",
		m->cpus, m->pinned ? "true" : "false");
	for (size_t i = 0; i < r->n; i++) {
		fputs(i ? ",\n    " : "\n    ", f);
		json_result(f, r->res[i]);
	}
	fputs(r->n ? "\n  ]" : "]", f);
	json_targets(r, m, f);
	fputs("\n}\n", f);
}
