/* SPDX-License-Identifier: MIT */
/* Checking and mapping the shared memory fd the server hands us. */
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/*
 * The server decides the size, so check it before trusting it: a regular
 * file (POSIX shm, memfd or hugetlbfs all are) of a non-zero whole number
 * of pages, as QEMU's device could map it.
 */
int ivp_shm_map(int fd, void **mem, size_t *size)
{
	long page = sysconf(_SC_PAGESIZE);
	struct stat st;
	void *p;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EPROTO;
	if (st.st_size <= 0 || page <= 0 || st.st_size % page)
		return -EPROTO;
	if ((uint64_t)st.st_size > SIZE_MAX)
		return -EFBIG;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	*mem = p;
	*size = (size_t)st.st_size;
	return 0;
}
