#!/usr/bin/env python3
"""wire.py -- talk to tokend's socket byte by byte, for the tests.

usage: wire.py SOCKET request TYPE [KEY=VALUE ...]
       wire.py SOCKET case NAME
       wire.py SOCKET hold SECONDS
       wire.py SOCKET flood COUNT
       wire.py SOCKET serve MODE SECONDS

request  sends one well-formed request (TYPE and KEYs are the numbers of
         common/proto.h; VALUE is an unsigned integer, "true"/"false",
         or text prefixed with "s:") and prints the answer as
         "status=N type=T" followed by the other keys "K=V".
case     sends one malformed input (see CASES) and prints what came back:
         "closed" when the daemon closed the connection without an
         answer, "answer status=N then closed" when it answered and then
         closed, "answer status=N then open" or "no answer, open" when it
         did neither within the deadline.
hold     connects, sends two bytes of a header and keeps the connection
         open for SECONDS (a slow client), then prints what happened.
flood    runs every case COUNT times in a row, one connection each.
serve    is a fake tokend for the PAM module's error paths: it listens on
         SOCKET (mode 0666) for SECONDS and answers every request
         according to MODE: "silent" (reads, never answers), "close"
         (closes at once), "garbage" (a frame of non-CBOR bytes),
         "wrongtype" (a well-formed answer of another message type),
         "huge" (a length over the limit), "short" (half an answer).

A tiny CBOR encoder and decoder (definite lengths only) is included so
that no module beyond the standard library is needed.
"""
import socket
import struct
import sys
import time

DEADLINE = 5.0
VERSION = 1


def enc_head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    if n < 0x100:
        return bytes([major << 5 | 24, n])
    if n < 0x10000:
        return bytes([major << 5 | 25]) + struct.pack(">H", n)
    if n < 0x100000000:
        return bytes([major << 5 | 26]) + struct.pack(">I", n)
    return bytes([major << 5 | 27]) + struct.pack(">Q", n)


def enc(v):
    if isinstance(v, bool):
        return b"\xf5" if v else b"\xf4"
    if isinstance(v, int):
        return enc_head(0, v) if v >= 0 else enc_head(1, -1 - v)
    if isinstance(v, bytes):
        return enc_head(2, len(v)) + v
    if isinstance(v, str):
        b = v.encode()
        return enc_head(3, len(b)) + b
    if isinstance(v, list):
        return enc_head(4, len(v)) + b"".join(enc(x) for x in v)
    if isinstance(v, dict):
        return enc_head(5, len(v)) + b"".join(
            enc(k) + enc(x) for k, x in v.items())
    raise TypeError(v)


class Short(Exception):
    pass


def dec(b, i=0):
    if i >= len(b):
        raise Short()
    ib = b[i]
    major, info = ib >> 5, ib & 31
    i += 1
    if info < 24:
        n = info
    elif info in (24, 25, 26, 27):
        size = 1 << (info - 24)
        if i + size > len(b):
            raise Short()
        n = int.from_bytes(b[i:i + size], "big")
        i += size
    else:
        raise ValueError("indefinite or reserved length")
    if major == 0:
        return n, i
    if major == 1:
        return -1 - n, i
    if major in (2, 3):
        if i + n > len(b):
            raise Short()
        s = b[i:i + n]
        return (s if major == 2 else s.decode()), i + n
    if major == 4:
        out = []
        for _ in range(n):
            x, i = dec(b, i)
            out.append(x)
        return out, i
    if major == 5:
        out = {}
        for _ in range(n):
            k, i = dec(b, i)
            x, i = dec(b, i)
            out[k] = x
        return out, i
    if major == 7:
        return {20: False, 21: True, 22: None}.get(info, ("simple", info)), i
    raise ValueError("tag")


def frame(body):
    return struct.pack(">I", len(body)) + body


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(DEADLINE)
    s.connect(path)
    return s


def read_exact(s, n, deadline):
    buf = b""
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout()
        s.settimeout(left)
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError(len(buf))
        buf += chunk
    return buf


def read_answer(s, deadline):
    """Returns the decoded answer map, None on EOF before any byte,
    or raises socket.timeout."""
    try:
        hdr = read_exact(s, 4, deadline)
    except EOFError as e:
        if e.args[0] == 0:
            return None
        raise
    n = struct.unpack(">I", hdr)[0]
    if n == 0 or n > 65536:
        raise ValueError("bad answer length %d" % n)
    body = read_exact(s, n, deadline)
    m, end = dec(body)
    if end != len(body) or not isinstance(m, dict):
        raise ValueError("bad answer body")
    return m


def closed_after(s, deadline):
    """True when the peer closes (EOF or reset) before the deadline."""
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            s.settimeout(left)
            if not s.recv(4096):
                return True
    except socket.timeout:
        return False
    except (ConnectionResetError, BrokenPipeError):
        return True


def parse_value(v):
    if v.startswith("s:"):
        return v[2:]
    if v in ("true", "false"):
        return v == "true"
    return int(v)


def fmt_answer(m):
    parts = ["status=%s" % m.get(2), "type=%s" % m.get(1)]
    for k in sorted(k for k in m if k not in (0, 1, 2)):
        parts.append("%s=%s" % (k, m[k]))
    return " ".join(parts)


def do_request(path, typ, kvs):
    m = {0: VERSION, 1: int(typ)}
    for kv in kvs:
        k, v = kv.split("=", 1)
        m[int(k)] = parse_value(v)
    s = connect(path)
    s.sendall(frame(enc(m)))
    a = read_answer(s, time.monotonic() + DEADLINE)
    print("closed" if a is None else fmt_answer(a))


STATUS_REQ = enc({0: VERSION, 1: 1})

CASES = {
    # a zero length: invalid header
    "zero-length": b"\x00\x00\x00\x00",
    # one byte over the limit, then nothing
    "oversized": struct.pack(">I", 65537),
    # the largest length there is, with some body bytes
    "huge": b"\xff\xff\xff\xff" + b"\xa0" * 64,
    # a valid length with bytes that are not CBOR at all
    "garbage": frame(b"\xff\xfe\xfd\xfc\x1c\x1d"),
    # CBOR, but not a map
    "not-a-map": frame(enc([0, 1])),
    # a map with a text key
    "text-key": frame(enc({"version": 1, "type": 1})),
    # a valid STATUS map followed by trailing bytes inside the frame
    "trailing": frame(STATUS_REQ + b"\x00"),
    # a map that claims more entries than it has
    "truncated-map": frame(b"\xa5\x00\x01\x01\x01"),
    # wrong protocol version
    "bad-version": frame(enc({0: 99, 1: 1})),
    # no version at all
    "no-version": frame(enc({1: 1})),
    # unknown message type
    "bad-type": frame(enc({0: VERSION, 1: 250})),
    # a type given as text
    "type-as-text": frame(enc({0: VERSION, 1: "1"})),
    # duplicate key (hand-encoded: the encoder cannot produce it)
    "duplicate-key": frame(b"\xa3\x00\x01\x01\x01\x01\x01"),
    # USER_STATUS with the user as an integer
    "user-wrong-type": frame(enc({0: VERSION, 1: 2, 10: 5})),
    # USER_STATUS without its required user
    "missing-field": frame(enc({0: VERSION, 1: 2})),
    # a key the STATUS request does not allow
    "unknown-key": frame(enc({0: VERSION, 1: 1, 200: 1})),
    # an over-long user name (limit 256 bytes)
    "long-user": frame(enc({0: VERSION, 1: 2, 10: "a" * 300})),
    # an indefinite-length map
    "indefinite": frame(b"\xbf\x00\x01\x01\x01\xff"),
    # an answer-only key (status) in a request
    "status-in-request": frame(enc({0: VERSION, 1: 1, 2: 0})),
    # a text with a NUL byte in it
    "nul-in-text": frame(enc({0: VERSION, 1: 2, 10: "ali\x00ce"})),
    # a frame header that promises 100 bytes, 10 sent, then EOF
    "short-body": struct.pack(">I", 100) + b"\xa2" * 10,
}


def do_case(path, name):
    data = CASES[name]
    s = connect(path)
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        print("closed")
        return
    if name == "short-body":
        s.shutdown(socket.SHUT_WR)
    deadline = time.monotonic() + DEADLINE
    try:
        a = read_answer(s, deadline)
    except socket.timeout:
        print("no answer, open")
        return
    except (ConnectionResetError, BrokenPipeError, EOFError):
        print("closed")
        return
    if a is None:
        print("closed")
        return
    after = "closed" if closed_after(s, deadline) else "open"
    print("answer status=%s then %s" % (a.get(2), after))


def do_hold(path, secs):
    s = connect(path)
    s.sendall(b"\x00\x00")
    deadline = time.monotonic() + float(secs)
    print("closed" if closed_after(s, deadline) else "open")


def fake_answer(mode, req):
    if mode == "garbage":
        return frame(b"\xff\xfe\xfd\xfc")
    if mode == "huge":
        return struct.pack(">I", 0x7fffffff) + b"\xa0" * 16
    typ = req.get(1, 1) if isinstance(req, dict) else 1
    if mode == "wrongtype":
        # a valid STATUS answer, whatever was asked
        other = 1 if typ != 1 else 2
        if other == 1:
            return frame(enc({0: VERSION, 1: 1, 2: 0, 50: "fake", 51: 1,
                              52: 0, 53: 0, 56: 0, 54: True,
                              55: "sqlite"}))
        return frame(enc({0: VERSION, 1: 2, 2: 0, 40: 1, 41: False,
                          42: 0}))
    if mode == "short":
        body = enc({0: VERSION, 1: typ, 2: 0})
        return struct.pack(">I", len(body) + 10) + body
    raise ValueError(mode)


def do_serve(path, mode, secs):
    import os
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    os.chmod(path, 0o666)
    srv.listen(16)
    end = time.monotonic() + float(secs)
    held = []
    print("ready", flush=True)
    while time.monotonic() < end:
        srv.settimeout(max(0.05, end - time.monotonic()))
        try:
            c, _ = srv.accept()
        except socket.timeout:
            break
        print("accepted", flush=True)
        if mode == "close":
            c.close()
            continue
        try:
            req = read_answer(c, time.monotonic() + DEADLINE)
        except (OSError, ValueError, Short, EOFError):
            c.close()
            continue
        if mode == "silent":
            held.append(c)
            continue
        try:
            c.sendall(fake_answer(mode, req))
        except OSError:
            pass
        if mode == "short":
            held.append(c)
        else:
            c.close()
    for c in held:
        c.close()
    srv.close()
    os.unlink(path)


def do_flood(path, count):
    for _ in range(int(count)):
        for name in CASES:
            try:
                s = connect(path)
                s.sendall(CASES[name])
                s.close()
            except OSError:
                pass
    print("done")


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    path, cmd, args = argv[1], argv[2], argv[3:]
    try:
        if cmd == "request" and args:
            do_request(path, args[0], args[1:])
        elif cmd == "case" and len(args) == 1 and args[0] in CASES:
            do_case(path, args[0])
        elif cmd == "cases":
            print("\n".join(CASES))
        elif cmd == "hold" and len(args) == 1:
            do_hold(path, args[0])
        elif cmd == "flood" and len(args) == 1:
            do_flood(path, args[0])
        elif cmd == "serve" and len(args) == 2:
            do_serve(path, args[0], args[1])
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except (OSError, ValueError, Short, EOFError) as e:
        print("error: %s" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
