/* SPDX-License-Identifier: MIT */
#include "ivdev.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static pid_t servers[8];

/* SIGTERM first, so that the server removes its shared memory object. */
static void kill_servers(void)
{
	for (unsigned i = 0; i < 8; i++) {
		long long deadline = tu_now_ns() + 2000000000LL;

		if (servers[i] <= 0)
			continue;
		kill(servers[i], SIGTERM);
		while (waitpid(servers[i], NULL, WNOHANG) == 0) {
			if (tu_now_ns() > deadline) {
				kill(servers[i], SIGKILL);
				waitpid(servers[i], NULL, 0);
				break;
			}
			usleep(5000);
		}
		servers[i] = 0;
	}
}

void ivdev_server_start(struct tu_server *s, const char *const *extra)
{
	static int hooked;
	unsigned i;

	if (!hooked) {
		atexit(kill_servers);
		hooked = 1;
	}
	for (i = 0; i < 8 && servers[i] > 0; i++)
		;
	CHECK(i < 8, "too many servers");
	tu_server_start(s, extra);
	servers[i] = s->pid;
}

int ivdev_server_stop(struct tu_server *s)
{
	for (unsigned i = 0; i < 8; i++)
		if (servers[i] == s->pid)
			servers[i] = 0;
	return tu_server_stop(s);
}

int ivdev_spawn(struct ivdev *d, const char *server_socket, unsigned vectors,
		const char *const *extra)
{
	char chardev[200], device[128];
	const char *argv[64];
	int argc = 0;

	memset(d, 0, sizeof(*d));
	d->devfn = IVDEV_DEVFN;
	d->vectors = vectors;
	snprintf(chardev, sizeof(chardev), "socket,path=%s,id=ivs",
		 server_socket);
	snprintf(device, sizeof(device),
		 "ivshmem-doorbell,chardev=ivs,vectors=%u,addr=%02x.%x",
		 vectors, d->devfn >> 3, d->devfn & 7);
	argv[argc++] = "-chardev";
	argv[argc++] = chardev;
	argv[argc++] = "-device";
	argv[argc++] = device;
	for (int i = 0; extra && extra[i]; i++) {
		CHECK(argc < 63, "too many QEMU arguments");
		argv[argc++] = extra[i];
	}
	argv[argc] = NULL;
	return qt_start(&d->qt, argv);
}

static int is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

void ivdev_setup(struct ivdev *d)
{
	struct qtest *qt = &d->qt;
	struct qt_bar bar[3];
	uint16_t vendor = qt_pci_readw(qt, d->devfn, QT_PCI_VENDOR_ID);
	uint16_t device = qt_pci_readw(qt, d->devfn, QT_PCI_DEVICE_ID);

	if (vendor != IVDEV_VENDOR || device != IVDEV_DEVICE)
		qt_fail(qt, "00:%02x.%x is %04x:%04x, not ivshmem %04x:%04x",
			d->devfn >> 3, d->devfn & 7, vendor, device,
			IVDEV_VENDOR, IVDEV_DEVICE);
	for (unsigned b = 0; b < 3; b++)
		qt_pci_bar_probe(qt, d->devfn, b, &bar[b]);
	if (bar[0].is_io || bar[0].size != 256)
		qt_fail(qt, "BAR0: want 256 bytes of MMIO registers, got %s "
			"of 0x%" PRIx64, bar[0].is_io ? "I/O" : "memory",
			bar[0].size);
	if (bar[1].is_io || bar[1].is_64 || bar[1].size < 4096 ||
	    bar[1].size > 0x100000)
		qt_fail(qt, "BAR1: want a 32-bit MSI-X BAR of 4K..1M, got "
			"0x%" PRIx64 " (io %d, 64-bit %d)", bar[1].size,
			bar[1].is_io, bar[1].is_64);
	if (bar[2].is_io || !bar[2].is_64 || !bar[2].prefetchable ||
	    !is_pow2(bar[2].size) || bar[2].size < 4096)
		qt_fail(qt, "BAR2: want 64-bit prefetchable memory of a power "
			"of two >= 4K, got 0x%" PRIx64 " (io %d, 64-bit %d, "
			"prefetchable %d)", bar[2].size, bar[2].is_io,
			bar[2].is_64, bar[2].prefetchable);
	d->shm_size = bar[2].size;

	if (qt_msix_info(qt, d->devfn, &d->msix) < 0)
		qt_fail(qt, "the device has no MSI-X capability");
	if (d->msix.vectors != d->vectors)
		qt_fail(qt, "MSI-X table has %u entries, the device was given "
			"vectors=%u", d->msix.vectors, d->vectors);
	if (d->msix.table_bir != 1 || d->msix.pba_bir != 1 ||
	    d->msix.pba_off + (d->vectors + 63) / 64 * 8 > bar[1].size)
		qt_fail(qt, "MSI-X table (BIR %u) or PBA (BIR %u, offset 0x%"
			PRIx32 ") not in BAR1", d->msix.table_bir,
			d->msix.pba_bir, d->msix.pba_off);

	/* The shared memory at the first address aligned to its size. */
	d->shm = (IVDEV_SHM_BASE + d->shm_size - 1) & ~(d->shm_size - 1);
	if (d->shm + d->shm_size > IVDEV_MSIX_ADDR)
		qt_fail(qt, "shared memory of 0x%" PRIx64 " bytes does not fit "
			"below 0x%llx", d->shm_size, IVDEV_MSIX_ADDR);
	d->msix_bar = IVDEV_MSIX_ADDR;
	d->regs = IVDEV_REGS_ADDR;
	CHECK(d->msix_bar + bar[1].size <= d->regs, "BAR1 overlaps BAR0");
	qt_pci_bar_set(qt, d->devfn, 0, d->regs);
	qt_pci_bar_set(qt, d->devfn, 1, d->msix_bar);
	qt_pci_bar_set(qt, d->devfn, 2, d->shm);
	if (qt_pci_bar_get(qt, d->devfn, 0) != d->regs ||
	    qt_pci_bar_get(qt, d->devfn, 1) != d->msix_bar ||
	    qt_pci_bar_get(qt, d->devfn, 2) != d->shm)
		qt_fail(qt, "the BARs did not keep their addresses");
	qt_pci_writew(qt, d->devfn, QT_PCI_COMMAND,
		      QT_PCI_CMD_MEMORY | QT_PCI_CMD_MASTER);
	qt_msix_enable(qt, d->devfn, &d->msix, 1);
	if (!(qt_pci_readw(qt, d->devfn, d->msix.cap + 2) & 0x8000))
		qt_fail(qt, "MSI-X Enable did not stick");

	/* Vectors are masked at reset: notifications only set PBA bits. */
	for (unsigned v = 0; v < d->vectors; v++) {
		uint64_t entry = d->msix_bar + d->msix.table_off + 16 * v;

		if (!(qt_readl(qt, entry + 12) & 1))
			qt_fail(qt, "MSI-X vector %u is not masked at reset",
				v);
		if (ivdev_pending(d, v))
			qt_fail(qt, "MSI-X vector %u pending before anything "
				"rang it", v);
	}
}

void ivdev_start(struct ivdev *d, const char *server_socket,
		 unsigned vectors)
{
	int rc = ivdev_spawn(d, server_socket, vectors, NULL);

	if (rc < 0) {
		qt_dump_log(&d->qt, 4096);
		CHECK(0, "cannot start QEMU with ivshmem-doorbell on %s: %s",
		      server_socket, strerror(-rc));
	}
	ivdev_setup(d);
}

void ivdev_stop(struct ivdev *d)
{
	qt_close(&d->qt);
}

uint32_t ivdev_reg(struct ivdev *d, unsigned reg)
{
	return qt_readl(&d->qt, d->regs + reg);
}

void ivdev_reg_write(struct ivdev *d, unsigned reg, uint32_t v)
{
	qt_writel(&d->qt, d->regs + reg, v);
}

int ivdev_position(struct ivdev *d)
{
	return (int)ivdev_reg(d, IVDEV_IV_POSITION);
}

void ivdev_ring(struct ivdev *d, int peer, unsigned vector)
{
	CHECK(peer >= 0 && peer <= 0xffff && vector <= 0xffff,
	      "bad doorbell %d/%u", peer, vector);
	ivdev_reg_write(d, IVDEV_DOORBELL, (uint32_t)peer << 16 | vector);
}

int ivdev_pending(struct ivdev *d, unsigned v)
{
	return qt_msix_pending(&d->qt, &d->msix, d->msix_bar, v);
}

void ivdev_clear_pending(struct ivdev *d, unsigned v)
{
	struct qtest *qt = &d->qt;
	uint64_t entry = d->msix_bar + d->msix.table_off + 16 * v;
	uint64_t where = IVDEV_MSI_RAM + 4 * v;
	uint32_t data = 0x4d530000u | v;

	qt_writel(qt, where, 0);
	qt_writel(qt, entry, (uint32_t)where);
	qt_writel(qt, entry + 4, (uint32_t)(where >> 32));
	qt_writel(qt, entry + 8, data);
	qt_writel(qt, entry + 12, 0);
	qt_writel(qt, entry + 12, 1);
	if (ivdev_pending(d, v))
		qt_fail(qt, "MSI-X vector %u still pending once unmasked", v);
	if (qt_readl(qt, where) != data)
		qt_fail(qt, "MSI-X vector %u: no message at 0x%llx once "
			"unmasked", v, (unsigned long long)where);
}

int ivdev_wait_pending(struct ivdev *d, unsigned v, int timeout_ms)
{
	long long deadline = tu_now_ns() + timeout_ms * 1000000LL;

	for (;;) {
		if (ivdev_pending(d, v))
			return 1;
		if (tu_now_ns() > deadline)
			return 0;
		usleep(1000);
	}
}
