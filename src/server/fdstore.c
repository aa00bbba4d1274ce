/* SPDX-License-Identifier: MIT */
#include "fdstore.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "sd.h"
#include "wire.h"

#define NAME_LISTEN FDSTORE_PREFIX "listen"
#define NAME_CTL    FDSTORE_PREFIX "ctl"
#define NAME_REGION FDSTORE_PREFIX "region"
#define NAME_LOCK   FDSTORE_PREFIX "lock"
/* ivs-peer-ID-SEQ-JOINED-sock, ivs-peer-ID-SEQ-JOINED-vec-V */
#define NAME_PEER   FDSTORE_PREFIX "peer-"

int fdstore_enabled(void)
{
	const char *n = getenv("NOTIFY_SOCKET"), *max = getenv("FDSTORE");

	return n && *n && max && atol(max) > 0;
}

static void store(struct fdstore *f, int fd, const char *name, int remove)
{
	char msg[300];
	int rc;

	snprintf(msg, sizeof(msg), "%s\nFDNAME=%s", remove ?
		 "FDSTOREREMOVE=1" : "FDSTORE=1", name);
	rc = remove ? sd_notify_state(msg) : sd_notify_fds(msg, &fd, 1);
	if (rc < 0 && !f->failed++)
		log_warn(f->log, "fd store: %s %s: %s (logged once)", remove ?
			 "removing" : "storing", name, strerror(-rc));
}

static void peer_names(const struct server_peer_fds *pf, char *base,
		       size_t len)
{
	snprintf(base, len, NAME_PEER "%d-%" PRIu64 "-%" PRId64, pf->id,
		 pf->seq, pf->joined);
}

static void peer_store(struct fdstore *f, const struct server_peer_fds *pf,
		       int remove)
{
	char base[96], name[128];

	peer_names(pf, base, sizeof(base));
	snprintf(name, sizeof(name), "%s-sock", base);
	store(f, pf->sock, name, remove);
	for (unsigned v = 0; v < pf->nvec; v++) {
		snprintf(name, sizeof(name), "%s-vec-%u", base, v);
		store(f, pf->vec[v], name, remove);
	}
}

static void on_joined(void *ctx, const struct server_peer_fds *pf)
{
	peer_store(ctx, pf, 0);
}

static void on_left(void *ctx, const struct server_peer_fds *pf)
{
	peer_store(ctx, pf, 1);
}

void fdstore_start(struct fdstore *f, const struct log_sink *log,
		   const struct restart_main *m, struct server *srv,
		   int store_main)
{
	f->log = log;
	f->failed = 0;
	f->hooks = (struct server_hooks){ .ctx = f, .joined = on_joined,
					  .left = on_left };
	/* After a restart in place or from the store, they are there. */
	if (store_main && !m->activated)
		store(f, m->lis->fd, NAME_LISTEN, 0);
	if (store_main && m->ctl_lis->fd >= 0)
		store(f, m->ctl_lis->fd, NAME_CTL, 0);
	if (store_main)
		store(f, m->shm->fd, NAME_REGION, 0);
	if (store_main && m->shm->lock_fd >= 0)
		store(f, m->shm->lock_fd, NAME_LOCK, 0);
	server_set_hooks(srv, &f->hooks);
}

int fdstore_ours(const char *names)
{
	const char *p = names;

	while (p && *p) {
		if (!strncmp(p, NAME_REGION, strlen(NAME_REGION)) &&
		    (p[strlen(NAME_REGION)] == ':' || !p[strlen(NAME_REGION)]))
			return 1;
		p = strchr(p, ':');
		p = p ? p + 1 : NULL;
	}
	return 0;
}

struct apeer {
	struct server_peer_fds pf;
	int vec[IVPROTO_MAX_VECTORS];
	unsigned have;          /* vectors seen */
};

static int by_seq(const void *a, const void *b)
{
	const struct apeer *x = a, *y = b;

	return x->pf.seq < y->pf.seq ? -1 : x->pf.seq > y->pf.seq;
}

static int is_listening(int fd)
{
	int acc = 0;
	socklen_t len = sizeof(acc);

	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) == 0 &&
	       acc;
}

/* A listener as listener_open()/listener_adopt() would have left it. */
static void fill_listener(struct listener *l, int fd, const char *path,
			  int ours)
{
	struct stat st;
	/* The config refused a path longer than a socket's already. */
	size_t n = strnlen(path, sizeof(l->name) - 1);

	l->fd = fd;
	memcpy(l->name, path, n);
	l->name[n] = '\0';
	l->path[0] = '\0';
	if (ours && n < sizeof(l->path) && lstat(path, &st) == 0 &&
	    S_ISSOCK(st.st_mode)) {
		memcpy(l->path, path, n + 1);
		l->dev = st.st_dev;
		l->ino = st.st_ino;
	}
}

/* One name: the peer, or main's fd it is; -1 when it is none of ours. */
static int classify(const char *name, int fd, struct apeer **peers,
		    size_t *np, int *by_id, unsigned nvec, int *lis, int *ctl,
		    int *region, int *lock, int *other)
{
	int id, used = 0;
	uint64_t seq;
	int64_t joined;
	unsigned v;
	char kind[8];

	if (!strcmp(name, NAME_LISTEN))
		return *lis = fd, 0;
	if (!strcmp(name, NAME_CTL))
		return *ctl = fd, 0;
	if (!strcmp(name, NAME_REGION))
		return *region = fd, 0;
	if (!strcmp(name, NAME_LOCK))
		return *lock = fd, 0;
	if (strncmp(name, NAME_PEER, strlen(NAME_PEER))) {
		if (*other < 0 && is_listening(fd))
			return *other = fd, 0;
		return -1;
	}
	v = 0;
	if (sscanf(name + strlen(NAME_PEER), "%d-%" SCNu64 "-%" SCNd64
		   "-%7[a-z]%n-%u%n", &id, &seq, &joined, kind, &used, &v,
		   &used) < 4 || name[strlen(NAME_PEER) + used] ||
	    id < 0 || id >= IVPROTO_NUM_IDS)
		return -1;
	if (by_id[id] < 0) {
		struct apeer *a = realloc(*peers, (*np + 1) * sizeof(**peers));

		if (!a)
			return -1;
		*peers = a;
		memset(&a[*np], 0, sizeof(a[*np]));
		a[*np].pf = (struct server_peer_fds){ .id = id, .seq = seq,
						      .joined = joined,
						      .sock = -1, .nvec = nvec };
		for (unsigned i = 0; i < IVPROTO_MAX_VECTORS; i++)
			a[*np].vec[i] = -1;
		by_id[id] = (int)(*np)++;
	}
	struct apeer *p = &(*peers)[by_id[id]];

	if (p->pf.seq != seq)
		return -1;
	if (!strcmp(kind, "sock") && p->pf.sock < 0)
		return p->pf.sock = fd, 0;
	if (!strcmp(kind, "vec") && v < nvec && p->vec[v] < 0) {
		p->vec[v] = fd;
		p->have++;
		return 0;
	}
	return -1;
}

int fdstore_state(const char *names, int n, const struct server_config *cfg,
		  struct st_buf *b, char *err, size_t errlen)
{
	int lis = -1, ctl = -1, region = -1, lock = -1, other = -1, rc = -1;
	struct listener l = { .fd = -1 }, c = { .fd = -1 };
	struct shm_region shm = { .fd = -1, .lock_fd = -1 };
	struct restart_main m = { .lis = &l, .ctl_lis = &c, .shm = &shm,
				  .reply_fd = -1 };
	struct apeer *peers = NULL;
	char path[sizeof(l.name) + sizeof(CTL_SUFFIX)];
	const char *p = names;
	size_t np = 0, kept = 0;
	int *by_id = malloc(IVPROTO_NUM_IDS * sizeof(int));
	struct server_peer_fds *pf = NULL;
	struct stat st;

	if (!by_id) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < IVPROTO_NUM_IDS; i++)
		by_id[i] = -1;
	for (int i = 0; i < n; i++) {
		char name[256];
		size_t len = p ? strcspn(p, ":") : 0;
		int fd = SD_LISTEN_FDS_START + i;

		snprintf(name, sizeof(name), "%.*s", (int)len, p ? p : "");
		p = p && p[len] ? p + len + 1 : NULL;
		if (classify(name, fd, &peers, &np, by_id, cfg->vectors, &lis,
			     &ctl, &region, &lock, &other) < 0)
			close(fd);  /* not ours, or a duplicate */
	}
	if (region < 0 || fstat(region, &st) < 0) {
		snprintf(err, errlen, "the fd store holds no region");
		goto out;
	}
	if (lis < 0)
		lis = other;
	else if (other >= 0)
		close(other);
	if (lis < 0) {
		snprintf(err, errlen, "the fd store holds no listening socket");
		goto out;
	}
	fill_listener(&l, lis, cfg->socket_path, lis != other);
	snprintf(path, sizeof(path), "%s%s", cfg->socket_path, CTL_SUFFIX);
	fill_listener(&c, ctl, path, 1);
	shm.fd = region;
	shm.lock_fd = lock;
	if (cfg->shm_name)
		snprintf(shm.name, sizeof(shm.name), "/%s", cfg->shm_name +
			 (cfg->shm_name[0] == '/'));
	shm.sealed = !cfg->shm_name && !cfg->shm_dir;
	shm.dev = st.st_dev;
	shm.ino = st.st_ino;
	m.activated = lis == other;
	m.started = time(NULL);
	restart_save_main(b, &m, cfg, 0);
	/* Whole peers only, in join order; the rest are closed. */
	qsort(peers, np, sizeof(*peers), by_seq);
	pf = calloc(np ? np : 1, sizeof(*pf));
	if (!pf) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < np; i++) {
		struct apeer *a = &peers[i];

		if (a->pf.sock >= 0 && a->have == cfg->vectors &&
		    (!kept || a->pf.seq > pf[kept - 1].seq)) {
			pf[kept] = a->pf;
			pf[kept].vec = a->vec;
			kept++;
			continue;
		}
		if (a->pf.sock >= 0)
			close(a->pf.sock);
		for (unsigned v = 0; v < cfg->vectors; v++)
			if (a->vec[v] >= 0)
				close(a->vec[v]);
	}
	/* The server's own reference to the region: a second fd, as exec. */
	server_save_adopted(b, cfg->vectors, fcntl(region, F_DUPFD_CLOEXEC,
						   SD_LISTEN_FDS_START + n),
			    pf, kept);
	rc = b->err ? -1 : 0;
	if (rc)
		snprintf(err, errlen, "out of memory");
out:
	free(pf);
	free(peers);
	free(by_id);
	return rc;
}
