/* SPDX-License-Identifier: MIT */
/*
 * An ivshmem transport: what the IPM layer needs from whatever gives it
 * the shared memory and the doorbells. A host process gets them from the
 * server (ivshm_transport_host_open); a Linux guest gets them from the PCI
 * device. Each backend fills one ops table, as Zephyr's drivers do.
 */
#ifndef IVSHMEM_TRANSPORT_H
#define IVSHMEM_TRANSPORT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ivshm_transport;

enum ivshm_presence {
	IVSHM_PEER_JOINED = 1,
	IVSHM_PEER_LEFT = 2,
	IVSHM_TRANSPORT_GONE = 3, /* no more presence news (server gone) */
};

struct ivshm_transport_ops {
	const char *name;
	/* Ring vector 'vector' of peer 'peer'. 0 or -errno. */
	int (*ring)(struct ivshm_transport *t, int peer, unsigned vector);
	/*
	 * A pollable fd that becomes readable when our 'vector' is rung, or
	 * -ENOTSUP when the transport can only be polled (the IPM layer then
	 * watches the shared memory instead).
	 */
	int (*vector_fd)(struct ivshm_transport *t, unsigned vector);
	/* Consume vector's pending notifications: how many, 0 if none. */
	int (*ack)(struct ivshm_transport *t, unsigned vector);
	/* A pollable fd for presence news, or -ENOTSUP when there are none. */
	int (*presence_fd)(struct ivshm_transport *t);
	/*
	 * Next presence change, without blocking: 1 with *peer and *what
	 * filled, 0 when there is none, -errno on failure.
	 */
	int (*next_presence)(struct ivshm_transport *t, int *peer, int *what);
	/* 1 when the peer is known live, 0 when known gone, -ENOTSUP. */
	int (*peer_live)(struct ivshm_transport *t, int peer);
	void (*close)(struct ivshm_transport *t);
	/*
	 * May be NULL. Wake a peer that waits edge-triggered on 'vector'
	 * with a counter it keeps above 0, without adding to the counter
	 * (ivshmem_nudge()); never blocks. A transport that has it can also
	 * be woken so: its vector fd is an eventfd that peers write
	 * directly. 0 or -errno.
	 */
	int (*nudge)(struct ivshm_transport *t, int peer, unsigned vector);
};

struct ivshm_transport {
	const struct ivshm_transport_ops *ops;
	void *mem;        /* the shared memory, mapped read-write */
	size_t size;
	int id;           /* our peer id */
	unsigned vectors; /* our vector count */
};

/* Join the ivshmem server at socket_path (see ivshmem_connect()). */
int ivshm_transport_host_open(struct ivshm_transport **out,
			      const char *socket_path, unsigned vectors,
			      int timeout_ms);

/*
 * Linux guest transports: the ivshmem PCI device (1af4:1110, QEMU's
 * ivshmem-doorbell) of the guest we run in, as root. pci_addr is the
 * device's PCI address ("0000:00:04.0", or "00:04.0"), or NULL for the
 * first ivshmem device. Our id is the device's IVPosition register; ring()
 * writes its Doorbell register (a ring for an absent peer is dropped, as
 * by the device: 0, never -ENOENT). A guest gets no presence news:
 * presence_fd() and next_presence() return -ENOTSUP and peer_live() returns
 * -ENOTSUP for every peer but ourselves. Each prints one line on stderr
 * saying which path is in use (or why none can be).
 */

/*
 * Through VFIO: binds the device to vfio-pci if it is not (driver_override,
 * unbind, drivers_probe; loading the vfio-pci module is the system's job),
 * maps BAR0 and BAR2 and routes the first 'vectors' MSI-X vectors (0: all
 * the device has) to eventfds: vector_fd() is pollable and ack() reads it.
 * t->vectors is how many were routed. Needs the device in an IOMMU group
 * (a vIOMMU, or vfio's enable_unsafe_noiommu_mode). The device stays bound
 * to vfio-pci after close.
 */
int ivshm_transport_vfio_open(struct ivshm_transport **out,
			      const char *pci_addr, unsigned vectors);

/*
 * Fallback without VFIO: BAR0 and BAR2 mapped through sysfs resource files.
 * Ringing works, but no notification reaches us: vector_fd() returns
 * -ENOTSUP and ack() 0, so doorbell-mode IPM (which has only the
 * notification) cannot open, and mailbox-mode IPM polls the shared memory.
 * t->vectors is the device's MSI-X table size (what peers may ring).
 */
int ivshm_transport_sysfs_open(struct ivshm_transport **out,
			       const char *pci_addr);

/* VFIO if it can be had, else the sysfs fallback, saying why on stderr. */
int ivshm_transport_pci_open(struct ivshm_transport **out,
			     const char *pci_addr, unsigned vectors);

/* Close any transport. NULL is accepted. */
void ivshm_transport_close(struct ivshm_transport *t);

#ifdef __cplusplus
}
#endif
#endif
