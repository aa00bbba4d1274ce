/* SPDX-License-Identifier: MIT */
/* The PL011 UART of QEMU's virt machine: the console and the shell. */
#ifndef BM_UART_H
#define BM_UART_H

void uart_init(void);
/* Blocking write of one character ('\n' goes out as "\r\n"). */
void uart_putc(char c);
/* The next received character, or -1 if none is waiting. */
int uart_getc(void);

#endif
