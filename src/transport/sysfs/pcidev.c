/* SPDX-License-Identifier: MIT */
/* Finding the ivshmem PCI device in sysfs and driving its registers. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pcidev.h"

void pcidev_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || !whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

int pcidev_read_attr(const char *addr, const char *attr, char *buf,
		     size_t len)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), PCIDEV_SYSFS "/%s/%s", addr, attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	close(fd);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int pcidev_write_file(const char *path, const char *val)
{
	size_t len = strlen(val);
	ssize_t n;
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = write(fd, val, len);
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	close(fd);
	return (size_t)n == len ? 0 : -EIO;
}

void pcidev_driver(const char *addr, char *buf, size_t len)
{
	char path[PATH_MAX], link[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), PCIDEV_SYSFS "/%s/driver", addr);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0) {
		buf[0] = '\0';
		return;
	}
	link[n] = '\0';
	snprintf(buf, len, "%s", strrchr(link, '/') ? strrchr(link, '/') + 1 :
						      link);
}

int pcidev_iommu_group(const char *addr)
{
	char path[PATH_MAX], link[PATH_MAX], *slash, *end;
	ssize_t n;
	long v;

	snprintf(path, sizeof(path), PCIDEV_SYSFS "/%s/iommu_group", addr);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -ENOENT;
	link[n] = '\0';
	slash = strrchr(link, '/');
	errno = 0;
	v = strtol(slash ? slash + 1 : link, &end, 10);
	if (errno || *end || v < 0 || v > INT_MAX)
		return -EINVAL;
	return (int)v;
}

static int is_ivshmem(const char *addr)
{
	char v[32], d[32];

	if (pcidev_read_attr(addr, "vendor", v, sizeof(v)) < 0 ||
	    pcidev_read_attr(addr, "device", d, sizeof(d)) < 0)
		return 0;
	return strtoul(v, NULL, 16) == PCIDEV_VENDOR &&
	       strtoul(d, NULL, 16) == PCIDEV_DEVICE;
}

static int pci_addr_ok(const char *s)
{
	unsigned dom, bus, dev, fn;
	char tail;

	return strlen(s) < PCIDEV_ADDR_LEN &&
	       sscanf(s, "%x:%x:%x.%x%c", &dom, &bus, &dev, &fn, &tail) == 4;
}

int pcidev_find(const char *addr, char *out, size_t len, char *why,
		size_t whylen)
{
	struct dirent **list;
	char full[PCIDEV_ADDR_LEN + 8];
	int n, found = 0;

	if (addr) {
		/* "00:04.0" is in domain 0, as lspci shows it. */
		snprintf(full, sizeof(full), "%s%s",
			 strchr(addr, ':') == strrchr(addr, ':') ? "0000:" : "",
			 addr);
		if (!pci_addr_ok(full)) {
			pcidev_why(why, whylen, "'%s' is not a PCI address",
				   addr);
			return -EINVAL;
		}
		if (!is_ivshmem(full)) {
			pcidev_why(why, whylen, "no ivshmem device (%04x:%04x) "
				   "at %s", PCIDEV_VENDOR, PCIDEV_DEVICE, full);
			return -ENODEV;
		}
		snprintf(out, len, "%s", full);
		return 0;
	}
	n = scandir(PCIDEV_SYSFS, &list, NULL, alphasort);
	if (n < 0) {
		pcidev_why(why, whylen, "cannot list " PCIDEV_SYSFS ": %s",
			   strerror(errno));
		return -ENODEV;
	}
	for (int i = 0; i < n; i++) {
		if (!found && list[i]->d_name[0] != '.' &&
		    is_ivshmem(list[i]->d_name)) {
			snprintf(out, len, "%s", list[i]->d_name);
			found = 1;
		}
		free(list[i]);
	}
	free(list);
	if (!found) {
		pcidev_why(why, whylen, "no ivshmem PCI device (%04x:%04x) in "
			   PCIDEV_SYSFS, PCIDEV_VENDOR, PCIDEV_DEVICE);
		return -ENODEV;
	}
	return 0;
}

uint32_t pcidev_reg_read(const struct pcidev_regs *r, unsigned reg)
{
	uint32_t v;

	if (r->map)
		return r->map[reg / 4];
	if (pread(r->fd, &v, sizeof(v), r->off + reg) != sizeof(v))
		return UINT32_MAX;
	return v;
}

void pcidev_reg_write(const struct pcidev_regs *r, unsigned reg, uint32_t val)
{
	if (r->map) {
		r->map[reg / 4] = val;
		return;
	}
	if (pwrite(r->fd, &val, sizeof(val), r->off + reg) != sizeof(val))
		return; /* a write the device refuses is dropped, as MMIO */
}

int pcidev_ring(const struct pcidev_regs *r, int peer, unsigned vector)
{
	if (peer < 0 || peer > 0xffff || vector > 0xffff)
		return -EINVAL;
	/* As writel(): what we stored in shared memory goes first. */
	atomic_thread_fence(memory_order_seq_cst);
#if defined(__aarch64__)
	__asm__ __volatile__("dmb osh" ::: "memory");
#endif
	pcidev_reg_write(r, PCIDEV_REG_DOORBELL, (uint32_t)peer << 16 | vector);
	return 0;
}

void pcidev_regs_release(struct pcidev_regs *r)
{
	if (r->map_base)
		munmap(r->map_base, r->map_len);
	r->map_base = NULL;
	r->map = NULL;
}
