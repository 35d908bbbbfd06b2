#!/usr/bin/env python3
"""fakedaemon.py -- a fake tokend that answers USER_STATUS correctly
(one TOTP factor, not locked) and TOTP_VERIFY with a chosen corruption,
for the stack oracle (t1_answers.sh).

usage: fakedaemon.py SOCKET MODE SECONDS
       fakedaemon.py modes

It listens on SOCKET (mode 0666) for at most SECONDS, serving one
connection at a time, prints "ready" once listening and one line
"answered MODE TYPE" per request.  With MODE "ok" it says yes to every
code (the control: the PAM module must then let the person in); every
other mode must make the module fail closed.  Modes starting with
"us-" corrupt the USER_STATUS answer instead.
"""
import os
import socket
import struct
import sys
import time

VERSION = 1
T_USER_STATUS, T_TOTP_VERIFY = 2, 3
K_VERSION, K_TYPE, K_STATUS, K_CRED = 0, 1, 2, 20
K_FACTORS, K_LOCKED, K_FAILURES = 40, 41, 42


def head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    for ai, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | ai]) + n.to_bytes(size, "big")
    raise ValueError(n)


def enc(v):
    """CBOR for bool, int, str, bytes, list, and dict or list of pairs"""
    if v is True:
        return b"\xf5"
    if v is False:
        return b"\xf4"
    if isinstance(v, int):
        return head(0, v) if v >= 0 else head(1, -1 - v)
    if isinstance(v, str):
        b = v.encode()
        return head(3, len(b)) + b
    if isinstance(v, bytes):
        return head(2, len(v)) + v
    if isinstance(v, Pairs):
        return head(5, len(v.items)) + b"".join(
            enc(k) + enc(x) for k, x in v.items)
    if isinstance(v, dict):
        return enc(Pairs(list(v.items())))
    if isinstance(v, list):
        return head(4, len(v)) + b"".join(enc(x) for x in v)
    raise TypeError(v)


class Pairs:
    """a map written pair by pair, so that a key may repeat"""
    def __init__(self, items):
        self.items = items


class Raw:
    def __init__(self, body):
        self.body = body


def frame(body):
    return struct.pack(">I", len(body)) + body


def user_status_ok():
    return {K_VERSION: VERSION, K_TYPE: T_USER_STATUS, K_STATUS: 0,
            K_FACTORS: 1, K_LOCKED: False, K_FAILURES: 0}


def verify(status=0):
    return {K_VERSION: VERSION, K_TYPE: T_TOTP_VERIFY, K_STATUS: status}


OK_VERIFY = enc(verify(0))

# mode -> bytes to send as the answer to TOTP_VERIFY (a whole frame),
# or None for "close without answering"
VERIFY_MODES = {
    "ok": frame(enc(verify(0) | {K_CRED: 1})),
    "garbage": frame(b"\xff\x00 this is not CBOR \x13\x37"),
    "zero-length": struct.pack(">I", 0),
    "oversized": struct.pack(">I", 0x7fffffff) + OK_VERIFY,
    "over-limit": struct.pack(">I", 65537) + OK_VERIFY,
    "truncated-header": b"\x00\x00",
    "truncated-body": struct.pack(">I", len(OK_VERIFY) + 5) + OK_VERIFY,
    "short-body": struct.pack(">I", len(OK_VERIFY)) + OK_VERIFY[:-1],
    "close": None,
    "wrong-type": frame(enc({K_VERSION: VERSION, K_TYPE: T_USER_STATUS,
                             K_STATUS: 0, K_FACTORS: 1, K_LOCKED: False,
                             K_FAILURES: 0})),
    "status-type-1": frame(enc({K_VERSION: VERSION, K_TYPE: 1,
                                K_STATUS: 0})),
    "no-status": frame(enc({K_VERSION: VERSION, K_TYPE: T_TOTP_VERIFY})),
    "no-version": frame(enc({K_TYPE: T_TOTP_VERIFY, K_STATUS: 0})),
    "no-type": frame(enc({K_VERSION: VERSION, K_STATUS: 0})),
    "version-2": frame(enc(verify(0) | {K_VERSION: 2})),
    "version-0": frame(enc(verify(0) | {K_VERSION: 0})),
    "status-text": frame(enc(verify("0"))),
    "status-negative": frame(enc(verify(-1))),
    "status-huge": frame(enc(verify(2 ** 64 - 1))),
    "status-13": frame(enc(verify(13))),
    "status-bool": frame(enc(verify(False))),
    "status-float": frame(head(5, 3) + enc(K_VERSION) + enc(VERSION) +
                          enc(K_TYPE) + enc(T_TOTP_VERIFY) +
                          enc(K_STATUS) + b"\xf9\x00\x00"),
    "status-tagged": frame(head(5, 3) + enc(K_VERSION) + enc(VERSION) +
                           enc(K_TYPE) + enc(T_TOTP_VERIFY) +
                           enc(K_STATUS) + b"\xc1\x00"),
    "dup-status-ok-last": frame(enc(Pairs([(K_VERSION, VERSION),
                                           (K_TYPE, T_TOTP_VERIFY),
                                           (K_STATUS, 1),
                                           (K_STATUS, 0)]))),
    "dup-status-ok-first": frame(enc(Pairs([(K_VERSION, VERSION),
                                            (K_TYPE, T_TOTP_VERIFY),
                                            (K_STATUS, 0),
                                            (K_STATUS, 1)]))),
    "dup-type": frame(enc(Pairs([(K_VERSION, VERSION),
                                 (K_TYPE, T_USER_STATUS),
                                 (K_TYPE, T_TOTP_VERIFY),
                                 (K_STATUS, 0)]))),
    "unknown-key": frame(enc(verify(0) | {99: 1})),
    "request-key": frame(enc(verify(0) | {10: "nobody"})),
    "trailing-byte": frame(OK_VERIFY + b"\x00"),
    "two-maps": frame(OK_VERIFY + OK_VERIFY),
    "indefinite-map": frame(b"\xbf" + enc(K_VERSION) + enc(VERSION) +
                            enc(K_TYPE) + enc(T_TOTP_VERIFY) +
                            enc(K_STATUS) + enc(0) + b"\xff"),
    "array": frame(enc([VERSION, T_TOTP_VERIFY, 0])),
    "empty-map": frame(b"\xa0"),
    "text-keys": frame(enc({"0": VERSION, "1": T_TOTP_VERIFY, "2": 0})),
    "map-count-short": frame(head(5, 4) + enc(K_VERSION) + enc(VERSION) +
                             enc(K_TYPE) + enc(T_TOTP_VERIFY) +
                             enc(K_STATUS) + enc(0)),
    "cred-text": frame(enc(verify(0) | {K_CRED: "1"})),
    "two-frames-bad-first": frame(b"\xff") + frame(OK_VERIFY),
}

# corruptions of the USER_STATUS answer (TOTP_VERIFY then says "ok")
US_MODES = {
    "us-no-factors": {K_VERSION: VERSION, K_TYPE: T_USER_STATUS,
                      K_STATUS: 0, K_LOCKED: False, K_FAILURES: 0},
    "us-no-locked": {K_VERSION: VERSION, K_TYPE: T_USER_STATUS,
                     K_STATUS: 0, K_FACTORS: 1, K_FAILURES: 0},
    "us-factors-text": {K_VERSION: VERSION, K_TYPE: T_USER_STATUS,
                        K_STATUS: 0, K_FACTORS: "1", K_LOCKED: False,
                        K_FAILURES: 0},
    "us-locked-int": {K_VERSION: VERSION, K_TYPE: T_USER_STATUS,
                      K_STATUS: 0, K_FACTORS: 1, K_LOCKED: 0,
                      K_FAILURES: 0},
    "us-status-text": {K_VERSION: VERSION, K_TYPE: T_USER_STATUS,
                       K_STATUS: "4"},
    "us-garbage": Raw(b"\xff\xfe"),
    "us-wrong-type": {K_VERSION: VERSION, K_TYPE: T_TOTP_VERIFY,
                      K_STATUS: 4},
}
# legitimate answers used as controls (not corruptions)
CONTROL_MODES = {"ok", "us-not-enrolled"}


def read_exact(c, n, deadline):
    buf = b""
    while len(buf) < n:
        c.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            d = c.recv(n - len(buf))
        except (socket.timeout, OSError):
            return None
        if not d:
            return None
        buf += d
    return buf


def read_request(c):
    deadline = time.monotonic() + 5
    h = read_exact(c, 4, deadline)
    if h is None:
        return None
    n = struct.unpack(">I", h)[0]
    if n == 0 or n > 65536:
        return None
    body = read_exact(c, n, deadline)
    if body is None:
        return None
    # the type: the module's encoder writes {0: version, 1: type, ...}
    # with small values, one byte each
    if len(body) < 5 or body[1] != K_VERSION or body[3] != K_TYPE:
        return None
    return body[4]


def answer(mode, typ):
    if typ == T_USER_STATUS:
        if mode == "us-not-enrolled":
            return frame(enc({K_VERSION: VERSION, K_TYPE: T_USER_STATUS,
                              K_STATUS: 0, K_FACTORS: 0, K_LOCKED: False,
                              K_FAILURES: 0}))
        if mode in US_MODES:
            m = US_MODES[mode]
            return frame(m.body if isinstance(m, Raw) else enc(m))
        return frame(enc(user_status_ok()))
    if typ == T_TOTP_VERIFY:
        if mode in US_MODES or mode == "us-not-enrolled":
            return VERIFY_MODES["ok"]
        return VERIFY_MODES[mode]
    return None


def serve(path, mode, secs):
    if mode not in VERIFY_MODES and mode not in US_MODES and \
            mode not in CONTROL_MODES:
        sys.exit("unknown mode " + mode)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    os.chmod(path, 0o666)
    s.listen(16)
    print("ready", flush=True)
    end = time.monotonic() + secs
    while time.monotonic() < end:
        s.settimeout(max(0.01, end - time.monotonic()))
        try:
            c, _ = s.accept()
        except socket.timeout:
            break
        with c:
            while True:
                typ = read_request(c)
                if typ is None:
                    break
                out = answer(mode, typ)
                print("answered", mode, typ, flush=True)
                if out is None:
                    break
                try:
                    c.sendall(out)
                except OSError:
                    break
                if typ == T_TOTP_VERIFY and mode.endswith("-keep"):
                    time.sleep(3)
    s.close()
    os.unlink(path)


def main(argv):
    if len(argv) == 2 and argv[1] == "modes":
        print(" ".join(sorted(set(VERIFY_MODES) | set(US_MODES))))
        return
    if len(argv) != 4:
        sys.exit(__doc__)
    serve(argv[1], argv[2], float(argv[3]))


if __name__ == "__main__":
    main(sys.argv)
