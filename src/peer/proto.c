/* SPDX-License-Identifier: MIT */
/*
 * What the server's messages mean: the setup sequence, then peers joining
 * and leaving. The socket I/O itself is src/proto's.
 *
 * A peer's vectors arrive as one message each, so a peer is "pending"
 * until its vector messages are over: when it has as many as it can have
 * (our own count once we are set up; the caller's limit before), or when a
 * message about any other id arrives. Only then is it live and its JOINED
 * event queued, once. Later fds for a live peer (extra vectors, or a server
 * interleaving peers' vectors) are closed: a peer's vector count never
 * changes once reported, and no peer ever holds more fds than its cap.
 * Our own vector fds must be eventfds: we poll and read them. A peer's,
 * which we only write, must be an eventfd or of its anonymous-inode kin,
 * whose writes fail harmlessly: never a pipe or socket (SIGPIPE), never a
 * file or device that could block.
 */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

static int valid_peer_id(int64_t v)
{
	return v >= 0 && v <= IVPROTO_MAX_PEER_ID;
}

/* The pending peer's vector messages are over: it is live. */
static void complete_pending(struct ivshmem *iv, int queue)
{
	struct ivp_peer *p;

	if (iv->pending < 0)
		return;
	p = ivp_peer_find(iv, iv->pending);
	iv->pending = -1;
	if (!p)
		return;
	p->complete = 1;
	if (iv->phase != IVP_PH_READY && p->nvec > iv->peers_nvec)
		iv->peers_nvec = p->nvec;
	if (queue)
		ivp_evq_push(&iv->evq, IVSHMEM_EV_PEER_JOINED, p->id, p->nvec);
}

/* Vector fd of peer id (not us). Takes fd in every case. */
static int add_vector(struct ivshmem *iv, int id, int fd, int queue)
{
	struct ivp_peer *p;

	if (iv->pending >= 0 && iv->pending != id)
		complete_pending(iv, queue);
	p = ivp_peer_find(iv, id);
	if (p && p->complete) {
		close(fd);  /* its vectors were over: nothing to add */
		return 0;
	}
	if (!p) {
		/* Once set up, a peer has at most as many vectors as we. */
		unsigned cap = iv->phase == IVP_PH_READY ? iv->nvec : iv->limit;

		p = ivp_peer_insert(iv, id, cap);
		if (!p) {
			close(fd);
			return -ENOMEM;
		}
		iv->pending = id;
	}
	/* p is the pending peer; below its cap (it completes at the cap). */
	p->fd[p->nvec++] = fd;
	if (p->nvec >= p->cap)
		complete_pending(iv, queue);
	return 0;
}

/*
 * Our own vectors are in (all the server gives, up to our limit; see
 * connect.c). Existing peers keep at most as many vectors as we have and are
 * reported as JOINED, so callers learn of every peer the same way.
 */
int ivp_finish_setup(struct ivshmem *iv)
{
	int rc;

	complete_pending(iv, 0);
	rc = ivp_evq_reserve(&iv->evq, iv->npeers);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < iv->npeers; i++) {
		struct ivp_peer *p = iv->peers[i];

		ivp_peer_trim(p, iv->nvec);
		ivp_evq_push(&iv->evq, IVSHMEM_EV_PEER_JOINED, p->id, p->nvec);
	}
	iv->phase = IVP_PH_READY;
	return 0;
}

/* One message during setup. Takes fd in every case. */
int ivp_setup_msg(struct ivshmem *iv, int64_t v, int fd)
{
	int rc;

	switch (iv->phase) {
	case IVP_PH_VERSION:
		if (fd >= 0)
			break;
		if (v != IVPROTO_VERSION)
			return -EPROTONOSUPPORT;
		iv->phase = IVP_PH_ID;
		return 0;
	case IVP_PH_ID:
		if (fd >= 0 || !valid_peer_id(v))
			break;
		iv->id = (int)v;
		iv->phase = IVP_PH_SHM;
		return 0;
	case IVP_PH_SHM:
		if (fd < 0 || v != IVPROTO_SHM_ID)
			break;
		/* The mapping keeps the memory; the fd is of no more use. */
		rc = ivp_shm_map(fd, &iv->mem, &iv->size, &iv->sealed);
		close(fd);
		if (rc == 0)
			iv->phase = IVP_PH_VECTORS;
		return rc;
	case IVP_PH_VECTORS:
		if (!valid_peer_id(v))
			break;
		if (iv->nvec > 0 && v != iv->id) {
			/* Our vectors are over: this is news. */
			rc = ivp_finish_setup(iv);
			if (rc < 0) {
				if (fd >= 0)
					close(fd);
				return rc;
			}
			return ivp_handle_msg(iv, v, fd);
		}
		if (fd < 0)  /* nobody can leave before we are set up */
			break;
		if (v != iv->id) {
			if (!ivp_is_writable_vector(iv, fd))
				break;
			return add_vector(iv, (int)v, fd, 0);
		}
		if (!ivp_is_eventfd(iv, fd))  /* we read and poll it */
			break;
		complete_pending(iv, 0);
		iv->own[iv->nvec++] = fd;  /* nvec < limit: we stop there */
		/*
		 * Done at the limit, or at the count of the peers before us:
		 * a server gives every peer the same count.
		 */
		if (iv->nvec == iv->limit || iv->nvec == iv->peers_nvec)
			return ivp_finish_setup(iv);
		return 0;
	case IVP_PH_READY:
		return ivp_handle_msg(iv, v, fd);
	}
	if (fd >= 0)
		close(fd);
	return -EPROTO;
}

/* One message once set up. Takes fd in every case. */
int ivp_handle_msg(struct ivshmem *iv, int64_t v, int fd)
{
	int id = (int)v, rc;
	struct ivp_peer *p;

	/* Two events at most: a pending peer completed, and this one's. */
	rc = ivp_evq_reserve(&iv->evq, 2);
	if (rc < 0 || !valid_peer_id(v)) {
		if (fd >= 0)
			close(fd);
		return rc < 0 ? rc : -EPROTO;
	}
	if (iv->pending >= 0 && iv->pending != id)
		complete_pending(iv, 1);
	if (id == iv->id) {
		if (fd < 0)  /* only we can decide to leave */
			return -EPROTO;
		close(fd);  /* more own vectors than we asked for */
		return 0;
	}
	if (fd >= 0) {
		if (!ivp_is_writable_vector(iv, fd)) {
			close(fd);
			return -EPROTO;
		}
		return add_vector(iv, id, fd, 1);
	}
	p = ivp_peer_find(iv, id);
	if (p && p->complete)
		ivp_evq_push(&iv->evq, IVSHMEM_EV_PEER_LEFT, id, p->nvec);
	/* A pending peer that leaves was never reported: drop it quietly. */
	ivp_peer_remove(iv, id);
	return 0;
}

/*
 * The connection is over: the server closed it (clean) or broke the
 * protocol. Peers stay known: their eventfds still work without a server.
 */
void ivp_server_gone(struct ivshmem *iv, int clean)
{
	if (iv->gone)
		return;
	iv->gone = 1;
	if (iv->pending >= 0) {
		/* Its vectors are over, if only because nothing else comes. */
		if (clean && ivp_evq_reserve(&iv->evq, 1) == 0)
			complete_pending(iv, 1);
		else
			ivp_peer_remove(iv, iv->pending);
	}
	ivproto_rx_reset(&iv->rx);
	/* Tell a server still there that we are not listening any more. */
	shutdown(iv->sock, SHUT_RDWR);
	ivp_evq_reserve(&iv->evq, 1);
	ivp_evq_push(&iv->evq, IVSHMEM_EV_SERVER_GONE, -1, 0);
}
