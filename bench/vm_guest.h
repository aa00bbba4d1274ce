/* SPDX-License-Identifier: MIT */
/*
 * ipm-shell in a Linux guest of tests/vm (vm.h), for the rtt.vm.* figures:
 * the guest's peer id, a shell answering doorbells, and doorbell round
 * trips timed in the guest (`ping PEER N 0 samples`), every one of them
 * parsed into a struct stats.
 *
 * The vm.h calls end the process when a guest stops answering (vm_fail);
 * what these check themselves is returned as -errno, after saying why on
 * stderr with the tail of the guest's console.
 */
#ifndef IPM_BENCH_VM_GUEST_H
#define IPM_BENCH_VM_GUEST_H

#include <stddef.h>

#include "stats.h"

struct vm;

/*
 * Our peer id through `ipm-shell --pci`, which must use VFIO with MSI-X
 * (the figures are about that path). 0 or -EPROTO.
 */
int vmg_peer_id(struct vm *vm, int *id);

/* The guest kernel's clocksource (its CLOCK_MONOTONIC times the pings). */
int vmg_clocksource(struct vm *vm, char *buf, size_t len);

/*
 * Start an interactive `ipm-shell --pci` in doorbell mode that rings
 * 'peer' back for every doorbell. 0 or -EPROTO.
 */
int vmg_pong(struct vm *vm, int peer);

/*
 * In one ipm-shell: 'warmup' round trips to 'peer' (which answers), then
 * 'n' with their samples, which are added to st in nanoseconds. 0,
 * -EPROTO (bad or short output) or -EIO (a round trip failed).
 */
int vmg_ping(struct vm *vm, int peer, unsigned warmup, unsigned n,
	     struct stats *st);

/*
 * The output of ipm-shell's `ping ... samples` (carriage returns removed):
 * the "ping ns:" samples into st; the last summary line must count n and
 * so must the samples. 0, -EIO (a "round trip K: error" line) or -EPROTO.
 */
int vmg_parse_ping(const char *out, unsigned n, struct stats *st);

#endif
