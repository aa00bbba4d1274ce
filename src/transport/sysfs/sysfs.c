/* SPDX-License-Identifier: MIT */
/*
 * The guest fallback when VFIO is unavailable (no IOMMU group, no vfio
 * module): BAR0 and BAR2 mapped through sysfs's resource files. Ringing
 * works; incoming notifications do not (without a driver the device's
 * MSI-X stays off), so vector_fd() says -ENOTSUP and the IPM layer polls
 * the shared memory instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/pci_regs.h>

#include "pcidev.h"


struct sysfs_transport {
	struct ivshm_transport t; /* first: the ops get this pointer */
	char addr[PCIDEV_ADDR_LEN];
	struct pcidev_regs regs;
	void *shm_base;
	size_t shm_len;
	const char *shm_file;
};

static struct sysfs_transport *st_of(struct ivshm_transport *t)
{
	return (struct sysfs_transport *)t;
}

static int sysfs_ring(struct ivshm_transport *t, int peer, unsigned vector)
{
	return pcidev_ring(&st_of(t)->regs, peer, vector);
}

static int sysfs_vector_fd(struct ivshm_transport *t, unsigned vector)
{
	(void)t;
	(void)vector;
	return -ENOTSUP;
}

static int sysfs_ack(struct ivshm_transport *t, unsigned vector)
{
	(void)t;
	(void)vector;
	return 0;
}

static int sysfs_presence_fd(struct ivshm_transport *t)
{
	(void)t;
	return -ENOTSUP;
}

static int sysfs_next_presence(struct ivshm_transport *t, int *peer,
			       int *what)
{
	(void)t;
	(void)peer;
	(void)what;
	return -ENOTSUP;
}

static int sysfs_peer_live(struct ivshm_transport *t, int peer)
{
	return peer == t->id ? 1 : -ENOTSUP;
}

static void release(struct sysfs_transport *s)
{
	if (s->shm_base)
		munmap(s->shm_base, s->shm_len);
	pcidev_regs_release(&s->regs);
	if (s->regs.fd >= 0)
		close(s->regs.fd);
	free(s);
}

static void sysfs_close(struct ivshm_transport *t)
{
	release(st_of(t));
}

static const struct ivshm_transport_ops sysfs_ops = {
	.name = "sysfs",
	.ring = sysfs_ring,
	.vector_fd = sysfs_vector_fd,
	.ack = sysfs_ack,
	.presence_fd = sysfs_presence_fd,
	.next_presence = sysfs_next_presence,
	.peer_live = sysfs_peer_live,
	.close = sysfs_close,
};

/* BAR 'bar''s start and length from the device's "resource" file. */
static int bar_range(const char *addr, int bar, unsigned long long *start,
		     unsigned long long *len)
{
	char path[PATH_MAX], line[128];
	unsigned long long s = 0, e = 0, flags;
	FILE *f;
	int i = 0, found = 0;

	snprintf(path, sizeof(path), PCIDEV_SYSFS "/%s/resource", addr);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (i++ == bar)
			found = sscanf(line, "%llx %llx %llx", &s, &e,
				       &flags) == 3;
	fclose(f);
	if (!found || !s || e < s)
		return -ENODEV;
	*start = s;
	*len = e - s + 1;
	return 0;
}

/* Map a BAR through its resource file; p points at the BAR's first byte. */
static int map_bar(const char *addr, const char *file, int bar, void **base,
		   size_t *maplen, void **p, size_t *len)
{
	unsigned long long start = 0, blen = 0;
	size_t page = (size_t)sysconf(_SC_PAGESIZE), in_page;
	char path[PATH_MAX];
	int fd, rc = bar_range(addr, bar, &start, &blen);

	if (rc < 0)
		return rc;
	in_page = (size_t)(start & (page - 1));
	*maplen = (in_page + (size_t)blen + page - 1) & ~(page - 1);
	snprintf(path, sizeof(path), PCIDEV_SYSFS "/%s/%s", addr, file);
	fd = open(path, O_RDWR | O_SYNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*base = mmap(NULL, *maplen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	rc = *base == MAP_FAILED ? -errno : 0;
	close(fd);
	if (rc < 0) {
		*base = NULL;
		return rc;
	}
	*p = (char *)*base + in_page;
	*len = (size_t)blen;
	return 0;
}

/* The MSI-X table size from config space: what peers may ring. */
static unsigned msix_vectors(const char *addr)
{
	char path[PATH_MAX];
	uint8_t cfg[256];
	unsigned pos, n = 0;
	ssize_t got;
	int fd;

	snprintf(path, sizeof(path), PCIDEV_SYSFS "/%s/config", addr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	got = pread(fd, cfg, sizeof(cfg), 0);
	close(fd);
	if (got != (ssize_t)sizeof(cfg) ||
	    !(cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST))
		return 0;
	pos = cfg[PCI_CAPABILITY_LIST] & ~3u;
	for (int hops = 0; pos >= 0x40 && pos < 0xfc && hops < 48; hops++) {
		if (cfg[pos] == PCI_CAP_ID_MSIX) {
			n = (unsigned)cfg[pos + 2] | cfg[pos + 3] << 8;
			return (n & PCI_MSIX_FLAGS_QSIZE) + 1;
		}
		pos = cfg[pos + 1] & ~3u;
	}
	return 0;
}

static int read_command(int fd, uint16_t *cmd)
{
	return pread(fd, cmd, sizeof(*cmd), PCI_COMMAND) == sizeof(*cmd) ?
		0 : -EIO;
}

/*
 * Memory decoding on, as a driver's pci_enable_device() would, and the
 * device awake: a driver that holds it (vfio-pci, bound at boot) may have
 * put it in D3, where BAR reads return all ones.
 */
static int enable_memory(const char *addr)
{
	char path[PATH_MAX];
	uint16_t cmd;
	int fd, rc;

	snprintf(path, sizeof(path), PCIDEV_SYSFS "/%s/power/control", addr);
	pcidev_write_file(path, "on");
	snprintf(path, sizeof(path), PCIDEV_SYSFS "/%s/config", addr);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = read_command(fd, &cmd);
	if (rc == 0 && !(cmd & PCI_COMMAND_MEMORY)) {
		/* pci_enable_device() when no driver holds it ... */
		snprintf(path, sizeof(path), PCIDEV_SYSFS "/%s/enable", addr);
		pcidev_write_file(path, "1");
		rc = read_command(fd, &cmd);
	}
	if (rc == 0 && !(cmd & PCI_COMMAND_MEMORY)) {
		/* ... else the command register itself. */
		cmd |= PCI_COMMAND_MEMORY;
		if (pwrite(fd, &cmd, sizeof(cmd), PCI_COMMAND) != sizeof(cmd))
			rc = -errno;
	}
	close(fd);
	return rc;
}

static int setup(struct sysfs_transport *s, char *why, size_t whylen)
{
	char wc[PATH_MAX];
	void *regs, *shm;
	size_t rlen, slen;
	uint32_t pos;
	int rc;

	rc = enable_memory(s->addr);
	if (rc < 0) {
		pcidev_why(why, whylen, "cannot enable %s's memory space: %s",
			   s->addr, strerror(-rc));
		return rc;
	}
	rc = map_bar(s->addr, "resource0", 0, &s->regs.map_base,
		     &s->regs.map_len, &regs, &rlen);
	if (rc == 0 && rlen < 16)
		rc = -ENODEV;
	if (rc < 0) {
		pcidev_why(why, whylen, "cannot map %s's BAR0 (resource0): %s",
			   s->addr, strerror(-rc));
		return rc;
	}
	s->regs.map = regs;
	/*
	 * arm64 maps resource2 as Device memory, where unaligned accesses
	 * (memcpy) and exclusives fault; resource2_wc is Normal
	 * non-cacheable. x86 keeps resource2 (UC): its WC stores would not
	 * stay ordered behind a release store.
	 */
	s->shm_file = "resource2";
#if defined(__aarch64__)
	snprintf(wc, sizeof(wc), PCIDEV_SYSFS "/%s/resource2_wc", s->addr);
	if (access(wc, F_OK) == 0)
		s->shm_file = "resource2_wc";
#else
	(void)wc;
#endif
	rc = map_bar(s->addr, s->shm_file, 2, &s->shm_base, &s->shm_len, &shm,
		     &slen);
	if (rc < 0) {
		pcidev_why(why, whylen, "cannot map %s's BAR2 (%s): %s",
			   s->addr, s->shm_file, strerror(-rc));
		return rc;
	}
	pos = pcidev_reg_read(&s->regs, PCIDEV_REG_IVPOSITION);
	if (pos > 0xffff) {
		pcidev_why(why, whylen, "the device has no peer id (IVPosition "
			   "%#x): is it an ivshmem-doorbell with a server?",
			   pos);
		return -ENOTCONN;
	}
	s->t = (struct ivshm_transport){
		.ops = &sysfs_ops,
		.mem = shm,
		.size = slen,
		.id = (int)pos,
		.vectors = msix_vectors(s->addr),
	};
	return 0;
}

int pcidev_sysfs_open(struct ivshm_transport **out, const char *addr,
		      char *why, size_t whylen)
{
	struct sysfs_transport *s;
	int rc;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->regs.fd = -1;
	rc = pcidev_find(addr, s->addr, sizeof(s->addr), why, whylen);
	if (rc == 0)
		rc = setup(s, why, whylen);
	if (rc < 0) {
		release(s);
		return rc;
	}
	*out = &s->t;
	return 0;
}

void pcidev_sysfs_announce(const struct ivshm_transport *t,
			   const char *why_not_vfio)
{
	const struct sysfs_transport *s = (const struct sysfs_transport *)t;

	fprintf(stderr, "%s: using sysfs %s on %s, no notifications: "
		"polling the shared memory%s%s%s\n", PCIDEV_PROG, s->shm_file,
		s->addr,
		why_not_vfio ? " (no VFIO: " : "",
		why_not_vfio ? why_not_vfio : "", why_not_vfio ? ")" : "");
}

__attribute__((visibility("default")))
int ivshm_transport_sysfs_open(struct ivshm_transport **out,
			       const char *pci_addr)
{
	char why[PCIDEV_WHY_LEN] = "";
	int rc = pcidev_sysfs_open(out, pci_addr, why, sizeof(why));

	if (rc < 0) {
		fprintf(stderr, "%s: cannot use the PCI device: %s\n",
			PCIDEV_PROG, why);
		return rc;
	}
	pcidev_sysfs_announce(*out, NULL);
	return 0;
}
