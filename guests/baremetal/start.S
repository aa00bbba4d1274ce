/* SPDX-License-Identifier: MIT */
/*
 * Entry from QEMU's -kernel ELF loader: CPU 0 at EL1, MMU and caches off,
 * interrupts masked (they stay masked: see notify.h). Stack, .bss, the
 * exception vectors, then main(), which turns the MMU on first. Until
 * then every access is to Device memory: aligned ones only.
 */
	.section .text.start, "ax"
	.global _start
_start:
	mrs	x0, mpidr_el1
	and	x0, x0, #0xff
	cbnz	x0, park		/* other CPUs (with -smp) just wait */
	ldr	x0, =__stack_top
	mov	sp, x0
	adr	x0, vectors
	msr	vbar_el1, x0
	isb
	ldr	x0, =__bss_start
	ldr	x1, =__bss_end
1:	cmp	x0, x1
	b.hs	2f
	str	xzr, [x0], #8
	b	1b
2:	bl	main
park:	wfe
	b	park

/* 16 entries of 128 bytes; each calls fault(ESR, ELR, FAR, entry). */
	.balign	2048
vectors:
	.set	entry, 0
	.rept	16
	.balign	128
	mov	x3, #entry
	b	trap
	.set	entry, entry + 1
	.endr
trap:
	mrs	x0, esr_el1
	mrs	x1, elr_el1
	mrs	x2, far_el1
	bl	fault
	b	park
