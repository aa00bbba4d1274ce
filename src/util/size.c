/* SPDX-License-Identifier: MIT */
#include "size.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char suffixes[] = "KMGTPE";

int size_parse(const char *text, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = text;
	int shift = 0;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (*p) {
		const char *s = strchr(suffixes, toupper((unsigned char)*p));

		if (s) {
			shift = 10 * (int)(s - suffixes + 1);
			p++;
			if (!strcasecmp(p, "ib"))
				p += 2;
		}
		if (!strcasecmp(p, "b"))
			p++;
		if (*p)
			return -EINVAL;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

void size_format(uint64_t size, char *buf, size_t len)
{
	int i = 0;

	while (size && i < (int)strlen(suffixes) && !(size & 1023)) {
		size >>= 10;
		i++;
	}
	if (i)
		snprintf(buf, len, "%llu%c", (unsigned long long)size, suffixes[i - 1]);
	else
		snprintf(buf, len, "%llu", (unsigned long long)size);
}

void size_format_human(uint64_t size, char *buf, size_t len)
{
	uint64_t unit = 1;
	int i = 0;

	while (i < (int)strlen(suffixes) && size / unit >= 1024) {
		unit <<= 10;
		i++;
	}
	if (!i)
		snprintf(buf, len, "%llu", (unsigned long long)size);
	else if (size % unit == 0)
		snprintf(buf, len, "%llu%c", (unsigned long long)(size / unit),
			 suffixes[i - 1]);
	else
		snprintf(buf, len, "%llu.%u%c",
			 (unsigned long long)(size / unit),
			 (unsigned)(size % unit * 10 / unit), suffixes[i - 1]);
}
