#!/usr/bin/env python3
"""activate.py -- start a program the way systemd starts tokend.service
from tokend.socket: a listening UNIX stream socket passed as fd 3
(LISTEN_FDS=1, LISTEN_PID), and a notification socket (NOTIFY_SOCKET)
on which the program must report READY=1.

usage: activate.py SOCKET-PATH READY-FILE -- PROGRAM ARGS...

Creates and listens on SOCKET-PATH (mode 0666, as tokend.socket does),
starts PROGRAM, waits at most 10 s for READY=1 and then writes
"READY <pid>" to READY-FILE; then collects further notifications until
the program exits, writes "EXIT <status>" and every notification to
READY-FILE, and exits with the program's exit status (124 when READY=1
never came)."""
import os
import socket
import sys
import time

def main():
    sep = sys.argv.index("--")
    path, ready_file = sys.argv[1:sep]
    argv = sys.argv[sep + 1:]
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o666)
    listener.listen(16)
    notify_path = path + ".notify"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    notify.settimeout(0.2)

    pid = os.fork()
    if pid == 0:
        fd = listener.fileno()
        if fd != 3:
            os.dup2(fd, 3)
        os.set_inheritable(3, True)
        os.environ["LISTEN_FDS"] = "1"
        os.environ["LISTEN_PID"] = str(os.getpid())
        os.environ["NOTIFY_SOCKET"] = notify_path
        os.execv(argv[0], argv)
    listener.close()

    log = []
    ready = False
    deadline = time.monotonic() + 10
    status = None
    while status is None:
        try:
            msg = notify.recv(4096).decode("utf-8", "replace")
            log.append(msg.replace("\n", " ").strip())
            if "READY=1" in msg.split("\n") and not ready:
                ready = True
                with open(ready_file, "w") as f:
                    f.write("READY %d\n" % pid)
        except socket.timeout:
            pass
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = os.waitstatus_to_exitcode(st)
        elif not ready and time.monotonic() > deadline:
            os.kill(pid, 15)
            os.waitpid(pid, 0)
            status = 124
    with open(ready_file, "a") as f:
        f.write("EXIT %d\n" % status)
        for m in log:
            f.write("NOTIFY %s\n" % m)
    os.unlink(notify_path)
    sys.exit(status if ready else 124)

main()
