/* SPDX-License-Identifier: MIT */
/*
 * A small client for QEMU's qtest protocol: start qemu-system-x86_64 with
 * -qtest on a private unix socket, then drive the machine with text
 * commands (port I/O, guest physical memory, PCI configuration space).
 *
 * Every helper but qt_start()/qt_try_cmd() fails the test (exit 1, with the
 * tail of QEMU's log) on a FAIL reply, a dead QEMU or a timeout, so tests
 * can use the values they return without checking.
 *
 * QEMU processes are killed and reaped by qt_close(), and at exit when a
 * test fails half-way; they also die with the test (PR_SET_PDEATHSIG).
 */
#ifndef IVSHMEM_TESTS_QTEST_H
#define IVSHMEM_TESTS_QTEST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct qtest {
	pid_t pid;
	int sock;
	int id;                  /* sequence number, for file names */
	char sock_path[108];     /* the qtest socket */
	char log_path[256];      /* QEMU's stderr */
	char reply[16384];       /* the last reply, after "OK" */
	char rbuf[32768];        /* received, not yet consumed */
	size_t rlen;
	struct qtest *next_live; /* for the clean-up at exit */
};

/*
 * The QEMU binary: $IVSHMEM_QEMU if set, else qemu-system-x86_64 from
 * PATH. NULL when there is none.
 */
const char *qt_qemu_binary(void);

/* Whether we run under CI (the environment variable CI is non-empty). */
int qt_under_ci(void);

/*
 * Make sure QEMU can be found and started with qtest (a bare q35 machine).
 * When it cannot: outside CI exit 77 (ctest's SKIP_RETURN_CODE) with a
 * message; under CI fail the test.
 */
void qt_require_qemu(void);

/*
 * Start QEMU (-machine q35 -accel tcg -S, no display, no default devices)
 * with extra arguments (NULL-terminated, may be NULL) and connect to its
 * qtest socket. Returns 0, or -errno with QEMU reaped (its log stays in
 * qt->log_path) when it could not be started or exited early.
 */
int qt_start(struct qtest *qt, const char *const *extra_args);

/* SIGKILL and reap; a no-op on a closed qtest. */
void qt_close(struct qtest *qt);

/* 1 while QEMU runs; 0 once it has exited (then reaped, *status set). */
int qt_alive(struct qtest *qt, int *status);

/* Print the last 'max' bytes of QEMU's log to stderr. */
void qt_dump_log(const struct qtest *qt, size_t max);

/* Fail the test with a message and QEMU's log. */
void qt_fail(const struct qtest *qt, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/*
 * Send one command and wait for its reply (asynchronous "IRQ ..." lines
 * are skipped). Returns 0 on "OK" with the rest of the line in qt->reply,
 * 1 on "FAIL" (the rest in qt->reply), or -errno (-ETIMEDOUT, -EPIPE when
 * QEMU went away, -EPROTO on anything else).
 */
int qt_try_cmd(struct qtest *qt, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* As qt_try_cmd(), failing the test unless the reply is OK. */
const char *qt_cmd(struct qtest *qt, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Port I/O. */
void qt_outb(struct qtest *qt, uint16_t port, uint8_t v);
void qt_outw(struct qtest *qt, uint16_t port, uint16_t v);
void qt_outl(struct qtest *qt, uint16_t port, uint32_t v);
uint8_t qt_inb(struct qtest *qt, uint16_t port);
uint16_t qt_inw(struct qtest *qt, uint16_t port);
uint32_t qt_inl(struct qtest *qt, uint16_t port);

/* Guest physical memory (RAM or MMIO), little-endian. */
uint8_t qt_readb(struct qtest *qt, uint64_t addr);
uint16_t qt_readw(struct qtest *qt, uint64_t addr);
uint32_t qt_readl(struct qtest *qt, uint64_t addr);
uint64_t qt_readq(struct qtest *qt, uint64_t addr);
void qt_writeb(struct qtest *qt, uint64_t addr, uint8_t v);
void qt_writew(struct qtest *qt, uint64_t addr, uint16_t v);
void qt_writel(struct qtest *qt, uint64_t addr, uint32_t v);
void qt_writeq(struct qtest *qt, uint64_t addr, uint64_t v);

/* Bulk memory with "read ADDR SIZE" / "write ADDR SIZE 0xHEX". */
void qt_memread(struct qtest *qt, uint64_t addr, void *buf, size_t len);
void qt_memwrite(struct qtest *qt, uint64_t addr, const void *buf,
		 size_t len);

/*
 * PCI configuration space of bus 0, function 'devfn' (device << 3 | fn),
 * through the legacy mechanism (ports 0xcf8/0xcfc, offsets < 256).
 */
uint8_t qt_pci_readb(struct qtest *qt, unsigned devfn, unsigned off);
uint16_t qt_pci_readw(struct qtest *qt, unsigned devfn, unsigned off);
uint32_t qt_pci_readl(struct qtest *qt, unsigned devfn, unsigned off);
void qt_pci_writeb(struct qtest *qt, unsigned devfn, unsigned off,
		   uint8_t v);
void qt_pci_writew(struct qtest *qt, unsigned devfn, unsigned off,
		   uint16_t v);
void qt_pci_writel(struct qtest *qt, unsigned devfn, unsigned off,
		   uint32_t v);

#define QT_PCI_VENDOR_ID   0x00
#define QT_PCI_DEVICE_ID   0x02
#define QT_PCI_COMMAND     0x04
#define QT_PCI_STATUS      0x06
#define QT_PCI_BAR0        0x10
#define QT_PCI_CAP_PTR     0x34
#define QT_PCI_CMD_MEMORY  0x0002
#define QT_PCI_CMD_MASTER  0x0004
#define QT_PCI_STATUS_CAPS 0x0010
#define QT_PCI_CAP_MSIX    0x11

struct qt_bar {
	int is_io;
	int is_64;          /* takes this BAR and the next */
	int prefetchable;
	uint64_t size;      /* 0: not implemented */
};

/* Size a memory or I/O BAR (the usual all-ones probe; restored after). */
void qt_pci_bar_probe(struct qtest *qt, unsigned devfn, unsigned bar,
		      struct qt_bar *out);
/* Program a memory BAR's address (both halves of a 64-bit one). */
void qt_pci_bar_set(struct qtest *qt, unsigned devfn, unsigned bar,
		    uint64_t addr);
/* Read back a memory BAR's address, flags masked off. */
uint64_t qt_pci_bar_get(struct qtest *qt, unsigned devfn, unsigned bar);

/* Offset of the first capability with this id, 0 when there is none. */
unsigned qt_pci_find_cap(struct qtest *qt, unsigned devfn, uint8_t id);

struct qt_msix {
	unsigned cap;       /* offset in config space */
	unsigned vectors;   /* table size */
	unsigned table_bir;
	uint32_t table_off;
	unsigned pba_bir;
	uint32_t pba_off;
};

/* Read the MSI-X capability; 0, or -ENOENT when the function has none. */
int qt_msix_info(struct qtest *qt, unsigned devfn, struct qt_msix *m);
/* Set or clear MSI-X Enable (Message Control bit 15). */
void qt_msix_enable(struct qtest *qt, unsigned devfn,
		    const struct qt_msix *m, int on);
/* Whether vector v's bit in the PBA is set (the PBA's BAR at pba_bar_addr). */
int qt_msix_pending(struct qtest *qt, const struct qt_msix *m,
		    uint64_t pba_bar_addr, unsigned v);

#endif
