/* SPDX-License-Identifier: MIT */
/*
 * The Zephyr samples and a Linux aarch64 guest (tests/vm, ipm-shell --pci
 * -m doorbell over VFIO) on one server: our sample (over this module's
 * driver) and Zephyr's unchanged ipm_ivshmem sample each ring the Linux
 * guest's vector 0 and are rung by it, and both sides print the sample's
 * line. Then the Linux guest's ipm-shell restarts in mailbox mode, adopts
 * the layout our sample made, and texts go both ways between it and our
 * sample, with exact lines, every send blocking and acknowledged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conpeer.h"
#include "testutil.h"
#include "vm.h"
#include "zguest.h"

#define BOOT_TIMEOUT 300

int main(void)
{
	static struct zpeer za, stock;
	struct zpeer *zs[] = { &za, &stock };
	struct con_peer cp[2];
	struct tu_server srv;
	struct vm lx;
	unsigned lid;

	zg_require();
	tu_server_start(&srv, (const char *[]){ "-n", "2", "-l", "4M", NULL });
	lid = cp_linux_up(&lx, srv.socket_path, BOOT_TIMEOUT);

	zg_boot(&za, "zephyr A (ipm_mailbox)", ZEPHYR_ELF_MAILBOX,
		srv.socket_path);
	zg_boot(&stock, "zephyr C (stock ipm_ivshmem)", ZEPHYR_ELF_STOCK,
		srv.socket_path);
	for (int i = 0; i < 2; i++) {
		CHECK(zs[i]->id != lid, "%s and Linux are both peer %u",
		      zs[i]->name, lid);
		cp[i] = (struct con_peer){ .con = &zs[i]->con,
					   .name = zs[i]->name,
					   .id = zs[i]->id,
					   .wait_ms = ZG_WAIT_MS };
		fprintf(stderr, "%s -> Linux %u: heard after %d ring(s)\n",
			zs[i]->name, lid, cp_ring_linux(&cp[i], &lx, lid));
		fprintf(stderr, "Linux %u -> %s: heard after %d ring(s)\n",
			lid, zs[i]->name, cp_rung_by_linux(&lx, &cp[i]));
	}

	/* The mailbox: the Linux guest adopts the layout our sample made. */
	cp_linux_restart(&lx, "mailbox");
	for (int i = 0; i < 3; i++) {
		char text[64];

		snprintf(text, sizeof(text), "zephyr to Linux #%d", i);
		cp_mail_to_linux(&cp[0], &lx, lid, text);
		snprintf(text, sizeof(text), "Linux to zephyr #%d", i);
		cp_mail_from_linux(&lx, &cp[0], lid, text);
	}
	fprintf(stderr, "%s <-> Linux %u: 3 texts each way, acknowledged and "
		"received as sent\n", za.name, lid);
	vm_print_tail(&lx, 12);	/* its side, for the record */
	vm_kill(&lx);
	CHECK(tu_server_stop(&srv) == 0, "the server did not stop cleanly");
	return 0;
}
