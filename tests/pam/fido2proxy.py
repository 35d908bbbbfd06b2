#!/usr/bin/env python3
"""fido2proxy.py -- record and replay what the PAM module sends tokend.

usage: fido2proxy.py proxy REAL-SOCKET LISTEN-SOCKET DIR SECONDS
       fido2proxy.py replay REAL-SOCKET FILE

proxy   listens on LISTEN-SOCKET (mode 0666) for SECONDS, passes every
        connection through to REAL-SOCKET unchanged, and writes the bytes
        each client sent into DIR/req.N (N = 1, 2, ...).
replay  sends the bytes of FILE (one recorded request, as sent) to
        REAL-SOCKET and prints the answer's status as "status=N".
"""
import os
import select
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wire  # noqa: E402


def pipe(client, real_path, out_path):
    upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    upstream.connect(real_path)
    sent = b""
    socks = [client, upstream]
    try:
        while True:
            r, _, _ = select.select(socks, [], [], 30)
            if not r:
                break
            done = False
            for s in r:
                data = s.recv(65536)
                if not data:
                    done = True
                    break
                if s is client:
                    sent += data
                    upstream.sendall(data)
                else:
                    client.sendall(data)
            if done:
                break
    finally:
        with open(out_path, "wb") as f:
            f.write(sent)
        client.close()
        upstream.close()


def proxy(real_path, listen_path, outdir, secs):
    try:
        os.unlink(listen_path)
    except FileNotFoundError:
        pass
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(listen_path)
    os.chmod(listen_path, 0o666)
    ls.listen(16)
    ls.settimeout(0.2)
    n = 0
    end = time.monotonic() + secs
    while time.monotonic() < end:
        try:
            c, _ = ls.accept()
        except socket.timeout:
            continue
        n += 1
        threading.Thread(target=pipe, daemon=True,
                         args=(c, real_path,
                               os.path.join(outdir, "req.%d" % n))).start()
    ls.close()
    return 0


def replay(real_path, path):
    with open(path, "rb") as f:
        data = f.read()
    s = wire.connect(real_path)
    s.sendall(data)
    m = wire.read_answer(s, time.monotonic() + wire.DEADLINE)
    s.close()
    if m is None:
        print("no answer")
        return 1
    print("status=%d" % m.get(2, -1))
    return 0


def main(argv):
    if len(argv) == 6 and argv[1] == "proxy":
        return proxy(argv[2], argv[3], argv[4], float(argv[5]))
    if len(argv) == 4 and argv[1] == "replay":
        return replay(argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
