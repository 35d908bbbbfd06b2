/*
 * tty.c -- a secret asked on the terminal with echo off.
 *
 * MUST:
 * 1. The prompt and the answer use /dev/tty only: stdout may be a pipe
 *    carrying --json, stdin may be a script.
 * 2. The terminal's settings come back whatever happens: a signal while
 *    echo is off is caught, the settings restored, then the signal is
 *    raised again so that ^C still ends the program and ^Z still stops
 *    it.
 * 3. Every byte typed is wiped from our buffers.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "tty.h"
#include "wipe.h"

#define TTY_PATH	"/dev/tty"

/* the signals that must not leave the terminal without echo */
static const int sigs[] = {
	SIGALRM, SIGHUP, SIGINT, SIGPIPE, SIGQUIT, SIGTERM, SIGTSTP,
	SIGTTIN, SIGTTOU
};
#define NSIGS	(sizeof(sigs) / sizeof(sigs[0]))

static volatile sig_atomic_t caught;

static void
on_signal(int sig)
{
	caught = sig;
}

static void
write_all(int fd, const char *s, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

int
tk_tty_secret(const char *prompt, char *buf, size_t len)
{
	struct sigaction sa, old[NSIGS];
	struct termios saved, quiet;
	size_t i, n = 0;
	int fd, r = TK_TTY_OK, sig, echo_off = 0, toolong = 0;
	ssize_t got;
	char ch;

	if (len == 0)
		return (TK_TTY_LONG);
	tk_memzero(buf, len);
	if ((fd = open(TTY_PATH, O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1)
		return (TK_TTY_NONE);
 restart:
	n = 0;
	r = TK_TTY_OK;
	echo_off = 0;
	toolong = 0;

	caught = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART: read() must return */
	for (i = 0; i < NSIGS; i++)
		(void)sigaction(sigs[i], &sa, &old[i]);

	if (tcgetattr(fd, &saved) == 0) {
		quiet = saved;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		if (tcsetattr(fd, TCSAFLUSH, &quiet) == 0)
			echo_off = 1;
	}
	write_all(fd, prompt, strlen(prompt));

	for (;;) {
		got = read(fd, &ch, 1);
		if (got < 0 && errno == EINTR && caught == 0)
			continue;
		if (got <= 0 || caught != 0) {
			r = TK_TTY_EOF;
			break;
		}
		if (ch == '\n' || ch == '\r')
			break;
		if (n + 1 < len)
			buf[n++] = ch;
		else
			toolong = 1;
	}
	ch = '\0';
	if (r == TK_TTY_OK && toolong)
		r = TK_TTY_LONG;
	if (r != TK_TTY_OK)
		tk_memzero(buf, len);

	/* echo was off: the user's Enter did not move the cursor */
	write_all(fd, "\n", 1);
	if (echo_off)
		(void)tcsetattr(fd, TCSAFLUSH, &saved);
	for (i = 0; i < NSIGS; i++)
		(void)sigaction(sigs[i], &old[i], NULL);
	if ((sig = caught) != 0) {
		caught = 0;
		(void)raise(sig);
		/* stopped (^Z) and continued: ask again */
		if (sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
			goto restart;
	}
	(void)close(fd);
	return (r);
}
