/* SPDX-License-Identifier: MIT */
/* The output of ipm-shell's `ping ... samples`: see vm_guest.h. */
#include "vm_guest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SAMPLES "ping ns:"

/* The numbers of one "ping ns:" line, up to eol. */
static int parse_samples(const char *p, const char *eol, struct stats *st,
			 unsigned *got)
{
	while (p < eol) {
		unsigned long long v;
		char *end;
		int rc;

		if (*p == ' ') {
			p++;
			continue;
		}
		if (*p < '0' || *p > '9')
			return -EPROTO;
		errno = 0;
		v = strtoull(p, &end, 10);
		if (errno || end > eol || (end < eol && *end != ' '))
			return -EPROTO;
		rc = stats_add(st, v);
		if (rc < 0)
			return rc;
		(*got)++;
		p = end;
	}
	return 0;
}

int vmg_parse_ping(const char *out, unsigned n, struct stats *st)
{
	const char *p = out;
	unsigned got = 0;
	long summary = -1;

	while (*p) {
		const char *eol = p + strcspn(p, "\n");
		unsigned peer;
		long count;
		int rc;

		if (!strncmp(p, SAMPLES, strlen(SAMPLES))) {
			rc = parse_samples(p + strlen(SAMPLES), eol, st, &got);
			if (rc < 0)
				return rc;
		} else if (!strncmp(p, "ping peer ", strlen("ping peer "))) {
			/*
			 * The summary ("N round trips of", "1 round trip
			 * of"), or "round trip K: error".
			 */
			if (sscanf(p, "ping peer %u: %ld round trip", &peer,
				   &count) != 2)
				return -EIO;
			summary = count;
		}
		p = *eol ? eol + 1 : eol;
	}
	return summary == (long)n && got == n ? 0 : -EPROTO;
}
