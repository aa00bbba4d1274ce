/* SPDX-License-Identifier: MIT */
/* IPM peers for the benchmarks: open a device, send with start-up retries. */
#include "bench.h"

#include <errno.h>
#include <unistd.h>

#include <ivshmem/ipm.h>
#include <ivshmem/transport.h>

#define CONNECT_TIMEOUT_MS 10000

int bench_ipm_open(struct ipm **out, const char *path, int mailbox,
		   unsigned spin_ns)
{
	return bench_ipm_open_vectors(out, path, 1, mailbox, spin_ns);
}

int bench_ipm_open_vectors(struct ipm **out, const char *path,
			   unsigned vectors, int mailbox, unsigned spin_ns)
{
	struct ipm_config cfg = {
		.mode = mailbox ? IPM_MODE_MAILBOX : IPM_MODE_DOORBELL,
		.slots = 2,
		.spin_ns = spin_ns,
		.unchecked = mailbox == BENCH_MAILBOX_UNCHECKED,
	};

	return bench_ipm_open_cfg(out, path, vectors, &cfg);
}

int bench_ipm_open_cfg(struct ipm **out, const char *path, unsigned vectors,
		       const struct ipm_config *cfg)
{
	struct ivshm_transport *t;
	int rc;

	*out = NULL;
	rc = ivshm_transport_host_open(&t, path, vectors, CONNECT_TIMEOUT_MS);
	if (rc < 0)
		return rc;
	rc = ipm_open(out, t, cfg);
	if (rc < 0)
		ivshm_transport_close(t);
	return rc;
}

int bench_ipm_id(const struct ipm *ipm)
{
	return ipm_transport(ipm)->id;
}

/*
 * ipm_send(wait = 0), or with 'loaned' ipm_loan(wait = 0) (*loaned the
 * room), retried while the peer is not there yet (-ENOTCONN, at start-up)
 * or its queue is full (-EBUSY), for at most timeout_ms.
 */
static int retry(struct ipm *ipm, uint32_t id, const void *data, size_t size,
		 void **loaned, int timeout_ms)
{
	uint64_t deadline = 0;
	int rc;

	for (;;) {
		rc = loaned ? ipm_loan(ipm, 0, id, size, loaned) :
			      ipm_send(ipm, 0, id, data, size);
		if (rc != -ENOTCONN && rc != -EBUSY)
			return rc;
		if (!deadline)
			deadline = bench_now_ns() +
				   (uint64_t)timeout_ms * 1000000u;
		else if (bench_now_ns() > deadline)
			return rc;
		if (rc == -ENOTCONN)
			usleep(100);
		else
			bench_relax();
	}
}

int bench_ipm_send(struct ipm *ipm, uint32_t id, const void *data,
		   size_t size, int timeout_ms)
{
	return retry(ipm, id, data, size, NULL, timeout_ms);
}

int bench_ipm_loan(struct ipm *ipm, uint32_t id, size_t size, void **data,
		   int timeout_ms)
{
	return retry(ipm, id, NULL, size, data, timeout_ms);
}
