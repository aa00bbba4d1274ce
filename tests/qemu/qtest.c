/* SPDX-License-Identifier: MIT */
#include "qtest.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define QT_CMD_TIMEOUT_MS   30000
#define QT_START_TIMEOUT_MS 20000
#define QT_BULK_CHUNK       4096

static struct qtest *live;   /* running QEMUs, killed at exit */
static int exit_hook_set;

static void unlink_live(struct qtest *qt)
{
	for (struct qtest **pp = &live; *pp; pp = &(*pp)->next_live) {
		if (*pp == qt) {
			*pp = qt->next_live;
			qt->next_live = NULL;
			return;
		}
	}
}

/* A test that exits with QEMUs still running failed half-way. */
static void kill_leftovers(void)
{
	while (live) {
		struct qtest *qt = live;

		fprintf(stderr, "qtest: QEMU %d still running at exit\n",
			(int)qt->pid);
		qt_dump_log(qt, 2048);
		qt_close(qt);
	}
}

int qt_under_ci(void)
{
	const char *ci = getenv("CI");

	return ci && ci[0];
}

const char *qt_qemu_binary(void)
{
	static char found[4096];
	const char *env = getenv("IVSHMEM_QEMU");
	const char *path = getenv("PATH");

	if (env && env[0])
		return access(env, X_OK) == 0 ? env : NULL;
	if (!path || !path[0])
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");

		if (n > 0 && n < sizeof(found) - 32) {
			snprintf(found, sizeof(found), "%.*s/%s", (int)n, path,
				 "qemu-system-x86_64");
			if (access(found, X_OK) == 0)
				return found;
		}
		path += n;
		if (*path == ':')
			path++;
	}
	return NULL;
}

static void __attribute__((noreturn, format(printf, 1, 2)))
skip_or_fail(const char *fmt, ...)
{
	va_list ap;
	int ci = qt_under_ci();

	fprintf(stderr, "%s: ", ci ? "FAIL" : "SKIP");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (ci)
		fprintf(stderr, "\n(CI is set: a QEMU test that cannot run "
			"fails instead of being skipped)\n");
	else
		fprintf(stderr, "\n(skipped; set IVSHMEM_QEMU to a "
			"qemu-system-x86_64 to run it)\n");
	exit(ci ? 1 : 77);
}

void qt_require_qemu(void)
{
	static char out[1 << 16];
	const char *bin = qt_qemu_binary();
	struct qtest qt;
	int rc;

	if (!bin && getenv("IVSHMEM_QEMU") && getenv("IVSHMEM_QEMU")[0])
		skip_or_fail("no QEMU: IVSHMEM_QEMU=%s is not executable",
			     getenv("IVSHMEM_QEMU"));
	if (!bin)
		skip_or_fail("no QEMU: qemu-system-x86_64 is not on PATH (or "
			     "set IVSHMEM_QEMU)");
	rc = tu_run((const char *const[]){ bin, "-nodefaults", "-machine",
					   "none", "-device", "help", NULL },
		    out, sizeof(out), 30);
	if (rc != 0)
		skip_or_fail("%s -device help exited with status %d:\n%.2000s",
			     bin, rc, out);
	if (!strstr(out, "\"ivshmem-doorbell\""))
		skip_or_fail("%s has no ivshmem-doorbell device", bin);
	rc = qt_start(&qt, NULL);
	if (rc < 0) {
		qt_dump_log(&qt, 4096);
		skip_or_fail("cannot start %s with -qtest: %s", bin,
			     rc == -ECHILD ? "it exited during start-up" :
			     strerror(-rc));
	}
	qt_close(&qt);
}

void qt_dump_log(const struct qtest *qt, size_t max)
{
	char buf[8192];
	struct stat st;
	ssize_t n;
	int fd = open(qt->log_path, O_RDONLY | O_CLOEXEC);

	if (max > sizeof(buf) - 1)
		max = sizeof(buf) - 1;
	if (fd < 0) {
		fprintf(stderr, "(no QEMU log at %s)\n", qt->log_path);
		return;
	}
	if (fstat(fd, &st) == 0 && (size_t)st.st_size > max)
		lseek(fd, st.st_size - (off_t)max, SEEK_SET);
	n = read(fd, buf, max);
	close(fd);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	fprintf(stderr, "---- QEMU log %s (last %zu bytes) ----\n%s%s"
		"---- end of QEMU log ----\n", qt->log_path, (size_t)n, buf,
		n > 0 && buf[n - 1] != '\n' ? "\n" : "");
}

void qt_fail(const struct qtest *qt, const char *fmt, ...)
{
	struct qtest *q = (struct qtest *)qt;
	va_list ap;

	fprintf(stderr, "qtest: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	qt_dump_log(qt, 4096);
	/* Already shown: do not show it again at exit. */
	if (q->pid > 0)
		qt_close(q);
	exit(1);
}

int qt_start(struct qtest *qt, const char *const *extra)
{
	static int seq;
	char qtest_arg[160];
	const char *argv[96];
	const char *bin = qt_qemu_binary();
	long long deadline;
	pid_t parent = getpid();
	int argc = 0, rc;

	memset(qt, 0, sizeof(*qt));
	qt->sock = -1;
	qt->id = seq++;
	snprintf(qt->sock_path, sizeof(qt->sock_path), "%s/qtest%d.sock",
		 tu_tmpdir(), qt->id);
	snprintf(qt->log_path, sizeof(qt->log_path), "%s/qemu%d.log",
		 tu_tmpdir(), qt->id);
	snprintf(qtest_arg, sizeof(qtest_arg), "unix:%s,server=on,wait=off",
		 qt->sock_path);
	if (!bin)
		return -ENOENT;

	argv[argc++] = bin;
	argv[argc++] = "-no-user-config";
	argv[argc++] = "-nodefaults";
	argv[argc++] = "-machine";
	argv[argc++] = "q35";
	argv[argc++] = "-accel";
	argv[argc++] = "tcg";
	argv[argc++] = "-S";
	argv[argc++] = "-m";
	argv[argc++] = "64M";
	argv[argc++] = "-display";
	argv[argc++] = "none";
	argv[argc++] = "-monitor";
	argv[argc++] = "none";
	argv[argc++] = "-serial";
	argv[argc++] = "none";
	argv[argc++] = "-qtest";
	argv[argc++] = qtest_arg;
	argv[argc++] = "-qtest-log";
	argv[argc++] = "/dev/null";
	for (int i = 0; extra && extra[i]; i++) {
		CHECK(argc < 95, "too many QEMU arguments");
		argv[argc++] = extra[i];
	}
	argv[argc] = NULL;

	qt->pid = fork();
	if (qt->pid < 0)
		return -errno;
	if (qt->pid == 0) {
		int log = open(qt->log_path, O_WRONLY | O_CREAT | O_TRUNC,
			       0644);
		int null = open("/dev/null", O_RDONLY);

		/* Never outlive the test, even when it is killed. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		if (null >= 0)
			dup2(null, STDIN_FILENO);
		if (log >= 0) {
			dup2(log, STDOUT_FILENO);
			dup2(log, STDERR_FILENO);
		}
		execv(argv[0], (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (!exit_hook_set) {
		atexit(kill_leftovers);
		exit_hook_set = 1;
	}
	qt->next_live = live;
	live = qt;

	deadline = tu_now_ns() + QT_START_TIMEOUT_MS * 1000000LL;
	for (;;) {
		int status = 0;

		qt->sock = tu_connect(qt->sock_path);
		if (qt->sock >= 0)
			break;
		if (!qt_alive(qt, &status)) {
			fprintf(stderr, "qtest: QEMU exited during start-up "
				"(status 0x%x), see its log\n", status);
			return -ECHILD;
		}
		if (tu_now_ns() > deadline) {
			fprintf(stderr, "qtest: no qtest socket %s after %d "
				"ms\n", qt->sock_path, QT_START_TIMEOUT_MS);
			qt_close(qt);
			return -ETIMEDOUT;
		}
		usleep(2000);
	}
	/* The first reply comes once the machine is up and running its loop. */
	rc = qt_try_cmd(qt, "endianness");
	if (rc != 0) {
		fprintf(stderr, "qtest: QEMU did not answer its first command "
			"(%s)\n", rc > 0 ? qt->reply : strerror(-rc));
		qt_close(qt);
		return rc > 0 ? -EPROTO : rc;
	}
	return 0;
}

int qt_alive(struct qtest *qt, int *status)
{
	int st = 0;

	if (qt->pid <= 0)
		return 0;
	if (waitpid(qt->pid, &st, WNOHANG) == 0)
		return 1;
	if (status)
		*status = st;
	qt->pid = 0;
	unlink_live(qt);
	return 0;
}

void qt_close(struct qtest *qt)
{
	if (qt->pid > 0) {
		kill(qt->pid, SIGKILL);
		while (waitpid(qt->pid, NULL, 0) < 0 && errno == EINTR)
			;
		qt->pid = 0;
	}
	unlink_live(qt);
	if (qt->sock >= 0) {
		close(qt->sock);
		qt->sock = -1;
	}
	if (qt->sock_path[0])
		unlink(qt->sock_path);
}

static int send_all(int sock, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(sock, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One whole line out of rbuf into 'line' (NUL-terminated), or -errno. */
static int read_line(struct qtest *qt, char *line, size_t max,
		     long long deadline)
{
	for (;;) {
		char *nl = memchr(qt->rbuf, '\n', qt->rlen);
		struct pollfd pfd = { .fd = qt->sock, .events = POLLIN };
		long long left;
		ssize_t n;

		if (nl) {
			size_t len = (size_t)(nl - qt->rbuf);

			if (len >= max)
				return -EMSGSIZE;
			memcpy(line, qt->rbuf, len);
			line[len] = '\0';
			qt->rlen -= len + 1;
			memmove(qt->rbuf, nl + 1, qt->rlen);
			return 0;
		}
		if (qt->rlen == sizeof(qt->rbuf))
			return -EMSGSIZE;
		left = (deadline - tu_now_ns()) / 1000000;
		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, (int)left);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n <= 0)
			continue;
		n = recv(qt->sock, qt->rbuf + qt->rlen,
			 sizeof(qt->rbuf) - qt->rlen, 0);
		if (n == 0)
			return -EPIPE;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return errno == ECONNRESET ? -EPIPE : -errno;
		}
		qt->rlen += (size_t)n;
	}
}

static int __attribute__((format(printf, 2, 0)))
vcmd(struct qtest *qt, const char *fmt, va_list ap)
{
	static char cmd[2 * QT_BULK_CHUNK + 256];
	long long deadline = tu_now_ns() + QT_CMD_TIMEOUT_MS * 1000000LL;
	int len, rc;

	qt->reply[0] = '\0';
	if (qt->sock < 0)
		return -ENOTCONN;
	len = vsnprintf(cmd, sizeof(cmd) - 1, fmt, ap);
	if (len < 0 || (size_t)len >= sizeof(cmd) - 1)
		return -E2BIG;
	cmd[len++] = '\n';
	rc = send_all(qt->sock, cmd, (size_t)len);
	if (rc < 0)
		return rc == -ECONNRESET ? -EPIPE : rc;
	for (;;) {
		rc = read_line(qt, qt->reply, sizeof(qt->reply), deadline);
		if (rc < 0)
			return rc;
		if (!strncmp(qt->reply, "IRQ", 3))
			continue;
		if (!strncmp(qt->reply, "OK", 2) &&
		    (qt->reply[2] == '\0' || qt->reply[2] == ' ')) {
			size_t skip = qt->reply[2] ? 3 : 2;

			memmove(qt->reply, qt->reply + skip,
				strlen(qt->reply + skip) + 1);
			return 0;
		}
		if (!strncmp(qt->reply, "FAIL", 4)) {
			memmove(qt->reply, qt->reply + 4,
				strlen(qt->reply + 4) + 1);
			return 1;
		}
		return -EPROTO;
	}
}

int qt_try_cmd(struct qtest *qt, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vcmd(qt, fmt, ap);
	va_end(ap);
	return rc;
}

const char *qt_cmd(struct qtest *qt, const char *fmt, ...)
{
	char what[96];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	va_start(ap, fmt);
	rc = vcmd(qt, fmt, ap);
	va_end(ap);
	if (rc > 0)
		qt_fail(qt, "'%s' failed:%s", what, qt->reply);
	if (rc == -EPROTO)
		qt_fail(qt, "'%s': unexpected reply '%.200s'", what,
			qt->reply);
	if (rc < 0)
		qt_fail(qt, "'%s': %s", what, rc == -EPIPE ?
			"QEMU closed the qtest connection" : strerror(-rc));
	return qt->reply;
}

/* The value of an "OK 0x..." reply. */
static uint64_t reply_value(struct qtest *qt, const char *what)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(qt->reply, &end, 0);
	if (errno || end == qt->reply || *end)
		qt_fail(qt, "%s: cannot parse reply '%.200s'", what,
			qt->reply);
	return v;
}

void qt_outb(struct qtest *qt, uint16_t port, uint8_t v)
{
	qt_cmd(qt, "outb 0x%x 0x%x", port, v);
}

void qt_outw(struct qtest *qt, uint16_t port, uint16_t v)
{
	qt_cmd(qt, "outw 0x%x 0x%x", port, v);
}

void qt_outl(struct qtest *qt, uint16_t port, uint32_t v)
{
	qt_cmd(qt, "outl 0x%x 0x%" PRIx32, port, v);
}

uint8_t qt_inb(struct qtest *qt, uint16_t port)
{
	qt_cmd(qt, "inb 0x%x", port);
	return (uint8_t)reply_value(qt, "inb");
}

uint16_t qt_inw(struct qtest *qt, uint16_t port)
{
	qt_cmd(qt, "inw 0x%x", port);
	return (uint16_t)reply_value(qt, "inw");
}

uint32_t qt_inl(struct qtest *qt, uint16_t port)
{
	qt_cmd(qt, "inl 0x%x", port);
	return (uint32_t)reply_value(qt, "inl");
}

uint8_t qt_readb(struct qtest *qt, uint64_t addr)
{
	qt_cmd(qt, "readb 0x%" PRIx64, addr);
	return (uint8_t)reply_value(qt, "readb");
}

uint16_t qt_readw(struct qtest *qt, uint64_t addr)
{
	qt_cmd(qt, "readw 0x%" PRIx64, addr);
	return (uint16_t)reply_value(qt, "readw");
}

uint32_t qt_readl(struct qtest *qt, uint64_t addr)
{
	qt_cmd(qt, "readl 0x%" PRIx64, addr);
	return (uint32_t)reply_value(qt, "readl");
}

uint64_t qt_readq(struct qtest *qt, uint64_t addr)
{
	qt_cmd(qt, "readq 0x%" PRIx64, addr);
	return reply_value(qt, "readq");
}

void qt_writeb(struct qtest *qt, uint64_t addr, uint8_t v)
{
	qt_cmd(qt, "writeb 0x%" PRIx64 " 0x%x", addr, v);
}

void qt_writew(struct qtest *qt, uint64_t addr, uint16_t v)
{
	qt_cmd(qt, "writew 0x%" PRIx64 " 0x%x", addr, v);
}

void qt_writel(struct qtest *qt, uint64_t addr, uint32_t v)
{
	qt_cmd(qt, "writel 0x%" PRIx64 " 0x%" PRIx32, addr, v);
}

void qt_writeq(struct qtest *qt, uint64_t addr, uint64_t v)
{
	qt_cmd(qt, "writeq 0x%" PRIx64 " 0x%" PRIx64, addr, v);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void qt_memread(struct qtest *qt, uint64_t addr, void *buf, size_t len)
{
	uint8_t *out = buf;

	while (len) {
		size_t n = len < QT_BULK_CHUNK ? len : QT_BULK_CHUNK;
		const char *r;

		r = qt_cmd(qt, "read 0x%" PRIx64 " 0x%zx", addr, n);
		if (strncmp(r, "0x", 2) || strlen(r) != 2 + 2 * n)
			qt_fail(qt, "read of %zu bytes: bad reply '%.100s'", n,
				r);
		for (size_t i = 0; i < n; i++) {
			int hi = hexval(r[2 + 2 * i]);
			int lo = hexval(r[3 + 2 * i]);

			if (hi < 0 || lo < 0)
				qt_fail(qt, "read: bad hex in reply");
			out[i] = (uint8_t)(hi << 4 | lo);
		}
		out += n;
		addr += n;
		len -= n;
	}
}

void qt_memwrite(struct qtest *qt, uint64_t addr, const void *buf,
		 size_t len)
{
	static const char digits[] = "0123456789abcdef";
	static char hex[2 * QT_BULK_CHUNK + 1];
	const uint8_t *in = buf;

	while (len) {
		size_t n = len < QT_BULK_CHUNK ? len : QT_BULK_CHUNK;

		for (size_t i = 0; i < n; i++) {
			hex[2 * i] = digits[in[i] >> 4];
			hex[2 * i + 1] = digits[in[i] & 15];
		}
		hex[2 * n] = '\0';
		qt_cmd(qt, "write 0x%" PRIx64 " 0x%zx 0x%s", addr, n, hex);
		in += n;
		addr += n;
		len -= n;
	}
}

static void pci_select(struct qtest *qt, unsigned devfn, unsigned off)
{
	CHECK(devfn < 256 && off < 256, "bad PCI address %02x.%x+0x%x",
	      devfn >> 3, devfn & 7, off);
	qt_outl(qt, 0xcf8, 0x80000000u | devfn << 8 | (off & 0xfc));
}

uint8_t qt_pci_readb(struct qtest *qt, unsigned devfn, unsigned off)
{
	pci_select(qt, devfn, off);
	return qt_inb(qt, (uint16_t)(0xcfc + (off & 3)));
}

uint16_t qt_pci_readw(struct qtest *qt, unsigned devfn, unsigned off)
{
	CHECK(!(off & 1), "unaligned PCI config read");
	pci_select(qt, devfn, off);
	return qt_inw(qt, (uint16_t)(0xcfc + (off & 2)));
}

uint32_t qt_pci_readl(struct qtest *qt, unsigned devfn, unsigned off)
{
	CHECK(!(off & 3), "unaligned PCI config read");
	pci_select(qt, devfn, off);
	return qt_inl(qt, 0xcfc);
}

void qt_pci_writeb(struct qtest *qt, unsigned devfn, unsigned off, uint8_t v)
{
	pci_select(qt, devfn, off);
	qt_outb(qt, (uint16_t)(0xcfc + (off & 3)), v);
}

void qt_pci_writew(struct qtest *qt, unsigned devfn, unsigned off,
		   uint16_t v)
{
	CHECK(!(off & 1), "unaligned PCI config write");
	pci_select(qt, devfn, off);
	qt_outw(qt, (uint16_t)(0xcfc + (off & 2)), v);
}

void qt_pci_writel(struct qtest *qt, unsigned devfn, unsigned off,
		   uint32_t v)
{
	CHECK(!(off & 3), "unaligned PCI config write");
	pci_select(qt, devfn, off);
	qt_outl(qt, 0xcfc, v);
}

void qt_pci_bar_probe(struct qtest *qt, unsigned devfn, unsigned bar,
		      struct qt_bar *out)
{
	unsigned off = QT_PCI_BAR0 + 4 * bar;
	uint32_t lo, hi = 0, mlo, mhi = 0;
	uint64_t mask;
	uint16_t cmd;

	CHECK(bar < 6, "no BAR %u", bar);
	memset(out, 0, sizeof(*out));
	cmd = qt_pci_readw(qt, devfn, QT_PCI_COMMAND);
	lo = qt_pci_readl(qt, devfn, off);
	/* No decoding while the BAR holds the all-ones probe. */
	qt_pci_writew(qt, devfn, QT_PCI_COMMAND, cmd & ~0x3);
	out->is_io = lo & 1;
	out->is_64 = !out->is_io && ((lo >> 1) & 3) == 2;
	out->prefetchable = !out->is_io && (lo & 8);
	CHECK(!out->is_64 || bar < 5, "64-bit BAR %u has no upper half", bar);

	qt_pci_writel(qt, devfn, off, 0xffffffff);
	mlo = qt_pci_readl(qt, devfn, off);
	qt_pci_writel(qt, devfn, off, lo);
	if (out->is_64) {
		hi = qt_pci_readl(qt, devfn, off + 4);
		qt_pci_writel(qt, devfn, off + 4, 0xffffffff);
		mhi = qt_pci_readl(qt, devfn, off + 4);
		qt_pci_writel(qt, devfn, off + 4, hi);
	}
	qt_pci_writew(qt, devfn, QT_PCI_COMMAND, cmd);

	if (out->is_io) {
		mask = mlo & ~3u & 0xffff;
		out->size = mask ? (~mask + 1) & 0xffff : 0;
	} else if (out->is_64) {
		mask = (uint64_t)mhi << 32 | (mlo & ~0xfu);
		out->size = mask ? ~mask + 1 : 0;
	} else {
		mask = mlo & ~0xfu;
		out->size = mask ? (uint32_t)(~mask + 1) : 0;
	}
}

void qt_pci_bar_set(struct qtest *qt, unsigned devfn, unsigned bar,
		    uint64_t addr)
{
	unsigned off = QT_PCI_BAR0 + 4 * bar;
	uint32_t lo = qt_pci_readl(qt, devfn, off);

	CHECK(!(lo & 1), "BAR %u is an I/O BAR", bar);
	qt_pci_writel(qt, devfn, off, (uint32_t)addr);
	if (((lo >> 1) & 3) == 2)
		qt_pci_writel(qt, devfn, off + 4, (uint32_t)(addr >> 32));
	else
		CHECK(addr >> 32 == 0, "32-bit BAR %u cannot hold 0x%" PRIx64,
		      bar, addr);
}

uint64_t qt_pci_bar_get(struct qtest *qt, unsigned devfn, unsigned bar)
{
	unsigned off = QT_PCI_BAR0 + 4 * bar;
	uint32_t lo = qt_pci_readl(qt, devfn, off);
	uint64_t addr = lo & ~0xfu;

	if (!(lo & 1) && ((lo >> 1) & 3) == 2)
		addr |= (uint64_t)qt_pci_readl(qt, devfn, off + 4) << 32;
	return addr;
}

unsigned qt_pci_find_cap(struct qtest *qt, unsigned devfn, uint8_t id)
{
	unsigned ptr;

	if (!(qt_pci_readw(qt, devfn, QT_PCI_STATUS) & QT_PCI_STATUS_CAPS))
		return 0;
	ptr = qt_pci_readb(qt, devfn, QT_PCI_CAP_PTR) & 0xfc;
	/* At most 48 capabilities fit; more means a loop. */
	for (int n = 0; ptr >= 0x40 && n < 48; n++) {
		if (qt_pci_readb(qt, devfn, ptr) == id)
			return ptr;
		ptr = qt_pci_readb(qt, devfn, ptr + 1) & 0xfc;
	}
	return 0;
}

int qt_msix_info(struct qtest *qt, unsigned devfn, struct qt_msix *m)
{
	uint32_t table, pba;

	memset(m, 0, sizeof(*m));
	m->cap = qt_pci_find_cap(qt, devfn, QT_PCI_CAP_MSIX);
	if (!m->cap)
		return -ENOENT;
	m->vectors = (qt_pci_readw(qt, devfn, m->cap + 2) & 0x7ff) + 1;
	table = qt_pci_readl(qt, devfn, m->cap + 4);
	pba = qt_pci_readl(qt, devfn, m->cap + 8);
	m->table_bir = table & 7;
	m->table_off = table & ~7u;
	m->pba_bir = pba & 7;
	m->pba_off = pba & ~7u;
	return 0;
}

void qt_msix_enable(struct qtest *qt, unsigned devfn, const struct qt_msix *m,
		    int on)
{
	uint16_t ctrl = qt_pci_readw(qt, devfn, m->cap + 2);

	if (on)
		ctrl |= 0x8000;
	else
		ctrl &= (uint16_t)~0x8000;
	qt_pci_writew(qt, devfn, m->cap + 2, ctrl);
}

int qt_msix_pending(struct qtest *qt, const struct qt_msix *m,
		    uint64_t pba_bar_addr, unsigned v)
{
	uint32_t word;

	CHECK(v < m->vectors, "MSI-X vector %u of %u", v, m->vectors);
	word = qt_readl(qt, pba_bar_addr + m->pba_off + 4 * (v / 32));
	return (word >> (v % 32)) & 1;
}
