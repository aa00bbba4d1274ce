/* SPDX-License-Identifier: MIT */
/* A Linux guest's transport: VFIO when it can, else sysfs (polling). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sysfs/pcidev.h"

__attribute__((visibility("default")))
int ivshm_transport_pci_open(struct ivshm_transport **out,
			     const char *pci_addr, unsigned vectors)
{
	char why[PCIDEV_WHY_LEN] = "", why2[PCIDEV_WHY_LEN] = "";
	int rc = pcidev_vfio_open(out, pci_addr, vectors, why, sizeof(why));

	if (rc == 0) {
		pcidev_vfio_announce(*out);
		return 0;
	}
	if (rc != -EINVAL) /* not a malformed address: try sysfs */
		rc = pcidev_sysfs_open(out, pci_addr, why2, sizeof(why2));
	if (rc == 0) {
		pcidev_sysfs_announce(*out, why);
		return 0;
	}
	if (!*why2 || !strcmp(why, why2))
		fprintf(stderr, "%s: %s\n", PCIDEV_PROG, why);
	else
		fprintf(stderr, "%s: cannot use VFIO (%s) nor sysfs "
			"(%s)\n", PCIDEV_PROG, why, why2);
	return rc;
}
