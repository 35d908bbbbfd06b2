/*
 * tty.h -- asking a secret (a security key's PIN) on the controlling
 * terminal with echo off, as readpassphrase(3) does.
 */
#ifndef TK_TTY_H
#define TK_TTY_H

#include <stddef.h>

/* results of tk_tty_secret() */
#define TK_TTY_OK	0	/* buf holds the line, without the newline */
#define TK_TTY_NONE	(-1)	/* no controlling terminal */
#define TK_TTY_EOF	(-2)	/* end of input, or a read error */
#define TK_TTY_LONG	(-3)	/* the line did not fit in buf */

/*
 * Writes `prompt' to /dev/tty (never to stdout or stderr), turns echo
 * off, reads one line into buf (len bytes, NUL included), and restores
 * the terminal, also when a signal (^C, ^Z, hang-up) arrives while the
 * user types: the typed bytes are wiped and the signal is then raised
 * again with its own disposition.  On any result but TK_TTY_OK, buf is
 * wiped (all len bytes).  The caller wipes buf after use.
 */
int tk_tty_secret(const char *prompt, char *buf, size_t len);

#endif /* TK_TTY_H */
