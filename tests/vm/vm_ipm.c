/* SPDX-License-Identifier: MIT */
/*
 * The guest transport (src/transport/vfio) under the IPM layer, in Linux
 * guests on our ivshmem-server (-n 2 -l 4M), driven through ipm-shell --pci:
 *
 *  sample   Zephyr's "IPM over IVSHMEM" sample with two aarch64 guests:
 *           `ivshmem` prints the sample's lines, `ivshmem_ipm_send ID`
 *           both ways prints "Received IPM notification over IVSHMEM";
 *           then the doorbell round trip guest <-> guest.
 *  host     an aarch64 and an x86_64 guest, each with a host peer (this
 *           process, through the host transport): doorbells and mailbox
 *           payloads both ways, the round trips, and the host seeing the
 *           guest leave when it is killed.
 *  cross    an aarch64 and an x86_64 guest in mailbox mode: payloads with
 *           acknowledgement both ways (text and 100000 bytes checked by
 *           hash); then one guest is killed and a send to it fails.
 *
 * `vm_ipm [sample|host|cross]...` runs those; no argument runs all.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ivshmem/ipm.h>

#include "testutil.h"
#include "vm.h"

#define BOOT_TIMEOUT 180
#define CMD_TIMEOUT 60
#define PROMPT "uart:~$ "
#define PINGS 300
#define BIG 100000

static struct tu_server srv;

/* ---- guests ---------------------------------------------------------- */

static void boot(struct vm *vm, const char *name, const char *arch)
{
	struct vm_config cfg = {
		.arch = arch,
		.server_socket = srv.socket_path,
	};

	vm_boot(vm, name, &cfg, BOOT_TIMEOUT);
	printf("%s: %s guest up in %.1f s (%s)\n", name, arch,
	       vm->boot_ns / 1e9, vm->accel);
	fflush(stdout);
}

/* The guest's peer id (its device's IVPosition), and VFIO is in use. */
static int guest_id(struct vm *vm)
{
	char out[2048], *p;
	int rc = vm_exec(vm, "echo ivshmem | ipm-shell --pci 2>&1", out,
			 sizeof(out), CMD_TIMEOUT);

	VM_CHECK(vm, rc == 0, "ipm-shell --pci: status %d: %s", rc, out);
	VM_CHECK(vm, strstr(out, "ipm-shell: using VFIO on ") &&
		 strstr(out, "(MSI-X, 2 vectors)"), "not VFIO: %s", out);
	p = strstr(out, "Peer id: ");
	VM_CHECK(vm, p, "no peer id: %s", out);
	return atoi(p + strlen("Peer id: "));
}

/* Start the interactive shell on the guest's device. */
static void shell(struct vm *vm, const char *mode)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "ipm-shell --pci -m %s", mode);
	vm_run(vm, cmd, "ipm-shell: using VFIO on ", CMD_TIMEOUT);
	vm_run(vm, "", PROMPT, CMD_TIMEOUT);
}

static void expectf(struct vm *vm, int timeout_s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void expectf(struct vm *vm, int timeout_s, const char *fmt, ...)
{
	char text[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	rc = vm_expect(vm, text, timeout_s);
	if (rc < 0)
		vm_fail(vm, "no '%s' within %d s: %s", text, timeout_s,
			strerror(-rc));
}

/* The sample's `ivshmem` output for this guest. */
static void check_ivshmem(struct vm *vm, int id)
{
	vm_send(vm, "ivshmem");
	expectf(vm, CMD_TIMEOUT, "IVshmem up and running:");
	expectf(vm, CMD_TIMEOUT, "Shared memory: 0x");
	expectf(vm, CMD_TIMEOUT, " of size 4194304 bytes");
	expectf(vm, CMD_TIMEOUT, "Peer id: %d\r\n", id);
	expectf(vm, CMD_TIMEOUT, "Notification vectors: 2\r\n");
	printf("%s: IVshmem up and running, peer id %d, 4194304 bytes, "
	       "2 vectors\n", vm->name, id);
}

/* A one-shot ipm-shell in the guest (no shell running there): its output. */
static void guest_run(struct vm *vm, const char *mode, const char *cmds,
		      char *out, size_t len)
{
	char cmd[512];
	int rc;

	snprintf(cmd, sizeof(cmd), "printf '%s\\n' | ipm-shell --pci -m %s",
		 cmds, mode);
	rc = vm_exec(vm, cmd, out, len, CMD_TIMEOUT);
	VM_CHECK(vm, rc == 0, "'%s': status %d: %s", cmd, rc, out);
}

/* Print (and check) the ping lines of a guest's output. */
static void report_ping(struct vm *vm, const char *what, const char *out)
{
	const char *p = out;
	int lines = 0;

	while ((p = strstr(p, "ping peer "))) {
		int n = (int)strcspn(p, "\n");

		VM_CHECK(vm, strstr(p, " round trips of ") &&
			 strstr(p, " round trips of ") < p + n, "%s: %s",
			 what, out);
		printf("%s: %s: %.*s\n", vm->name, what, n, p);
		p += n;
		lines++;
	}
	VM_CHECK(vm, lines, "%s: no ping line: %s", what, out);
}

/* ---- a host peer: this process, through the host transport ------------ */

struct host {
	struct ipm *ipm;
	int id;
	int mode;
	unsigned long got;
	uint32_t from;
	size_t size;
	char data[256];
	int pong;          /* answer every arrival: ring 'pong_to' / echo */
	uint32_t pong_to;
};

static void host_cb(struct ipm *ipm, void *user, uint32_t id,
		    const volatile void *data, size_t size)
{
	struct host *h = user;
	const volatile char *p = data;
	size_t n = size < sizeof(h->data) - 1 ? size : sizeof(h->data) - 1;

	h->got++;
	h->from = id;
	h->size = size;
	for (size_t i = 0; i < n; i++)
		h->data[i] = p[i];
	h->data[n] = '\0';
	if (h->pong)
		ipm_send(ipm, 0, h->mode == IPM_MODE_MAILBOX ? id : h->pong_to,
			 h->data, n);
}

static void host_open(struct host *h, int mode)
{
	struct ipm_config cfg = { .mode = mode };
	struct ivshm_transport *t;
	int rc;

	memset(h, 0, sizeof(*h));
	h->mode = mode;
	rc = ivshm_transport_host_open(&t, srv.socket_path, 2, 10000);
	CHECK(rc == 0, "host transport: %s", strerror(-rc));
	rc = ipm_open(&h->ipm, t, &cfg);
	CHECK(rc == 0, "host ipm_open: %s", strerror(-rc));
	ipm_register_callback(h->ipm, host_cb, h);
	h->id = t->id;
}

/* Handle arrivals until 'count' in all, or timeout_ms. */
static int host_wait(struct host *h, unsigned long count, int timeout_ms)
{
	long long end = tu_now_ns() + timeout_ms * 1000000LL;

	while (h->got < count) {
		long long left = (end - tu_now_ns()) / 1000000;

		if (left <= 0)
			return -ETIMEDOUT;
		if (ipm_poll(h->ipm, (int)left) < 0)
			return -EIO;
	}
	return 0;
}

static volatile sig_atomic_t ponger_stop;

static void on_term(int sig)
{
	(void)sig;
	ponger_stop = 1;
}

/*
 * A host peer answering every arrival in a child process until SIGTERM,
 * when it leaves cleanly: the guest's `ping` times the round trips.
 * Returns its pid; *id its id.
 */
static pid_t host_ponger(int mode, uint32_t to, int *id)
{
	int fds[2];
	pid_t pid;

	CHECK(pipe(fds) == 0, "pipe: %s", strerror(errno));
	pid = fork();
	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		struct host h;

		close(fds[0]);
		signal(SIGTERM, on_term);
		host_open(&h, mode);
		h.pong = 1;
		h.pong_to = to;
		if (write(fds[1], &h.id, sizeof(h.id)) != sizeof(h.id))
			_exit(1);
		close(fds[1]);
		while (!ponger_stop)
			ipm_poll(h.ipm, 100);
		ipm_close(h.ipm);
		_exit(0);
	}
	close(fds[1]);
	CHECK(read(fds[0], id, sizeof(*id)) == sizeof(*id), "ponger failed");
	close(fds[0]);
	return pid;
}

static void stop(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

/* Whether the host's mailbox lists peer 'id'. */
static int host_lists(struct host *h, int id)
{
	int ids[64], n = ipm_peers(h->ipm, ids, 64);

	for (int i = 0; i < n && i < 64; i++)
		if (ids[i] == id)
			return 1;
	return 0;
}

/* ---- the scenarios ---------------------------------------------------- */

static void sample(void)
{
	struct vm a, b;
	char out[4096], cmds[64];
	int ia, ib;

	printf("== sample: two aarch64 guests, Zephyr's IPM over IVSHMEM\n");
	boot(&a, "arm-a", "aarch64");
	boot(&b, "arm-b", "aarch64");
	ia = guest_id(&a);
	ib = guest_id(&b);
	shell(&a, "doorbell");
	shell(&b, "doorbell");
	check_ivshmem(&a, ia);
	check_ivshmem(&b, ib);

	vm_send(&a, "ivshmem_ipm_send %d", ib);
	expectf(&b, CMD_TIMEOUT, "Received IPM notification over IVSHMEM");
	printf("arm-a -> arm-b: Received IPM notification over IVSHMEM\n");
	vm_send(&b, "ivshmem_ipm_send %d", ia);
	expectf(&a, CMD_TIMEOUT, "Received IPM notification over IVSHMEM");
	printf("arm-b -> arm-a: Received IPM notification over IVSHMEM\n");

	/* Doorbell round trips: b answers a's rings, a times them. */
	vm_send(&b, "pong %d", ia);
	vm_run(&b, "", PROMPT, CMD_TIMEOUT);
	vm_run(&a, "quit", VM_PROMPT, CMD_TIMEOUT);
	snprintf(cmds, sizeof(cmds), "ping %d %d", ib, PINGS);
	guest_run(&a, "doorbell", cmds, out, sizeof(out));
	report_ping(&a, "doorbell guest <-> guest", out);

	vm_kill(&a);
	vm_kill(&b);
}

static void host_doorbell(struct vm *g, int gid)
{
	struct host h;
	char out[4096], cmds[64];
	int pid, pong_id;

	host_open(&h, IPM_MODE_DOORBELL);
	shell(g, "doorbell");
	CHECK(ipm_send(h.ipm, 0, (uint32_t)gid, NULL, 0) == 0, "host ring");
	expectf(g, CMD_TIMEOUT, "Received IPM notification over IVSHMEM");
	vm_send(g, "ivshmem_ipm_send %d", h.id);
	CHECK(host_wait(&h, 1, CMD_TIMEOUT * 1000) == 0,
	      "%s: the host got no doorbell", g->name);
	printf("%s: doorbell mode: host %d <-> guest %d both ways\n", g->name,
	       h.id, gid);
	vm_run(g, "quit", VM_PROMPT, CMD_TIMEOUT);
	ipm_close(h.ipm);

	pid = host_ponger(IPM_MODE_DOORBELL, (uint32_t)gid, &pong_id);
	snprintf(cmds, sizeof(cmds), "ping %d %d", pong_id, PINGS);
	guest_run(g, "doorbell", cmds, out, sizeof(out));
	stop(pid);
	report_ping(g, "doorbell guest <-> host", out);
}

static void host_mailbox(struct vm *g, int gid)
{
	static const char down[] = "hello from the host";
	static const char up[] = "hello from the guest";
	struct host h;
	char out[4096], cmds[64];
	int pid, pong_id, rc;

	pid = host_ponger(IPM_MODE_MAILBOX, 0, &pong_id);
	snprintf(cmds, sizeof(cmds), "ping %d %d\\nping %d %d 4096", pong_id,
		 PINGS, pong_id, PINGS);
	guest_run(g, "mailbox", cmds, out, sizeof(out));
	stop(pid);
	report_ping(g, "mailbox guest <-> host", out);

	host_open(&h, IPM_MODE_MAILBOX);
	shell(g, "mailbox");
	rc = ipm_send(h.ipm, 1, (uint32_t)gid, down, strlen(down));
	CHECK(rc == 0, "%s: host send: %s", g->name, strerror(-rc));
	expectf(g, CMD_TIMEOUT, "Received %zu bytes from peer %d: %s",
		strlen(down), h.id, down);
	vm_send(g, "send %d %s", h.id, up);
	CHECK(host_wait(&h, 1, CMD_TIMEOUT * 1000) == 0,
	      "%s: the host got nothing", g->name);
	CHECK(h.from == (uint32_t)gid && !strcmp(h.data, up),
	      "%s: host got '%s' from %u", g->name, h.data, h.from);
	expectf(g, CMD_TIMEOUT, "sent %zu bytes to peer %d: completed by the "
		"receiver", strlen(up), h.id);
	printf("%s: mailbox mode: host %d <-> guest %d, payloads acknowledged "
	       "both ways\n", g->name, h.id, gid);

	/* Killed: the server tells the host, which frees its slot. */
	CHECK(host_lists(&h, gid), "%s: host does not list %d", g->name, gid);
	vm_kill(g);
	for (int i = 0; i < 100 && host_lists(&h, gid); i++)
		ipm_poll(h.ipm, 100);
	CHECK(!host_lists(&h, gid), "%s: killed, still listed", g->name);
	rc = ipm_send(h.ipm, 1, (uint32_t)gid, down, strlen(down));
	CHECK(rc == -ENOTCONN, "%s: send to the killed guest: %s", g->name,
	      strerror(-rc));
	printf("%s: killed: the host sees guest %d gone (send: %s)\n",
	       g->name, gid, strerror(-rc));
	ipm_close(h.ipm);
}

static void host(void)
{
	static const char *const arches[] = { "aarch64", "x86_64" };

	for (int i = 0; i < 2; i++) {
		struct vm g;
		int gid;

		printf("== host: an %s guest and host peers\n", arches[i]);
		boot(&g, arches[i], arches[i]);
		gid = guest_id(&g);
		host_doorbell(&g, gid);
		host_mailbox(&g, gid);
	}
}

static uint64_t fnv1a(const char *p, size_t n)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)p[i]) * UINT64_C(0x100000001b3);
	return h;
}

/* The same BIG bytes on both guests and here: "ivshmem\n" repeated. */
static uint64_t big_hash(void)
{
	static char buf[BIG];

	for (size_t i = 0; i < BIG; i++)
		buf[i] = "ivshmem\n"[i % 8];
	return fnv1a(buf, BIG);
}

static void cross_send(struct vm *from, int fid, struct vm *to, int tid)
{
	char text[64];

	snprintf(text, sizeof(text), "hello from %s", from->arch);
	vm_send(from, "send %d %s", tid, text);
	expectf(to, CMD_TIMEOUT, "Received %zu bytes from peer %d: %s",
		strlen(text), fid, text);
	expectf(from, CMD_TIMEOUT, "sent %zu bytes to peer %d: completed by "
		"the receiver", strlen(text), tid);
	vm_send(from, "sendfile %d /tmp/big", tid);
	expectf(to, CMD_TIMEOUT, "Received %d bytes from peer %d (fnv1a64 "
		"%016llx)", BIG, fid, (unsigned long long)big_hash());
	expectf(from, CMD_TIMEOUT, "sent %d bytes to peer %d: completed by "
		"the receiver", BIG, tid);
	printf("%s -> %s: %zu and %d bytes, acknowledged, hash checked\n",
	       from->name, to->name, strlen(text), BIG);
}

static void cross(void)
{
	static const char mkbig[] =
		"yes ivshmem | head -c 100000 > /tmp/big";
	struct vm a, x;
	int ia, ix;

	printf("== cross: aarch64 and x86_64 guests, mailbox mode\n");
	boot(&a, "arm", "aarch64");
	boot(&x, "x86", "x86_64");
	ia = guest_id(&a);
	ix = guest_id(&x);
	VM_CHECK(&a, vm_exec(&a, mkbig, NULL, 0, CMD_TIMEOUT) == 0, "mkbig");
	VM_CHECK(&x, vm_exec(&x, mkbig, NULL, 0, CMD_TIMEOUT) == 0, "mkbig");
	shell(&a, "mailbox");
	shell(&x, "mailbox");
	vm_send(&a, "peers");
	expectf(&a, CMD_TIMEOUT, "1 mailbox peer: %d", ix);
	cross_send(&x, ix, &a, ia);
	cross_send(&a, ia, &x, ix);

	/*
	 * Killed: no news reaches a guest, and the IPM layer has no
	 * shared-memory presence yet, so a blocking send to the killed peer
	 * ends in -ETIMEDOUT (-ENOTCONN once it has). Either way it fails.
	 */
	vm_kill(&x);
	vm_send(&a, "send %d are you there", ix);
	expectf(&a, CMD_TIMEOUT, "send to peer %d failed: ", ix);
	vm_run(&a, "", PROMPT, CMD_TIMEOUT);
	printf("arm: x86 killed: a send to it fails\n");
	vm_kill(&a);
}

int main(int argc, char **argv)
{
	static const char *const srv_args[] = { "-n", "2", "-l", "4M", NULL };
	static const struct {
		const char *name;
		void (*fn)(void);
	} all[] = { { "sample", sample }, { "host", host }, { "cross", cross } };

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		int run = argc < 2;

		for (int j = 1; j < argc; j++)
			run |= !strcmp(argv[j], all[i].name);
		if (!run)
			continue;
		/* A server per scenario: ids from 0, a zeroed region. */
		tu_server_start(&srv, srv_args);
		all[i].fn();
		tu_server_stop(&srv);
	}
	printf("PASS\n");
	return 0;
}
