/* SPDX-License-Identifier: MIT */
/*
 * What the guest transports share: finding the ivshmem PCI device in
 * sysfs, its register block (BAR0) and the one log line saying which path
 * a guest uses.
 */
#ifndef IVSHMEM_TRANSPORT_PCIDEV_H
#define IVSHMEM_TRANSPORT_PCIDEV_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ivshmem/transport.h>

#define PCIDEV_VENDOR 0x1af4 /* Red Hat, Inc. */
#define PCIDEV_DEVICE 0x1110 /* Inter-VM shared memory */
#define PCIDEV_SYSFS "/sys/bus/pci/devices"
#define PCIDEV_ADDR_LEN 32   /* "DDDD:BB:DD.F" and room to spare */
#define PCIDEV_WHY_LEN 256
/*
 * What the guest transports say on stderr starts with the bare name of the
 * program they run in (glibc's; e.g. "ipm-shell: using VFIO on ..."), as
 * every message of the project's programs does: a library has no name of
 * its own to print.
 */
#define PCIDEV_PROG program_invocation_short_name

/* BAR0: the ivshmem registers (QEMU's docs/specs/ivshmem-spec.rst). */
enum {
	PCIDEV_REG_INTRMASK = 0,
	PCIDEV_REG_INTRSTATUS = 4,
	PCIDEV_REG_IVPOSITION = 8, /* our peer id */
	PCIDEV_REG_DOORBELL = 12,  /* peer << 16 | vector */
};

/* The register block: mapped, or read and written at fd's offset. */
struct pcidev_regs {
	volatile uint32_t *map;
	void *map_base;
	size_t map_len;
	int fd;
	off_t off;
};

/*
 * Resolve addr ("0000:00:04.0", "00:04.0"; NULL: the first ivshmem device
 * in bus order) to its full name in out. -ENODEV when there is none,
 * -EINVAL when addr is not an ivshmem device; why says which.
 */
int pcidev_find(const char *addr, char *out, size_t len, char *why,
		size_t whylen);
/* Read a device attribute (e.g. "vendor") into buf, newline stripped. */
int pcidev_read_attr(const char *addr, const char *attr, char *buf,
		     size_t len);
/* Write val to a sysfs file; 0 or -errno. */
int pcidev_write_file(const char *path, const char *val);
/* The name of the bound driver, "" when none. */
void pcidev_driver(const char *addr, char *buf, size_t len);
/* The IOMMU group's number, or -ENOENT when the device is in none. */
int pcidev_iommu_group(const char *addr);

uint32_t pcidev_reg_read(const struct pcidev_regs *r, unsigned reg);
void pcidev_reg_write(const struct pcidev_regs *r, unsigned reg,
		      uint32_t val);
/*
 * Ring vector 'vector' of 'peer' through the Doorbell register, after a
 * barrier that makes our stores to the shared memory visible first.
 */
int pcidev_ring(const struct pcidev_regs *r, int peer, unsigned vector);
void pcidev_regs_release(struct pcidev_regs *r);

/* Internal openers: no log line; why (if not NULL) says what failed. */
int pcidev_vfio_open(struct ivshm_transport **out, const char *addr,
		     unsigned vectors, char *why, size_t whylen);
int pcidev_sysfs_open(struct ivshm_transport **out, const char *addr,
		      char *why, size_t whylen);

/* The one log line saying which path a guest uses (stderr). */
void pcidev_vfio_announce(const struct ivshm_transport *t);
void pcidev_sysfs_announce(const struct ivshm_transport *t,
			   const char *why_not_vfio);

/* printf into why, when there is one. */
void pcidev_why(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
