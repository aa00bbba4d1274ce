/* SPDX-License-Identifier: MIT */
/*
 * QEMU's ivshmem-doorbell device driven through qtest: one QEMU process
 * with the device at 00:04.0 joined to an ivshmem server, its BARs
 * programmed and MSI-X enabled with every vector masked, so a doorbell
 * for the device shows up as a pending bit in the PBA.
 */
#ifndef IVSHMEM_TESTS_IVDEV_H
#define IVSHMEM_TESTS_IVDEV_H

#include <stdint.h>

#include "qtest.h"

/* BAR0 registers (QEMU docs/specs/ivshmem-spec.rst). */
#define IVDEV_INTR_MASK   0
#define IVDEV_INTR_STATUS 4
#define IVDEV_IV_POSITION 8
#define IVDEV_DOORBELL    12

#define IVDEV_VENDOR      0x1af4
#define IVDEV_DEVICE      0x1110
#define IVDEV_DEVFN       (4 << 3)   /* 00:04.0 */

/* Where the BARs go: the shared memory first, the small ones on top. */
#define IVDEV_SHM_BASE    0xe0000000ull
#define IVDEV_MSIX_ADDR   0xfeb00000ull
#define IVDEV_REGS_ADDR   0xfeb01000ull
#define IVDEV_MMIO_END    0xfec00000ull

struct ivdev {
	struct qtest qt;
	unsigned devfn;
	unsigned vectors;     /* as given to the device */
	uint64_t regs;        /* BAR0 address */
	uint64_t msix_bar;    /* BAR1 address */
	uint64_t shm;         /* BAR2 address */
	uint64_t shm_size;    /* BAR2 size */
	struct qt_msix msix;
};

struct tu_server;

/*
 * tu_server_start()/tu_server_stop(), and the server is killed at exit
 * should the test fail meanwhile (an orphaned server would keep ctest's
 * output pipe open, and ctest would wait for it until the timeout).
 */
void ivdev_server_start(struct tu_server *s, const char *const *extra_args);
int ivdev_server_stop(struct tu_server *s);

/*
 * Start QEMU with the device on 'server_socket' and 'vectors' vectors,
 * plus extra QEMU arguments (NULL-terminated, may be NULL). Returns 0 when
 * qtest answers (no PCI set-up done yet), or -errno when QEMU could not
 * start or exited (its log stays in d->qt.log_path).
 */
int ivdev_spawn(struct ivdev *d, const char *server_socket, unsigned vectors,
		const char *const *extra);

/*
 * Check the device's identity and BARs (the test fails if anything is
 * off), program the BARs, enable memory decoding and bus mastering, and
 * enable MSI-X.
 */
void ivdev_setup(struct ivdev *d);

/* ivdev_spawn() + ivdev_setup(), failing the test if QEMU cannot start. */
void ivdev_start(struct ivdev *d, const char *server_socket,
		 unsigned vectors);

/* Kill QEMU: to the server the device leaves. */
void ivdev_stop(struct ivdev *d);

uint32_t ivdev_reg(struct ivdev *d, unsigned reg);
void ivdev_reg_write(struct ivdev *d, unsigned reg, uint32_t v);

/* The IVPosition register: the id the server gave the device. */
int ivdev_position(struct ivdev *d);

/* Write the Doorbell register: ring 'vector' of peer 'peer'. */
void ivdev_ring(struct ivdev *d, int peer, unsigned vector);

/* Whether vector v's MSI-X pending bit is set. */
int ivdev_pending(struct ivdev *d, unsigned v);

/*
 * Clear vector v's pending bit, so that the next doorbell shows: unmask
 * it (the device then sends the message, a write to guest RAM at
 * IVDEV_MSI_RAM + 4 * v) and mask it again. Fails the test if the
 * message did not arrive or the bit stays.
 */
#define IVDEV_MSI_RAM 0x100000ull
void ivdev_clear_pending(struct ivdev *d, unsigned v);

/* Poll for vector v's pending bit for up to timeout_ms: 1 when set. */
int ivdev_wait_pending(struct ivdev *d, unsigned v, int timeout_ms);

#endif
