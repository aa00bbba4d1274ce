/* SPDX-License-Identifier: MIT */
/* Linux guests for the VM tests: see vm.h. */
#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static struct vm *running;

static const char *ci(void)
{
	const char *s = getenv("CI");

	return s && *s ? s : NULL;
}

void vm_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, ci() ? "FAIL (CI is set): " : "SKIP: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(ci() ? 1 : 77);
}

static void print_file_tail(const char *path, int lines)
{
	char cmd[512];

	fprintf(stderr, "---- last %d lines of %s ----\n", lines, path);
	fflush(stderr);
	/* Control characters of the console would garble the terminal. */
	snprintf(cmd, sizeof(cmd),
		 "tail -n %d '%s' | tr -d '\\r' | tr '\\000-\\010\\013-\\037' '?' >&2",
		 lines, path);
	if (system(cmd) != 0)
		fprintf(stderr, "(cannot read it)\n");
	fprintf(stderr, "---- end of %s ----\n", path);
}

void vm_print_tail(struct vm *vm, int lines)
{
	print_file_tail(vm->qemu_log_path, 10);
	print_file_tail(vm->log_path, lines);
}

/* Keep a failed guest's logs where the build dir is, past tu_tmpdir(). */
static void save_logs(struct vm *vm)
{
	const char *build = getenv("IVSHMEM_BUILD_DIR");
	char cmd[1024];

	if (!build)
		return;
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p '%s/vm/logs' && cp '%s' '%s/vm/logs/%s.%s.console.log'"
		 " && cp '%s' '%s/vm/logs/%s.%s.qemu.log'",
		 build, vm->log_path, build, program_invocation_short_name,
		 vm->name, vm->qemu_log_path, build,
		 program_invocation_short_name, vm->name);
	if (system(cmd) == 0)
		fprintf(stderr, "%s: logs kept in %s/vm/logs/%s.%s.*.log\n",
			vm->name, build, program_invocation_short_name,
			vm->name);
}

static void forget(struct vm *vm)
{
	struct vm **p;

	for (p = &running; *p; p = &(*p)->next) {
		if (*p == vm) {
			*p = vm->next;
			break;
		}
	}
	vm->next = NULL;
}

static void report_and_kill_all(void)
{
	while (running) {
		struct vm *vm = running;

		fprintf(stderr, "%s: still running at exit\n", vm->name);
		vm_print_tail(vm, 40);
		save_logs(vm);
		vm_kill(vm);
	}
}

void vm_fail(struct vm *vm, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "FAIL%s%s: ", vm ? " " : "", vm ? vm->name : "");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	report_and_kill_all();
	exit(1);
}

static long long ms_left(long long deadline_ns)
{
	long long left = (deadline_ns - tu_now_ns()) / 1000000;

	return left > 0 ? left : 0;
}

/*
 * Read what the console has within timeout_ms into the log and the buffer.
 * Returns the bytes read, 0 on timeout, -EPIPE when the guest is gone.
 */
static int pump(struct vm *vm, long long timeout_ms)
{
	struct pollfd p = { .fd = vm->con, .events = POLLIN };
	char chunk[4096];
	ssize_t n;
	int rc;

	if (vm->con < 0)
		return -EPIPE;
	rc = poll(&p, 1, (int)(timeout_ms > 60000 ? 60000 : timeout_ms));
	if (rc < 0)
		return errno == EINTR ? 0 : -errno;
	if (rc == 0)
		return 0;
	n = read(vm->con, chunk, sizeof(chunk));
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -EPIPE;
	if (n == 0)
		return -EPIPE;
	if (write(vm->log, chunk, (size_t)n) != n)
		fprintf(stderr, "%s: cannot write %s\n", vm->name,
			vm->log_path);
	if (vm->len + (size_t)n > vm->cap) {
		vm->cap = (vm->len + (size_t)n) * 2;
		vm->buf = realloc(vm->buf, vm->cap);
		CHECK(vm->buf, "out of memory");
	}
	memcpy(vm->buf + vm->len, chunk, (size_t)n);
	vm->len += (size_t)n;
	return (int)n;
}

static void consume(struct vm *vm, size_t n)
{
	memmove(vm->buf, vm->buf + n, vm->len - n);
	vm->len -= n;
}

/* Wait for text; *at is where it starts in vm->buf. Nothing consumed. */
static int find(struct vm *vm, const char *text, int timeout_s, size_t *at)
{
	long long deadline = tu_now_ns() + timeout_s * 1000000000LL;
	size_t tlen = strlen(text);

	for (;;) {
		char *m = memmem(vm->buf, vm->len, text, tlen);
		int rc;

		if (m) {
			*at = (size_t)(m - vm->buf);
			return 0;
		}
		if (!ms_left(deadline))
			return -ETIMEDOUT;
		rc = pump(vm, ms_left(deadline));
		if (rc < 0)
			return rc;
	}
}

int vm_expect(struct vm *vm, const char *text, int timeout_s)
{
	size_t at;
	int rc = find(vm, text, timeout_s, &at);

	if (rc == 0)
		consume(vm, at + strlen(text));
	return rc;
}

int vm_send(struct vm *vm, const char *fmt, ...)
{
	char line[4096];
	size_t len, off = 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 1)
		return -E2BIG;
	len = (size_t)n;
	line[len++] = '\n';
	while (off < len) {
		ssize_t w = send(vm->con, line + off, len - off, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		off += (size_t)w;
	}
	return 0;
}

void vm_run(struct vm *vm, const char *cmd, const char *text, int timeout_s)
{
	int rc = vm_send(vm, "%s", cmd);

	if (rc < 0)
		vm_fail(vm, "cannot type '%s': %s", cmd, strerror(-rc));
	rc = vm_expect(vm, text, timeout_s);
	if (rc < 0)
		vm_fail(vm, "'%s': no '%s' within %d s: %s", cmd, text,
			timeout_s, strerror(-rc));
}

int vm_exec(struct vm *vm, const char *cmd, char *out, size_t outlen,
	    int timeout_s)
{
	long long deadline = tu_now_ns() + timeout_s * 1000000000LL;
	char begin[32], end[32];
	size_t at = 0, n;
	int rc, status;
	char *nl = NULL;

	/*
	 * The markers as typed ('@@VM'"-B7") differ from what echo prints
	 * (@@VM-B7): the terminal's echo of the line does not match.
	 */
	vm->seq++;
	snprintf(begin, sizeof(begin), "@@VM-B%u", vm->seq);
	snprintf(end, sizeof(end), "@@VM-E%u ", vm->seq);
	rc = vm_send(vm, "echo '@@VM'\"-B%u\"; %s; echo '@@VM'\"-E%u $?\"",
		     vm->seq, cmd, vm->seq);
	if (rc < 0)
		vm_fail(vm, "cannot type '%s': %s", cmd, strerror(-rc));
	rc = vm_expect(vm, begin, timeout_s);
	if (rc == 0)
		rc = find(vm, end, (int)(ms_left(deadline) / 1000) + 1, &at);
	if (rc == 0) {
		size_t after = at + strlen(end);

		/* The status, up to the end of its line. */
		while (!(nl = memchr(vm->buf + after, '\n', vm->len - after))) {
			rc = pump(vm, ms_left(deadline));
			if (rc < 0 || !ms_left(deadline)) {
				rc = rc < 0 ? rc : -ETIMEDOUT;
				break;
			}
			rc = 0;
		}
	}
	if (rc < 0)
		vm_fail(vm, "'%s' did not finish within %d s: %s", cmd,
			timeout_s, strerror(-rc));
	status = atoi(vm->buf + at + strlen(end));
	if (out && outlen) {
		size_t o = 0;

		/* After the begin marker's own line end. */
		n = 0;
		while (n < at && vm->buf[n] == '\r')
			n++;
		if (n < at && vm->buf[n] == '\n')
			n++;
		else
			n = 0;
		for (; n < at && o + 1 < outlen; n++) {
			if (vm->buf[n] != '\r')
				out[o++] = vm->buf[n];
		}
		out[o] = '\0';
	}
	consume(vm, (size_t)(nl - vm->buf) + 1);
	return status;
}

static void image_dir(const struct vm_config *cfg, char *dir, size_t len)
{
	const char *build = getenv("IVSHMEM_BUILD_DIR");

	if (cfg->image_dir)
		snprintf(dir, len, "%s", cfg->image_dir);
	else
		snprintf(dir, len, "%s/vm/%s", build ? build : ".", cfg->arch);
}

static void read_accel(struct vm *vm, const char *dir)
{
	const char *env = getenv("IVSHMEM_VM_ACCEL");
	char path[600];
	FILE *f;

	snprintf(vm->accel, sizeof(vm->accel), "tcg");
	if (env && *env) {
		snprintf(vm->accel, sizeof(vm->accel), "%s", env);
		return;
	}
	snprintf(path, sizeof(path), "%s/accel", dir);
	f = fopen(path, "r");
	if (!f)
		return;
	if (fscanf(f, "%7s", vm->accel) != 1)
		snprintf(vm->accel, sizeof(vm->accel), "tcg");
	fclose(f);
}

static void spawn(struct vm *vm, const struct vm_config *cfg,
		  const char *dir, const char *con_path)
{
	const char *argv[64];
	char vectors[16], mem[16];
	int n = 0, fd;

	snprintf(vectors, sizeof(vectors), "%d",
		 cfg->vectors ? cfg->vectors : 2);
	snprintf(mem, sizeof(mem), "%d", cfg->mem_mb ? cfg->mem_mb : 256);
	argv[n++] = "sh";
	argv[n++] = IVSHMEM_VM_SCRIPTS "/vm-run.sh";
	argv[n++] = "-c";
	argv[n++] = con_path;
	argv[n++] = "-m";
	argv[n++] = mem;
	argv[n++] = "-k";
	argv[n++] = vm->accel;
	if (cfg->server_socket) {
		argv[n++] = "-s";
		argv[n++] = cfg->server_socket;
		argv[n++] = "-v";
		argv[n++] = vectors;
	}
	if (cfg->append) {
		argv[n++] = "-A";
		argv[n++] = cfg->append;
	}
	argv[n++] = cfg->arch;
	argv[n++] = dir;
	argv[n++] = "--";
	for (int i = 0; cfg->qemu_args && cfg->qemu_args[i]; i++) {
		CHECK(n < 63, "too many QEMU arguments");
		argv[n++] = cfg->qemu_args[i];
	}
	argv[n] = NULL;

	vm->pid = fork();
	CHECK(vm->pid >= 0, "fork: %s", strerror(errno));
	if (vm->pid)
		return;
	/* A test killed by ctest's timeout must not leave QEMU running. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	fd = open(vm->qemu_log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		_exit(127);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0)
		dup2(fd, STDIN_FILENO);
	execvp(argv[0], (char *const *)argv);
	_exit(127);
}

/* QEMU listens on the console socket before the guest starts. */
static void connect_console(struct vm *vm, const char *con_path)
{
	long long deadline = tu_now_ns() + 30 * 1000000000LL;
	int status;

	for (;;) {
		int fd = tu_connect(con_path);

		if (fd >= 0) {
			vm->con = fd;
			return;
		}
		if (waitpid(vm->pid, &status, WNOHANG) == vm->pid) {
			vm->pid = 0;
			print_file_tail(vm->qemu_log_path, 20);
			if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
				vm_skip("%s: cannot start a guest here",
					vm->name);
			vm_fail(vm, "QEMU exited before the guest started");
		}
		if (!ms_left(deadline))
			vm_fail(vm, "no console socket %s after 30 s",
				con_path);
		usleep(20000);
	}
}

void vm_start(struct vm *vm, const char *name, const struct vm_config *cfg)
{
	static int registered;
	char dir[512], path[600], con_path[108];
	struct stat st;

	memset(vm, 0, sizeof(*vm));
	vm->con = -1;
	vm->log = -1;
	snprintf(vm->name, sizeof(vm->name), "%s", name);
	snprintf(vm->arch, sizeof(vm->arch), "%s", cfg->arch);
	image_dir(cfg, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/initramfs.gz", dir);
	if (stat(path, &st))
		vm_skip("%s: no guest image %s (made by the vm_image_%s test, "
			"or tests/vm/build-guest.sh)", name, path, cfg->arch);
	read_accel(vm, dir);

	snprintf(vm->log_path, sizeof(vm->log_path), "%s/%s.console.log",
		 tu_tmpdir(), name);
	snprintf(vm->qemu_log_path, sizeof(vm->qemu_log_path),
		 "%s/%s.qemu.log", tu_tmpdir(), name);
	snprintf(con_path, sizeof(con_path), "%s/%s.con", tu_tmpdir(), name);
	vm->log = open(vm->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		       0644);
	CHECK(vm->log >= 0, "%s: %s", vm->log_path, strerror(errno));

	if (!registered) {
		atexit(report_and_kill_all);
		registered = 1;
	}
	vm->start_ns = tu_now_ns();
	spawn(vm, cfg, dir, con_path);
	vm->next = running;
	running = vm;
	connect_console(vm, con_path);
}

void vm_boot(struct vm *vm, const char *name, const struct vm_config *cfg,
	     int timeout_s)
{
	int rc;

	vm_start(vm, name, cfg);
	rc = vm_expect(vm, VM_PROMPT, timeout_s);
	if (rc < 0)
		vm_fail(vm, "no shell prompt within %d s (%s): %s", timeout_s,
			vm->accel, strerror(-rc));
	vm->boot_ns = tu_now_ns() - vm->start_ns;
}

static int reap(struct vm *vm, long long deadline)
{
	int status;

	for (;;) {
		pid_t p = waitpid(vm->pid, &status, WNOHANG);

		if (p == vm->pid) {
			vm->pid = 0;
			if (WIFEXITED(status))
				return WEXITSTATUS(status);
			return 128 + WTERMSIG(status);
		}
		if (p < 0 || !ms_left(deadline))
			return -ETIMEDOUT;
		usleep(10000);
	}
}

int vm_wait_exit(struct vm *vm, int timeout_s)
{
	long long deadline = tu_now_ns() + timeout_s * 1000000000LL;
	int rc;

	while (ms_left(deadline) && pump(vm, ms_left(deadline)) >= 0)
		;
	rc = reap(vm, deadline);
	if (rc >= 0)
		vm_kill(vm);
	return rc;
}

void vm_kill(struct vm *vm)
{
	if (vm->pid > 0) {
		/* What the guest printed last, for the log. */
		for (int i = 0; i < 64 && pump(vm, 0) > 0; i++)
			;
		kill(vm->pid, SIGTERM);
		if (reap(vm, tu_now_ns() + 3000000000LL) < 0) {
			kill(vm->pid, SIGKILL);
			waitpid(vm->pid, NULL, 0);
		}
		vm->pid = 0;
	}
	if (vm->con >= 0)
		close(vm->con);
	if (vm->log >= 0)
		close(vm->log);
	vm->con = -1;
	vm->log = -1;
	free(vm->buf);
	vm->buf = NULL;
	vm->len = 0;
	vm->cap = 0;
	forget(vm);
}
