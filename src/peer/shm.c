/* SPDX-License-Identifier: MIT */
/* Checking and mapping the shared memory fd the server hands us. */
#include <errno.h>
#include <fcntl.h>
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
int ivp_shm_map(int fd, void **mem, size_t *size, int *sealed)
{
	long page = sysconf(_SC_PAGESIZE);
	struct stat st;
	void *p;
	int seals;

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
	/*
	 * Sealed against shrinking, the memory can never be truncated under
	 * us (SIGBUS on access). F_GET_SEALS fails on anything but a memfd.
	 */
	seals = fcntl(fd, F_GET_SEALS);
	*sealed = seals >= 0 && (seals & F_SEAL_SHRINK);
	*mem = p;
	*size = (size_t)st.st_size;
	return 0;
}
