#!/usr/bin/env python3
"""abuse.py -- hostile clients for tokend's socket (t3_abuse.sh).

usage: abuse.py SOCKET CASE [ARGS]

Each case prints one line of "key=value" words describing what tokend
did, and never runs longer than its own bound.

  zero                4 zero bytes of header
  oversized           a header announcing 2^31-1 bytes
  over-limit          a header announcing 65537 bytes
  truncated SECONDS   half a STATUS request, then silence
  slow SECONDS        a STATUS request one byte a second
  idle COUNT SECONDS  COUNT connections that send nothing
  noread SECONDS      pipelined STATUS requests, never reading answers
  pipeline N          N STATUS requests in one write, then read N answers
  answer-shaped       a map with a status (an answer) sent as a request
  out-of-order        ENROLL_CONFIRM of a credential never begun
"""
import socket
import struct
import sys
import time

STATUS_RQ = bytes([0xa2, 0x00, 0x01, 0x01, 0x01])   # {0: 1, 1: 1}


def frame(body):
    return struct.pack(">I", len(body)) + body


def conn(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    return s


def wait_closed(s, secs):
    """seconds until the peer closed (after reading any answer), or None"""
    t0 = time.monotonic()
    s.settimeout(0.1)
    got = b""
    while time.monotonic() - t0 < secs:
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - t0, got
        if not d:
            return time.monotonic() - t0, got
        got += d
    return None, got


def read_answer(s, deadline=5):
    s.settimeout(deadline)
    h = b""
    while len(h) < 4:
        d = s.recv(4 - len(h))
        if not d:
            return None
        h += d
    n = struct.unpack(">I", h)[0]
    b = b""
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d:
            return None
        b += d
    return b


def status_of(body):
    # find key 2 (status) followed by a small uint in the map
    for i in range(1, len(body) - 1):
        if body[i] == 0x02 and body[i + 1] < 24 and body[i - 1] < 24:
            return body[i + 1]
    return -1


def one_shot(path, data, secs=3):
    s = conn(path)
    s.sendall(data)
    t, got = wait_closed(s, secs)
    s.close()
    return "closed=%s answer_bytes=%d" % (
        "no" if t is None else "%.1f" % t, len(got))


def main(argv):
    path, case = argv[1], argv[2]
    args = argv[3:]
    if case == "zero":
        print(one_shot(path, b"\0\0\0\0"))
    elif case == "oversized":
        print(one_shot(path, struct.pack(">I", 0x7fffffff) + b"x" * 100))
    elif case == "over-limit":
        print(one_shot(path, struct.pack(">I", 65537) + b"x" * 100))
    elif case == "truncated":
        secs = float(args[0])
        print(one_shot(path, frame(STATUS_RQ)[:6], secs))
    elif case == "slow":
        secs = float(args[0])
        s = conn(path)
        data = frame(STATUS_RQ)
        t0 = time.monotonic()
        sent = 0
        closed = None
        for b in data:
            if time.monotonic() - t0 > secs:
                break
            try:
                s.send(bytes([b]))
                sent += 1
            except OSError:
                closed = time.monotonic() - t0
                break
            time.sleep(1)
        ans = None
        if sent == len(data) and closed is None:
            try:
                ans = read_answer(s, 3)
            except OSError:
                ans = None
        s.close()
        print("sent=%d of=%d answered=%s closed=%s" % (
            sent, len(data), "yes" if ans else "no",
            "no" if closed is None else "%.1f" % closed))
    elif case == "idle":
        count, secs = int(args[0]), float(args[1])
        socks = []
        refused = 0
        for _ in range(count):
            try:
                socks.append(conn(path))
            except OSError:
                refused += 1
        # which ones tokend closed at once (over max_connections)
        time.sleep(0.5)
        early = 0
        for s in socks:
            s.settimeout(0)
            try:
                if s.recv(1) == b"":
                    early += 1
            except BlockingIOError:
                pass
            except OSError:
                early += 1
        print("connected=%d refused=%d closed_at_once=%d" % (
            len(socks), refused, early), flush=True)
        time.sleep(secs)
        late = 0
        for s in socks:
            try:
                if s.recv(1) == b"":
                    late += 1
            except BlockingIOError:
                pass
            except OSError:
                late += 1
            s.close()
        print("closed_after_%gs=%d" % (secs, late))
    elif case == "noread":
        secs = float(args[0])
        s = conn(path)
        s.setblocking(False)
        data = frame(STATUS_RQ) * 1000
        t0 = time.monotonic()
        sent = 0
        closed = None
        while time.monotonic() - t0 < secs:
            try:
                sent += s.send(data)
            except BlockingIOError:
                time.sleep(0.05)
            except OSError:
                closed = time.monotonic() - t0
                break
        s.close()
        print("requests_sent=%d closed=%s" % (
            sent // len(frame(STATUS_RQ)),
            "no" if closed is None else "%.1f" % closed))
    elif case == "pipeline":
        n = int(args[0])
        s = conn(path)
        s.sendall(frame(STATUS_RQ) * n)
        got = 0
        while got < n:
            a = read_answer(s)
            if a is None or status_of(a) != 0:
                break
            got += 1
        s.close()
        print("answered_ok=%d" % got)
    elif case == "answer-shaped":
        body = bytes([0xa3, 0x00, 0x01, 0x01, 0x01, 0x02, 0x00])
        s = conn(path)
        s.sendall(frame(body))
        a = read_answer(s)
        print("status=%s" % (status_of(a) if a else "none"))
    elif case == "out-of-order":
        # {0: 1, 1: 5, 10: "alice", 20: 999999, 11: "123456"}
        body = (bytes([0xa5, 0x00, 0x01, 0x01, 0x05, 0x0a, 0x65]) +
                b"alice" + bytes([0x14, 0x1a]) + struct.pack(">I", 999999) +
                bytes([0x0b, 0x66]) + b"123456")
        s = conn(path)
        s.sendall(frame(body))
        a = read_answer(s)
        print("status=%s" % (status_of(a) if a else "none"))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
