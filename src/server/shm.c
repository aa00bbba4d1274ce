/* SPDX-License-Identifier: MIT */
#include "shm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "size.h"

#define HUGETLBFS_MAGIC 0x958458f6

/*
 * Can the filesystem at dir still give us size bytes? Checked before
 * anything is created there, so that a refusal leaves no trace.
 */
static int check_room(const char *dir, uint64_t size, char *err,
		      size_t errlen)
{
	struct statvfs vfs;
	char want[32], have[32];
	uint64_t avail;

	if (statvfs(dir, &vfs) < 0)
		return 0; /* no figure to check against; ftruncate decides */
	avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	if (vfs.f_blocks == 0 || size <= avail)
		return 0;
	size_format(size, want, sizeof(want));
	size_format_human(avail, have, sizeof(have));
	snprintf(err, errlen, "cannot provide %s of shared memory: %s has "
		 "only %s free", want, dir, have);
	return -ENOSPC;
}

static int apply_perms(int fd, const struct server_config *cfg, char *err,
		       size_t errlen)
{
	if (fchmod(fd, cfg->shm_mode) < 0) {
		snprintf(err, errlen, "cannot set shared memory mode %o: %s",
			 (unsigned)cfg->shm_mode, strerror(errno));
		return -errno;
	}
	if ((cfg->shm_uid != (uid_t)-1 || cfg->shm_gid != (gid_t)-1) &&
	    fchown(fd, cfg->shm_uid, cfg->shm_gid) < 0) {
		snprintf(err, errlen, "cannot set shared memory owner/group: %s",
			 strerror(errno));
		return -errno;
	}
	return 0;
}

/*
 * A server holds an exclusive flock() on a second open file description
 * of its object for as long as it runs. Peers get the first description,
 * so the lock dies with the server even while VMs keep the memory mapped.
 */
static int take_lock(const char *name, int *lock_fd)
{
	int fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int rc = errno == EWOULDBLOCK ? -EBUSY : -errno;

		close(fd);
		return rc;
	}
	*lock_fd = fd;
	return 0;
}

static int create_named(struct shm_region *r, const struct server_config *cfg,
			char *err, size_t errlen)
{
	const char *name = cfg->shm_name;
	const char *base = name + (name[0] == '/');
	size_t len = strlen(base);
	int fd = -1, rc;

	if (!len || len + 1 >= sizeof(r->name) || strchr(base, '/')) {
		snprintf(err, errlen, "invalid shared memory name '%s': expected "
			 "/NAME with no other '/', at most %zu bytes", name,
			 sizeof(r->name) - 1);
		return -EINVAL;
	}
	r->name[0] = '/';
	memcpy(r->name + 1, base, len + 1);
	rc = check_room("/dev/shm", cfg->shm_size, err, errlen);
	if (rc < 0) {
		r->name[0] = '\0';
		return rc;
	}
	for (int attempt = 0; attempt < 3 && fd < 0; attempt++) {
		fd = shm_open(r->name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
			      0600);
		if (fd >= 0)
			break;
		if (errno != EEXIST) {
			rc = -errno;
			snprintf(err, errlen, "cannot create shared memory %s: %s",
				 r->name, strerror(errno));
			return rc;
		}
		/* Left by a server that died, or in use by a live one? */
		int stale_lock = -1;

		rc = take_lock(r->name, &stale_lock);
		if (rc == -EBUSY) {
			snprintf(err, errlen, "shared memory %s is in use by a "
				 "running ivshmem-server; choose another name "
				 "with -M", r->name);
			return rc;
		}
		if (rc < 0 && rc != -ENOENT) {
			snprintf(err, errlen, "shared memory %s exists and cannot "
				 "be checked for a running server: %s", r->name,
				 strerror(-rc));
			return rc;
		}
		if (rc == 0) {
			shm_unlink(r->name);
			close(stale_lock);
		}
	}
	if (fd < 0) {
		snprintf(err, errlen, "cannot create shared memory %s: it keeps "
			 "reappearing", r->name);
		return -EEXIST;
	}
	r->fd = fd;
	rc = take_lock(r->name, &r->lock_fd);
	if (rc < 0) {
		snprintf(err, errlen, "cannot lock shared memory %s: %s",
			 r->name, strerror(-rc));
		return rc;
	}
	return 0;
}

/*
 * -m DIR, as QEMU's server does it: a file created in DIR and unlinked at
 * once, so a crash leaves nothing behind. On hugetlbfs the size must be a
 * whole number of huge pages.
 */
static int create_in_dir(struct shm_region *r, const struct server_config *cfg,
			 char *err, size_t errlen)
{
	const char *dir = cfg->shm_dir;
	struct statfs fs;
	struct stat st;
	char path[4096];
	int n;

	if (stat(dir, &st) < 0 || statfs(dir, &fs) < 0) {
		n = -errno;
		snprintf(err, errlen, "cannot use directory %s for the shared "
			 "memory: %s", dir, strerror(errno));
		return n;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s (-m) is not a directory", dir);
		return -ENOTDIR;
	}
	if ((unsigned long)fs.f_type == HUGETLBFS_MAGIC &&
	    cfg->shm_size % (uint64_t)fs.f_bsize) {
		snprintf(err, errlen, "size %llu is not a multiple of %s's huge "
			 "page size %ld", (unsigned long long)cfg->shm_size,
			 dir, (long)fs.f_bsize);
		return -EINVAL;
	}
	n = check_room(dir, cfg->shm_size, err, errlen);
	if (n < 0)
		return n;
	n = snprintf(path, sizeof(path), "%s/ivshmem.XXXXXX", dir);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		snprintf(err, errlen, "directory path %s is too long", dir);
		return -ENAMETOOLONG;
	}
	r->fd = mkostemp(path, O_CLOEXEC);
	if (r->fd < 0) {
		n = -errno;
		snprintf(err, errlen, "cannot create a file in %s: %s", dir,
			 strerror(errno));
		return n;
	}
	unlink(path);
	r->name[0] = '\0';
	return 0;
}

/* The default: a memfd, sealed once sized (see shm_region_create). */
static int create_memfd(struct shm_region *r, char *err, size_t errlen)
{
	r->fd = memfd_create("ivshmem", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (r->fd < 0) {
		int rc = -errno;

		snprintf(err, errlen, "memfd_create: %s", strerror(errno));
		return rc;
	}
	r->sealed = 1;
	return 0;
}

int shm_region_create(struct shm_region *r, const struct server_config *cfg,
		      char *err, size_t errlen)
{
	struct stat st;
	int rc;

	r->fd = r->lock_fd = -1;
	r->name[0] = '\0';
	r->sealed = 0;
	if (cfg->shm_dir)
		rc = create_in_dir(r, cfg, err, errlen);
	else if (cfg->shm_name)
		rc = create_named(r, cfg, err, errlen);
	else
		rc = create_memfd(r, err, errlen);
	if (rc < 0)
		goto fail;
	if ((off_t)cfg->shm_size < 0)
		rc = -EFBIG;
	else if (ftruncate(r->fd, (off_t)cfg->shm_size) < 0)
		rc = -errno;
	if (rc < 0) {
		char want[32];

		size_format(cfg->shm_size, want, sizeof(want));
		snprintf(err, errlen, "cannot size shared memory to %s: %s",
			 want, strerror(-rc));
		goto fail;
	}
	rc = apply_perms(r->fd, cfg, err, errlen);
	if (rc < 0)
		goto fail;
	/* Before any peer has it: nobody can shrink it under the others. */
	if (r->sealed && fcntl(r->fd, F_ADD_SEALS, F_SEAL_SHRINK |
			       F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot seal the shared memory: %s",
			 strerror(errno));
		goto fail;
	}
	if (fstat(r->fd, &st) < 0) {
		rc = -errno;
		snprintf(err, errlen, "fstat: %s", strerror(errno));
		goto fail;
	}
	r->dev = st.st_dev;
	r->ino = st.st_ino;
	return 0;
fail:
	if (r->fd >= 0 && r->name[0])
		shm_unlink(r->name); /* ours: created with O_EXCL above */
	r->name[0] = '\0';
	shm_region_destroy(r);
	return rc;
}

void shm_region_destroy(struct shm_region *r)
{
	if (r->name[0]) {
		int fd = shm_open(r->name, O_RDONLY | O_CLOEXEC, 0);
		struct stat st;

		/* Only remove the name if it is still ours. */
		if (fd >= 0) {
			if (fstat(fd, &st) == 0 && st.st_dev == r->dev &&
			    st.st_ino == r->ino)
				shm_unlink(r->name);
			close(fd);
		}
		r->name[0] = '\0';
	}
	if (r->lock_fd >= 0)
		close(r->lock_fd);
	if (r->fd >= 0)
		close(r->fd);
	r->fd = r->lock_fd = -1;
}
