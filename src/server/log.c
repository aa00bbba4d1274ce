/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void log_init(struct log_sink *log, int level)
{
	log->level = level;
	log->use_syslog = 0;
	/* systemd sets JOURNAL_STREAM when stderr is connected to journald. */
	log->journal = getenv("JOURNAL_STREAM") != NULL;
}

void log_to_syslog(struct log_sink *log)
{
	openlog("ivshmem-server", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log->use_syslog = 1;
}

void log_msg(const struct log_sink *log, int prio, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (prio > log->level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (log->use_syslog)
		syslog(prio, "%s", line);
	else if (log->journal)
		fprintf(stderr, "<%d>%s\n", prio, line);
	else
		fprintf(stderr, "ivshmem-server: %s\n", line);
}
