/* SPDX-License-Identifier: MIT */
/*
 * Linux guests for the VM tests, driven over their serial console: boot
 * one (tests/vm/vm-run.sh runs QEMU), wait for its shell, type commands and
 * wait for what they print. Every byte the guest prints goes to
 * NAME.console.log in the test's temp dir (QEMU's stderr to NAME.qemu.log);
 * when the test fails while guests run, their logs' tails are printed and
 * the logs kept in $IVSHMEM_BUILD_DIR/vm/logs. Guests still running at exit
 * are killed.
 *
 * Images come from $IVSHMEM_BUILD_DIR/vm/ARCH, made by build-guest.sh (the
 * vm_image_ARCH test fixtures). A guest that cannot be started (no image,
 * no QEMU) skips the test (exit 77) except under CI (CI set and non-empty),
 * where the test fails; a guest that starts and does not boot fails it.
 */
#ifndef IVSHMEM_TESTS_VM_H
#define IVSHMEM_TESTS_VM_H

#include <stddef.h>
#include <sys/types.h>

/* The guest's shell prompt, set by tests/vm/init.sh. */
#define VM_PROMPT "ivshmem-vm# "

struct vm_config {
	const char *arch;		/* "x86_64" or "aarch64" */
	const char *server_socket;	/* ivshmem-server; NULL: no device */
	int vectors;			/* of ivshmem-doorbell; 0: 2 */
	int mem_mb;			/* 0: 256 */
	const char *append;		/* more kernel command line, or NULL */
	const char *const *qemu_args;	/* more for QEMU, NULL-terminated */
	const char *image_dir;		/* NULL: $IVSHMEM_BUILD_DIR/vm/ARCH */
};

struct vm {
	char name[32];			/* for messages and log names */
	char arch[16];
	char accel[8];			/* "kvm" or "tcg" */
	pid_t pid;			/* QEMU */
	int con;			/* the serial console, a unix socket */
	int log;			/* console.log */
	char log_path[256];
	char qemu_log_path[256];
	char *buf;			/* console output not yet matched */
	size_t len, cap;
	unsigned seq;			/* vm_exec's markers */
	long long start_ns;
	long long boot_ns;		/* start to first prompt, or 0 */
	struct vm *next;		/* guests still running */
};

/*
 * Start a guest and wait up to timeout_s for its shell prompt; NAME names
 * it in messages and logs. Skips the test when the guest cannot be started
 * (see above), fails it when it does not boot.
 */
void vm_boot(struct vm *vm, const char *name, const struct vm_config *cfg,
	     int timeout_s);
/* The same without waiting: then vm_expect() what the guest prints. */
void vm_start(struct vm *vm, const char *name, const struct vm_config *cfg);

/*
 * Wait until the guest prints 'text' (a plain string). Output up to the
 * end of the match is consumed: the next call looks after it. Returns 0,
 * -ETIMEDOUT, or -EPIPE when the guest is gone.
 */
int vm_expect(struct vm *vm, const char *text, int timeout_s);
/* Type one line (a newline is added). Returns 0 or -errno. */
int vm_send(struct vm *vm, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* vm_send(cmd) then vm_expect(text); fails the test if it does not come. */
void vm_run(struct vm *vm, const char *cmd, const char *text, int timeout_s);
/*
 * Run a shell command and return its exit status, with its output
 * (carriage returns removed, NUL-terminated, truncated to outlen) in out
 * when out is not NULL. Fails the test if it does not finish in time.
 */
int vm_exec(struct vm *vm, const char *cmd, char *out, size_t outlen,
	    int timeout_s);
/*
 * Wait for QEMU to exit (a guest told to power off, or booted with
 * ipm.cmd=...), copying the console to the log. Returns its exit status
 * (128+signal if killed), or -ETIMEDOUT.
 */
int vm_wait_exit(struct vm *vm, int timeout_s);
/* Stop the guest (SIGTERM, then SIGKILL) and forget it. */
void vm_kill(struct vm *vm);

/* Print the last 'lines' lines of the guest's console log to stderr. */
void vm_print_tail(struct vm *vm, int lines);
/* Fail the test: the message, every running guest's log tail, exit 1. */
void vm_fail(struct vm *vm, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
/* The test cannot run here: exit 77, or 1 under CI. */
void vm_skip(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

#define VM_CHECK(vm, cond, ...) do {                                       \
	if (!(cond)) {                                                     \
		fprintf(stderr, "%s:%d: VM_CHECK(%s) failed\n", __FILE__,  \
			__LINE__, #cond);                                  \
		vm_fail(vm, __VA_ARGS__);                                  \
	}                                                                  \
} while (0)

#endif
