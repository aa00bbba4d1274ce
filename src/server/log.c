/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int log_stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	/*
	 * systemd sets JOURNAL_STREAM=DEV:INO of the stream it connected to
	 * stderr; a child whose stderr was redirected inherits the variable,
	 * so it counts only while stderr is still that stream.
	 */
	if (!env || sscanf(env, "%llu:%llu%c", &dev, &ino, &end) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

void log_init(struct log_sink *log, int level)
{
	log->level = level;
	log->use_syslog = 0;
	log->journal = log_stderr_is_journal();
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
