/* SPDX-License-Identifier: MIT */
#include "bmguest.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "testutil.h"

static int under_ci(void)
{
	const char *ci = getenv("CI");

	return ci && *ci;
}

static void skip(const char *why)
{
	fprintf(stderr, "%s: %s\n", under_ci() ? "FAIL (CI is set)" : "SKIP",
		why);
	exit(under_ci() ? 1 : 77);
}

static const char *find_qemu(void)
{
	static char found[4096];
	const char *env = getenv("IVSHMEM_QEMU_AARCH64");
	const char *path = getenv("PATH");

	if (env && *env)
		return access(env, X_OK) == 0 ? env : NULL;
	for (path = path ? path : "/usr/bin:/bin"; *path;) {
		size_t n = strcspn(path, ":");

		snprintf(found, sizeof(found), "%.*s/qemu-system-aarch64",
			 (int)n, path);
		if (n && access(found, X_OK) == 0)
			return found;
		path += n + (path[n] == ':');
	}
	return NULL;
}

static const char *qemu;

void bm_boot(struct bm_guest *g, const char *name, const char *sock,
	     const char *machine)
{
	long long t0 = tu_now_ns();

	snprintf(g->name, sizeof(g->name), "%s", name);
	snprintf(g->chardev, sizeof(g->chardev),
		 "socket,path=%s,id=ivs", sock);
	con_spawn(&g->con, g->name, (const char *const[]){
		qemu, "-machine", machine, "-cpu", "cortex-a53",
		"-accel", "tcg", "-m", "64", "-nodefaults", "-display", "none",
		"-serial", "stdio", "-kernel", IVSHMEM_BAREMETAL_ELF,
		"-chardev", g->chardev,
		"-device", "ivshmem-doorbell,chardev=ivs,vectors=2", NULL });
	g->ready_us = con_number_after(&g->con, "ready after ", BM_WAIT_MS);
	con_must(&g->con, BM_PROMPT, BM_WAIT_MS);
	g->boot_ns = tu_now_ns() - t0;
	CHECK(!strstr(g->con.buf, "exception"), "%s faulted", name);

	con_send(&g->con, "ivshmem");
	con_must(&g->con, "IVshmem up and running:", BM_WAIT_MS);
	con_must(&g->con, "\tShared memory: 0x", BM_WAIT_MS);
	g->size = con_number_after(&g->con, " of size ", BM_WAIT_MS);
	g->id = (unsigned)con_number_after(&g->con, "\tPeer id: ",
					   BM_WAIT_MS);
	CHECK(con_number_after(&g->con, "\tNotification vectors: ",
			       BM_WAIT_MS) == 2, "%s: not 2 vectors", name);
	con_must(&g->con, BM_PROMPT, BM_WAIT_MS);
}

void bm_mode(struct bm_guest *g, const char *mode)
{
	char want[64];

	con_send(&g->con, "notify %s", mode);
	snprintf(want, sizeof(want), "notifications: %s", mode);
	con_must(&g->con, want, BM_WAIT_MS);
	con_must(&g->con, BM_PROMPT, BM_WAIT_MS);
}

uint32_t bm_peek(struct bm_guest *g, unsigned long long off)
{
	char want[64];

	con_send(&g->con, "peek 0x%llx", off);
	snprintf(want, sizeof(want), "shm[0x%llx] = ", off);
	return (uint32_t)con_number_after(&g->con, want, BM_WAIT_MS);
}

void bm_poke(struct bm_guest *g, unsigned long long off, uint32_t v)
{
	char want[64];

	con_send(&g->con, "poke 0x%llx 0x%x", off, v);
	snprintf(want, sizeof(want), "shm[0x%llx] = ", off);
	CHECK(con_number_after(&g->con, want, BM_WAIT_MS) == v,
	      "%s: poke 0x%llx did not read back", g->name, off);
}

void bm_require(void)
{
	qemu = find_qemu();
	if (!qemu)
		skip(getenv("IVSHMEM_QEMU_AARCH64") &&
		     *getenv("IVSHMEM_QEMU_AARCH64") ?
		     "$IVSHMEM_QEMU_AARCH64 is not an executable" :
		     "qemu-system-aarch64 is not on PATH");
	if (!IVSHMEM_BAREMETAL_ELF[0])
		skip("the guest was not built: no aarch64-linux-gnu-gcc at "
		     "configure time");
	CHECK(access(IVSHMEM_BAREMETAL_ELF, R_OK) == 0, "%s: %s",
	      IVSHMEM_BAREMETAL_ELF, strerror(errno));
}

volatile void *bm_map_region(const struct tu_server *srv, size_t *size)
{
	struct stat st;
	void *p;
	int fd = shm_open(srv->shm_name, O_RDWR, 0);

	CHECK(fd >= 0, "shm_open %s: %s", srv->shm_name, strerror(errno));
	CHECK(fstat(fd, &st) == 0, "fstat");
	*size = (size_t)st.st_size;
	p = mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED, "mmap: %s", strerror(errno));
	close(fd);
	return p;
}
