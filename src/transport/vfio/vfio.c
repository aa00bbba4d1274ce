/* SPDX-License-Identifier: MIT */
/*
 * The guest transport through VFIO: the ivshmem PCI device bound to
 * vfio-pci, BAR0 (registers) and BAR2 (shared memory) mapped, each MSI-X
 * vector routed to an eventfd. A guest has no presence news: the device
 * tells nobody when a peer comes or goes.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "../sysfs/pcidev.h"

#define MAX_VECTORS 64
/* devtmpfs creates /dev/vfio/N a moment after the bind. */
#define GROUP_NODE_WAIT_MS 2000

struct vfio_transport {
	struct ivshm_transport t; /* first: the ops get this pointer */
	char addr[PCIDEV_ADDR_LEN];
	int container;
	int group;
	int device;
	struct pcidev_regs regs;
	void *shm;
	size_t shm_len;
	unsigned nirqs;           /* MSI-X vectors routed to eventfds */
	int efd[MAX_VECTORS];
};

static struct vfio_transport *vt_of(struct ivshm_transport *t)
{
	return (struct vfio_transport *)t;
}

static int vfio_ring(struct ivshm_transport *t, int peer, unsigned vector)
{
	/* The device drops a ring for an absent peer: so do we. */
	return pcidev_ring(&vt_of(t)->regs, peer, vector);
}

static int vfio_vector_fd(struct ivshm_transport *t, unsigned vector)
{
	struct vfio_transport *v = vt_of(t);

	if (vector < v->nirqs)
		return v->efd[vector];
	return v->nirqs ? -EINVAL : -ENOTSUP; /* no MSI-X: poll */
}

static int vfio_ack(struct ivshm_transport *t, unsigned vector)
{
	struct vfio_transport *v = vt_of(t);
	uint64_t n;

	if (vector >= v->nirqs)
		return v->nirqs ? -EINVAL : 0;
	if (read(v->efd[vector], &n, sizeof(n)) != sizeof(n))
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	return n > INT_MAX ? INT_MAX : (int)n;
}

static int vfio_presence_fd(struct ivshm_transport *t)
{
	(void)t;
	return -ENOTSUP;
}

static int vfio_next_presence(struct ivshm_transport *t, int *peer, int *what)
{
	(void)t;
	(void)peer;
	(void)what;
	return -ENOTSUP;
}

static int vfio_peer_live(struct ivshm_transport *t, int peer)
{
	return peer == t->id ? 1 : -ENOTSUP;
}

static void set_irqs(struct vfio_transport *v, unsigned n)
{
	char buf[sizeof(struct vfio_irq_set) + MAX_VECTORS * sizeof(int32_t)];
	struct vfio_irq_set *set = (struct vfio_irq_set *)buf;

	set->argsz = (uint32_t)(sizeof(*set) + n * sizeof(int32_t));
	set->flags = (n ? VFIO_IRQ_SET_DATA_EVENTFD : VFIO_IRQ_SET_DATA_NONE) |
		     VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = VFIO_PCI_MSIX_IRQ_INDEX;
	set->start = 0;
	set->count = n;
	for (unsigned i = 0; i < n; i++)
		memcpy(set->data + i * sizeof(int32_t), &v->efd[i],
		       sizeof(int32_t));
	if (ioctl(v->device, VFIO_DEVICE_SET_IRQS, set) < 0 && n)
		v->nirqs = 0;
}

static void release(struct vfio_transport *v)
{
	if (v->device >= 0 && v->nirqs)
		set_irqs(v, 0); /* MSI-X off again */
	for (unsigned i = 0; i < MAX_VECTORS; i++)
		if (v->efd[i] >= 0)
			close(v->efd[i]);
	if (v->shm)
		munmap(v->shm, v->shm_len);
	pcidev_regs_release(&v->regs);
	if (v->device >= 0)
		close(v->device);
	if (v->group >= 0)
		close(v->group);
	if (v->container >= 0)
		close(v->container);
	free(v);
}

static void vfio_close(struct ivshm_transport *t)
{
	release(vt_of(t));
}

static const struct ivshm_transport_ops vfio_ops = {
	.name = "vfio",
	.ring = vfio_ring,
	.vector_fd = vfio_vector_fd,
	.ack = vfio_ack,
	.presence_fd = vfio_presence_fd,
	.next_presence = vfio_next_presence,
	.peer_live = vfio_peer_live,
	.close = vfio_close,
};

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Hand the device to vfio-pci (driver_override, unbind, drivers_probe). */
static int bind_vfio_pci(const char *addr, char *why, size_t whylen)
{
	char drv[64], path[PATH_MAX];
	int rc;

	pcidev_driver(addr, drv, sizeof(drv));
	if (!strcmp(drv, "vfio-pci"))
		return 0;
	if (access("/sys/bus/pci/drivers/vfio-pci", F_OK) < 0) {
		pcidev_why(why, whylen, "the vfio-pci driver is not loaded "
			   "(modprobe vfio-pci)");
		return -ENOENT;
	}
	snprintf(path, sizeof(path), PCIDEV_SYSFS "/%s/driver_override", addr);
	rc = pcidev_write_file(path, "vfio-pci");
	if (rc < 0) {
		pcidev_why(why, whylen, "cannot write %s: %s", path,
			   strerror(-rc));
		return rc;
	}
	if (*drv) {
		snprintf(path, sizeof(path), PCIDEV_SYSFS "/%s/driver/unbind",
			 addr);
		rc = pcidev_write_file(path, addr);
		if (rc < 0) {
			pcidev_why(why, whylen, "cannot unbind %s from %s: %s",
				   addr, drv, strerror(-rc));
			return rc;
		}
	}
	/* The probe writes fail harmlessly when another path bound it. */
	pcidev_write_file("/sys/bus/pci/drivers_probe", addr);
	pcidev_driver(addr, drv, sizeof(drv));
	if (strcmp(drv, "vfio-pci")) {
		pcidev_why(why, whylen, "vfio-pci did not take %s (driver: %s)",
			   addr, *drv ? drv : "none");
		return -ENODEV;
	}
	return 0;
}

/* Open /dev/vfio/N (or noiommu-N), waiting for devtmpfs to create it. */
static int open_group(int group, int *noiommu, char *why, size_t whylen)
{
	char path[64], noio[64];

	snprintf(path, sizeof(path), "/dev/vfio/%d", group);
	snprintf(noio, sizeof(noio), "/dev/vfio/noiommu-%d", group);
	for (int waited = 0;; waited += 10) {
		int fd = open(path, O_RDWR | O_CLOEXEC);

		*noiommu = 0;
		if (fd < 0 && errno == ENOENT) {
			fd = open(noio, O_RDWR | O_CLOEXEC);
			*noiommu = 1;
		}
		if (fd >= 0)
			return fd;
		if (errno != ENOENT || waited >= GROUP_NODE_WAIT_MS) {
			pcidev_why(why, whylen, "cannot open %s: %s", path,
				   strerror(errno));
			return -errno;
		}
		sleep_ms(10);
	}
}

static int region(struct vfio_transport *v, unsigned index,
		  struct vfio_region_info *ri)
{
	memset(ri, 0, sizeof(*ri));
	ri->argsz = sizeof(*ri);
	ri->index = index;
	return ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO, ri) < 0 ? -errno :
									 0;
}

static int map_bars(struct vfio_transport *v, char *why, size_t whylen)
{
	struct vfio_region_info r0, r2;
	int rc;

	rc = region(v, VFIO_PCI_BAR0_REGION_INDEX, &r0);
	if (rc == 0)
		rc = region(v, VFIO_PCI_BAR2_REGION_INDEX, &r2);
	if (rc < 0) {
		pcidev_why(why, whylen, "VFIO_DEVICE_GET_REGION_INFO: %s",
			   strerror(-rc));
		return rc;
	}
	if (r0.size < 16 || !(r0.flags & VFIO_REGION_INFO_FLAG_WRITE) ||
	    !r2.size || !(r2.flags & VFIO_REGION_INFO_FLAG_MMAP)) {
		pcidev_why(why, whylen, "unexpected BARs (BAR0 %llu bytes, "
			   "BAR2 %llu bytes%s)", (unsigned long long)r0.size,
			   (unsigned long long)r2.size,
			   r2.flags & VFIO_REGION_INFO_FLAG_MMAP ? "" :
				", not mappable");
		return -ENODEV;
	}
	v->regs.fd = v->device;
	v->regs.off = (off_t)r0.offset;
	if (r0.flags & VFIO_REGION_INFO_FLAG_MMAP) {
		/* A 256-byte BAR0 is mappable when it has a page of its own. */
		size_t len = (size_t)sysconf(_SC_PAGESIZE);
		void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
			       v->device, (off_t)r0.offset);

		if (p != MAP_FAILED) {
			v->regs.map_base = p;
			v->regs.map_len = len;
			v->regs.map = p;
		}
	}
	v->shm = mmap(NULL, r2.size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->device, (off_t)r2.offset);
	if (v->shm == MAP_FAILED) {
		v->shm = NULL;
		rc = -errno;
		pcidev_why(why, whylen, "cannot map BAR2 (%llu bytes): %s",
			   (unsigned long long)r2.size, strerror(-rc));
		return rc;
	}
	v->shm_len = (size_t)r2.size;
	return 0;
}

/* Memory space and bus mastering on (MSI-X messages are DMA writes). */
static int enable_device(struct vfio_transport *v, char *why, size_t whylen)
{
	struct vfio_region_info cfg;
	uint16_t cmd;
	int rc = region(v, VFIO_PCI_CONFIG_REGION_INDEX, &cfg);

	if (rc == 0 && pread(v->device, &cmd, sizeof(cmd),
			     (off_t)cfg.offset + PCI_COMMAND) != sizeof(cmd))
		rc = -errno;
	if (rc == 0) {
		cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
		if (pwrite(v->device, &cmd, sizeof(cmd),
			   (off_t)cfg.offset + PCI_COMMAND) != sizeof(cmd))
			rc = -errno;
	}
	if (rc < 0)
		pcidev_why(why, whylen, "cannot set the PCI command register: "
			   "%s", strerror(-rc));
	return rc;
}

/* Route the first n MSI-X vectors to eventfds; how many were. */
static int route_msix(struct vfio_transport *v, unsigned want)
{
	struct vfio_irq_info irq = { .argsz = sizeof(irq),
				     .index = VFIO_PCI_MSIX_IRQ_INDEX };
	unsigned n;

	if (ioctl(v->device, VFIO_DEVICE_GET_IRQ_INFO, &irq) < 0 ||
	    !(irq.flags & VFIO_IRQ_INFO_EVENTFD))
		return 0;
	n = irq.count < MAX_VECTORS ? irq.count : MAX_VECTORS;
	if (want && want < n)
		n = want;
	for (unsigned i = 0; i < n; i++) {
		v->efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (v->efd[i] < 0)
			return -errno;
	}
	v->nirqs = n;
	set_irqs(v, n);
	return (int)v->nirqs;
}

static int setup(struct vfio_transport *v, unsigned vectors, char *why,
		 size_t whylen)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	struct vfio_device_info info = { .argsz = sizeof(info) };
	int group, noiommu, type, rc;
	uint32_t pos;

	group = pcidev_iommu_group(v->addr);
	if (group < 0) {
		pcidev_why(why, whylen, "%s is in no IOMMU group (no vIOMMU, "
			   "and vfio's noiommu mode is off)", v->addr);
		return -ENODEV;
	}
	if (access("/dev/vfio/vfio", F_OK) < 0) {
		pcidev_why(why, whylen, "no /dev/vfio/vfio (vfio not loaded)");
		return -ENOENT;
	}
	rc = bind_vfio_pci(v->addr, why, whylen);
	if (rc < 0)
		return rc;
	v->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (v->container < 0) {
		rc = -errno;
		pcidev_why(why, whylen, "cannot open /dev/vfio/vfio: %s",
			   strerror(-rc));
		return rc;
	}
	if (ioctl(v->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION) {
		pcidev_why(why, whylen, "unknown VFIO API version");
		return -EPROTONOSUPPORT;
	}
	v->group = open_group(group, &noiommu, why, whylen);
	if (v->group < 0)
		return v->group;
	if (noiommu)
		type = VFIO_NOIOMMU_IOMMU;
	else if (ioctl(v->container, VFIO_CHECK_EXTENSION,
		       VFIO_TYPE1v2_IOMMU) > 0)
		type = VFIO_TYPE1v2_IOMMU;
	else
		type = VFIO_TYPE1_IOMMU;
	if (ioctl(v->container, VFIO_CHECK_EXTENSION, type) <= 0) {
		pcidev_why(why, whylen, "the VFIO container supports no %s "
			   "IOMMU", noiommu ? "noiommu" : "type1");
		return -ENOTSUP;
	}
	if (ioctl(v->group, VFIO_GROUP_GET_STATUS, &st) < 0 ||
	    !(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		pcidev_why(why, whylen, "IOMMU group %d is not viable (bind "
			   "every device in it to vfio-pci)", group);
		return -EBUSY;
	}
	if (ioctl(v->group, VFIO_GROUP_SET_CONTAINER, &v->container) < 0) {
		rc = -errno;
		pcidev_why(why, whylen, "cannot attach IOMMU group %d: %s",
			   group, strerror(-rc));
		return rc;
	}
	if (ioctl(v->container, VFIO_SET_IOMMU, type) < 0) {
		rc = -errno;
		/* type1 refuses an IOMMU that cannot isolate MSIs. */
		pcidev_why(why, whylen, "VFIO_SET_IOMMU: %s%s", strerror(-rc),
			   rc == -EPERM ? " (no interrupt remapping: x86 needs "
			   "intel-iommu,intremap=on, arm64 a GICv3 ITS; or "
			   "vfio_iommu_type1.allow_unsafe_interrupts=1)" : "");
		return rc;
	}
	v->device = ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, v->addr);
	if (v->device < 0) {
		rc = -errno;
		pcidev_why(why, whylen, "VFIO_GROUP_GET_DEVICE_FD %s: %s",
			   v->addr, strerror(-rc));
		return rc;
	}
	if (ioctl(v->device, VFIO_DEVICE_GET_INFO, &info) < 0 ||
	    !(info.flags & VFIO_DEVICE_FLAGS_PCI) ||
	    info.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX) {
		pcidev_why(why, whylen, "%s is not a VFIO PCI device",
			   v->addr);
		return -ENODEV;
	}
	rc = map_bars(v, why, whylen);
	if (rc == 0)
		rc = enable_device(v, why, whylen);
	if (rc < 0)
		return rc;
	rc = route_msix(v, vectors);
	if (rc < 0) {
		pcidev_why(why, whylen, "eventfd: %s", strerror(-rc));
		return rc;
	}
	pos = pcidev_reg_read(&v->regs, PCIDEV_REG_IVPOSITION);
	if (pos > 0xffff) {
		pcidev_why(why, whylen, "the device has no peer id (IVPosition "
			   "%#x): is it an ivshmem-doorbell with a server?",
			   pos);
		return -ENOTCONN;
	}
	v->t = (struct ivshm_transport){
		.ops = &vfio_ops,
		.mem = v->shm,
		.size = v->shm_len,
		.id = (int)pos,
		.vectors = v->nirqs,
	};
	return 0;
}

int pcidev_vfio_open(struct ivshm_transport **out, const char *addr,
		     unsigned vectors, char *why, size_t whylen)
{
	struct vfio_transport *v;
	int rc;

	*out = NULL;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->container = v->group = v->device = -1;
	for (unsigned i = 0; i < MAX_VECTORS; i++)
		v->efd[i] = -1;
	rc = pcidev_find(addr, v->addr, sizeof(v->addr), why, whylen);
	if (rc == 0)
		rc = setup(v, vectors, why, whylen);
	if (rc < 0) {
		release(v);
		return rc;
	}
	*out = &v->t;
	return 0;
}

__attribute__((visibility("default")))
int ivshm_transport_vfio_open(struct ivshm_transport **out,
			      const char *pci_addr, unsigned vectors)
{
	char why[PCIDEV_WHY_LEN] = "";
	int rc = pcidev_vfio_open(out, pci_addr, vectors, why, sizeof(why));

	if (rc < 0) {
		fprintf(stderr, "%s: cannot use VFIO: %s\n", PCIDEV_PROG, why);
		return rc;
	}
	pcidev_vfio_announce(*out);
	return 0;
}

void pcidev_vfio_announce(const struct ivshm_transport *t)
{
	const struct vfio_transport *v = (const struct vfio_transport *)t;

	if (v->nirqs)
		fprintf(stderr, "%s: using VFIO on %s (MSI-X, %u "
			"vector%s)\n", PCIDEV_PROG, v->addr, v->nirqs,
			v->nirqs == 1 ? "" : "s");
	else
		fprintf(stderr, "%s: using VFIO on %s (no MSI-X: "
			"polling the shared memory)\n", PCIDEV_PROG, v->addr);
}
