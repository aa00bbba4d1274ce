/* SPDX-License-Identifier: MIT */
#include <ivshmem/transport.h>

__attribute__((visibility("default")))
void ivshm_transport_close(struct ivshm_transport *t)
{
	if (t)
		t->ops->close(t);
}
