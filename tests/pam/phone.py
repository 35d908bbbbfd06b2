#!/usr/bin/env python3
"""phone.py -- play the authenticator app for an interactive enrollment.

usage: phone.py COMMAND [ARG ...]

Runs COMMAND (for example "tokenadm -c CONF enroll totp USER") on a
pseudo-terminal, so it behaves as on an administrator's terminal: it
shows the QR code and the otpauth:// URI, then asks for a code.  Like a
phone that scanned the QR code, this reads the URI from the screen,
computes the current code with oathtool and types it in.

Everything COMMAND writes is copied to stdout.  The last line printed
is "phone: code NNNNNN" (the code typed), and the exit status is
COMMAND's (124 when it did not finish within 30 s).
"""
import os
import pty
import re
import select
import subprocess
import sys
import time
import urllib.parse

PROMPT = re.compile(rb"code[^\n]*: $")
URI = re.compile(rb"otpauth://totp/[!-~]+")


def code_for(uri):
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(uri).query)
    secret = q["secret"][0]
    alg = q.get("algorithm", ["SHA1"])[0].lower()
    digits = q.get("digits", ["6"])[0]
    period = q.get("period", ["30"])[0]
    mode = "--totp" if alg == "sha1" else "--totp=" + alg
    return subprocess.run(
        ["oathtool", mode, "-d", digits, "-s", period + "s", "-b", secret],
        check=True, capture_output=True, text=True).stdout.strip()


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execvp(argv[1], argv[1:])
        finally:
            os._exit(127)
    seen = b""
    typed = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if not r:
            continue
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        seen += data
        if typed is None and PROMPT.search(seen):
            m = URI.search(seen)
            if m is None:
                break
            typed = code_for(m.group(0).decode())
            os.write(fd, typed.encode() + b"\n")
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        print("\nphone: timed out")
        return 124
    _, status = os.waitpid(pid, 0)
    print("\nphone: code %s" % typed)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
