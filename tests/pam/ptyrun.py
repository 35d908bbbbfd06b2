#!/usr/bin/env python3
# ptyrun.py -- run a command with a pseudo-terminal as its controlling
# terminal (what it opens as /dev/tty) and answer the prompts it writes
# there, for tests of programs that read secrets from the terminal only
# (tokenadm asks a security key's PIN that way).  The command's stdin is
# /dev/null; its stdout and stderr are this program's.
#
#   ptyrun.py SECONDS [PROMPT-REGEX=ANSWER ...] -- COMMAND [ARGS...]
#
# Each answer is written once, after the terminal output (since the
# previous answer) matches its regex, in the order given.  What the
# command wrote to the terminal is copied to stderr at the end.  Exits
# with the command's status, or 124 when it ran longer than SECONDS
# (then it is killed).
import fcntl
import os
import re
import select
import subprocess
import sys
import termios
import time


def main(argv):
    if "--" not in argv or len(argv) < 3:
        print("usage: ptyrun.py SECONDS [REGEX=ANSWER ...] -- CMD...",
              file=sys.stderr)
        return 2
    sep = argv.index("--")
    limit = float(argv[1])
    pairs = []
    for spec in argv[2:sep]:
        regex, _, answer = spec.partition("=")
        pairs.append((re.compile(regex), answer))
    cmd = argv[sep + 1:]
    master, slave = os.openpty()

    def child_setup():
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                            preexec_fn=child_setup, pass_fds=(slave,))
    os.close(slave)
    seen = b""
    pending = b""
    deadline = time.monotonic() + limit
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            proc.kill()
            proc.wait()
            sys.stderr.write(seen.decode("utf-8", "replace"))
            return 124
        r, _, _ = select.select([master], [], [], min(left, 0.1))
        data = b""
        if r:
            try:
                data = os.read(master, 4096)
            except OSError:
                data = b""     # EIO: every copy of the slave is closed
            seen += data
            pending += data
        if pairs and pairs[0][0].search(pending.decode("utf-8",
                                                       "replace")):
            # give the command time to turn echo off and flush
            time.sleep(0.2)
            os.write(master, pairs[0][1].encode() + b"\n")
            pairs.pop(0)
            pending = b""
        if proc.poll() is not None and not data:
            break
    os.close(master)
    sys.stderr.write(seen.decode("utf-8", "replace"))
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv))
