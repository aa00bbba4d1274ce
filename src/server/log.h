/* SPDX-License-Identifier: MIT */
/*
 * Server logging: one line per event, to stderr in the foreground (with
 * sd-daemon "<N>" priority prefixes when journald reads it) or to syslog
 * once daemonized.
 */
#ifndef IVSHMEM_SERVER_LOG_H
#define IVSHMEM_SERVER_LOG_H

#include <syslog.h>

struct log_sink {
	int level;      /* highest syslog priority printed (LOG_DEBUG = all) */
	int use_syslog;
	int journal;    /* stderr is a journald stream: prefix "<N>" */
};

void log_init(struct log_sink *log, int level);
/* JOURNAL_STREAM names stderr's device and inode (sd-daemon(3)). */
int log_stderr_is_journal(void);
/* Switch to syslog, e.g. after daemonizing. */
void log_to_syslog(struct log_sink *log);

__attribute__((format(printf, 3, 4)))
void log_msg(const struct log_sink *log, int prio, const char *fmt, ...);

#define log_err(l, ...)   log_msg(l, LOG_ERR, __VA_ARGS__)
#define log_warn(l, ...)  log_msg(l, LOG_WARNING, __VA_ARGS__)
#define log_info(l, ...)  log_msg(l, LOG_INFO, __VA_ARGS__)
#define log_debug(l, ...) log_msg(l, LOG_DEBUG, __VA_ARGS__)

#endif
