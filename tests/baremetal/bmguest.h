/* SPDX-License-Identifier: MIT */
/*
 * The bare-metal guest (guests/baremetal) under qemu-system-aarch64 -accel
 * tcg, driven through its UART shell (a console.h console): boot it, read
 * its `ivshmem` lines, switch its notification mode, peek and poke words
 * of the region. Commands fail the test when their answer does not come.
 */
#ifndef IVSHMEM_TESTS_BMGUEST_H
#define IVSHMEM_TESTS_BMGUEST_H

#include <stddef.h>
#include <stdint.h>

#include "console.h"

#define BM_PROMPT "baremetal:~$ "
#define BM_LINE_IPM "Received IPM notification over IVSHMEM"
#define BM_WAIT_MS 10000
#define BM_VIRT "virt,gic-version=3"

struct bm_guest {
	struct con con;
	char name[32];
	char chardev[160];
	unsigned id;			/* its peer id */
	unsigned long long size;	/* its BAR2 */
	long long boot_ns;		/* exec to the shell's prompt */
	unsigned long long ready_us;	/* the guest's own figure */
};

/* QEMU and the guest's image, or skip (exit 77; under CI, fail). */
void bm_require(void);

/* Boot on the server at sock, on virt with options machine. */
void bm_boot(struct bm_guest *g, const char *name, const char *sock,
	     const char *machine);
/* `notify mode`: "its" or "poll". */
void bm_mode(struct bm_guest *g, const char *mode);
/* The word at off as the guest reads it; write one (read back). */
uint32_t bm_peek(struct bm_guest *g, unsigned long long off);
void bm_poke(struct bm_guest *g, unsigned long long off, uint32_t v);

struct tu_server;
/* The host's mapping of a server's POSIX shm region (-M), read-write. */
volatile void *bm_map_region(const struct tu_server *srv, size_t *size);

#endif
