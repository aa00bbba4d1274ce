/* SPDX-License-Identifier: MIT */
/* ivshmem-ctl mailbox: a read-only look at a live mailbox region. */
#ifndef IVSHMEM_CTL_MAILBOX_H
#define IVSHMEM_CTL_MAILBOX_H

/*
 * Map fd read-only and print its mailbox layout (docs/mailbox-layout.md):
 * header, slots (owner, heartbeat sampled twice interval_ms apart when
 * interval_ms > 0, the counters the owner published), queue depths per
 * pair and their pending records checked. Every field is read once and
 * checked; whatever the region holds, this prints it, flagged, and never
 * faults. 'source' says where the region came from. Returns 0 when it is
 * a consistent mailbox, 1 when not (or it cannot be mapped).
 */
int mailbox_show(const char *prog, int fd, const char *source, int json,
		 int interval_ms);

#endif
