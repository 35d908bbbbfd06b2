#!/usr/bin/env python3
"""timing.py -- T11: how long tokend takes to answer TOTP_VERIFY.

usage: timing.py SOCKET N CASE=USER:CODE ...

Sends N requests of every case, interleaved (case 1, 2, ..., 1, 2, ...)
so that a drift of the machine's speed affects all cases alike, and
after every 40 rounds unlocks each user (USER_UNLOCK, untimed) so that
no lock or delay changes the path.  Prints one line a case:
"CASE median_us=M p25_us=A p75_us=B".
"""
import socket
import statistics
import struct
import sys
import time


def enc_text(s):
    b = s.encode()
    assert len(b) < 24
    return bytes([0x60 | len(b)]) + b


def body(typ, user, code=None):
    n = 3 if code is None else 4
    b = bytes([0xa0 | n, 0x00, 0x01, 0x01, typ, 0x0a]) + enc_text(user)
    if code is not None:
        b += bytes([0x0b]) + enc_text(code)
    return b


def call(path, b):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    t0 = time.perf_counter_ns()
    s.sendall(struct.pack(">I", len(b)) + b)
    h = s.recv(4, socket.MSG_WAITALL)
    n = struct.unpack(">I", h)[0]
    ans = s.recv(n, socket.MSG_WAITALL)
    t1 = time.perf_counter_ns()
    s.close()
    return (t1 - t0) / 1000.0, ans


def main(argv):
    path, n = argv[1], int(argv[2])
    cases = []
    for a in argv[3:]:
        name, rest = a.split("=", 1)
        user, code = rest.split(":", 1)
        cases.append((name, user, code))
    times = {c[0]: [] for c in cases}
    for i in range(n):
        if i % 40 == 0:
            for _, user, _ in cases:
                call(path, body(8, user))
        for name, user, code in cases:
            us, _ = call(path, body(3, user, code))
            times[name].append(us)
    for name, _, _ in cases:
        q = statistics.quantiles(times[name], n=4)
        print("%s median_us=%.0f p25_us=%.0f p75_us=%.0f" % (
            name, statistics.median(times[name]), q[0], q[2]))


if __name__ == "__main__":
    main(sys.argv)
