#!/usr/bin/env python3
"""crash.py -- T7: kill tokend with SIGKILL at random points of a load of
verifications and enrollments, restart it, and check what survived.

Driven by t7_crash.sh through the environment:
  CRASH_TOKEND, CRASH_CONF, CRASH_SOCK, CRASH_DB, CRASH_LOG   paths
  CRASH_PRELOAD, CRASH_FAKEFILE   libfaketime and its timestamp file
  CRASH_T0        tokend's faked time at the start (epoch seconds)
  CRASH_KILLS     how many kills; CRASH_BUDGET  seconds at most
  CRASH_USERS     "user:BASE32SECRET ..." enrolled TOTP users (SHA1, 6, 30)
  CRASH_WRONG     "user:BASE32SECRET", who only ever types wrong codes
  CRASH_SEED      random seed (printed, so a failure can be replayed)

Each round: tokend's clock moves to a new TOTP step; a thread sends
each user's valid code once, the wrong user's wrong code a few times
and two ENROLL_BEGIN requests, one connection each; the main thread
kills tokend after a random delay within the load's usual length.  tokend is restarted at the same
time step and:
  1. every code whose "ok" reached the client is refused as a replay;
  2. every code that got no answer is accepted at most once now;
  3. the wrong user's failure count is at least the failures that were
     answered, at most those sent, and never lower than before;
  4. every enrollment that was answered exists in the database;
  5. PRAGMA integrity_check is "ok".
Prints "kills=N rounds=N ..." and one "FAIL ..." line per violation.
"""
import base64
import hashlib
import hmac
import os
import random
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import threading
import time

E = os.environ
SOCK, DB = E["CRASH_SOCK"], E["CRASH_DB"]


def head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    for ai, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | ai]) + n.to_bytes(size, "big")
    raise ValueError(n)


def enc(v):
    if isinstance(v, bool):
        return b"\xf5" if v else b"\xf4"
    if isinstance(v, int):
        return head(0, v)
    if isinstance(v, str):
        b = v.encode()
        return head(3, len(b)) + b
    if isinstance(v, dict):
        return head(5, len(v)) + b"".join(enc(k) + enc(x)
                                          for k, x in v.items())
    raise TypeError(v)


def dec(b, i=0):
    ib = b[i]
    major, ai = ib >> 5, ib & 31
    i += 1
    if ai < 24:
        n = ai
    elif ai <= 27:
        size = 1 << (ai - 24)
        n = int.from_bytes(b[i:i + size], "big")
        i += size
    else:
        raise ValueError("indefinite")
    if major == 0:
        return n, i
    if major in (2, 3):
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
            out[k], i = dec(b, i)
        return out, i
    if major == 7:
        return ai == 21, i
    raise ValueError("major %d" % major)


def request(m, timeout=5.0):
    """the answer map, or None when tokend died or said nothing"""
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(SOCK)
        body = enc(m)
        s.sendall(struct.pack(">I", len(body)) + body)
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
        s.close()
        return dec(b)[0]
    except OSError:
        return None


def totp(secret, t):
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", t // 30), hashlib.sha1).digest()
    o = mac[-1] & 15
    v = struct.unpack(">I", mac[o:o + 4])[0] & 0x7fffffff
    return "%06d" % (v % 1000000)


def verify(user, code):
    return request({0: 1, 1: 3, 10: user, 11: code})


def set_time(t):
    with open(E["CRASH_FAKEFILE"] + ".tmp", "w") as f:
        f.write(time.strftime("%Y-%m-%d %H:%M:%S\n", time.gmtime(t)))
    os.replace(E["CRASH_FAKEFILE"] + ".tmp", E["CRASH_FAKEFILE"])


def start():
    env = dict(os.environ)
    env.update(LD_PRELOAD=E["CRASH_PRELOAD"],
               FAKETIME_TIMESTAMP_FILE=E["CRASH_FAKEFILE"],
               FAKETIME_NO_CACHE="1", FAKETIME_DONT_FAKE_MONOTONIC="1")
    log = open(E["CRASH_LOG"], "ab")
    p = subprocess.Popen([E["CRASH_TOKEND"], "-c", E["CRASH_CONF"], "-f"],
                         env=env, stdout=log, stderr=log,
                         stdin=subprocess.DEVNULL)
    log.close()
    end = time.monotonic() + 10
    while time.monotonic() < end:
        if p.poll() is not None:
            return None
        a = request({0: 1, 1: 1}, timeout=1)
        if a is not None and a.get(2) == 0:
            return p
        time.sleep(0.01)
    p.kill()
    p.wait()
    return None


def db_query(sql, args=()):
    con = sqlite3.connect("file:%s?mode=ro" % DB, uri=True, timeout=5)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def main():
    seed = int(E.get("CRASH_SEED") or time.time())
    rnd = random.Random(seed)
    users = [u.split(":", 1) for u in E["CRASH_USERS"].split()]
    wrong, wsecret = E["CRASH_WRONG"].split(":", 1)
    kills_wanted = int(E["CRASH_KILLS"])
    budget = float(E["CRASH_BUDGET"])
    t = int(E["CRASH_T0"])
    fails = []
    kills = rounds = acked_ok = unacked = unacked_later_ok = 0
    acked_enroll = answered = 0
    sent_fail = acked_fail = 0       # since the last unlock
    last_failures = 0
    enroll_seq = 0
    t_start = time.monotonic()
    load_s = 0.02               # running mean of a load's length

    set_time(t)
    p = start()
    if p is None:
        print("FAIL tokend did not start")
        return 1
    while kills < kills_wanted and time.monotonic() - t_start < budget:
        rounds += 1
        t += 30
        set_time(t)
        results = []            # (kind, detail, answer)

        def load():
            nonlocal sent_fail, enroll_seq
            jobs = [("ok", u, s) for u, s in users]
            jobs += [("wrong", wrong, wsecret)] * 3
            jobs += [("enroll", None, None)] * 2
            rnd_local = random.Random(rnd.random())
            rnd_local.shuffle(jobs)
            for kind, u, s in jobs:
                if kind == "ok":
                    code = totp(s, t)
                    results.append((kind, (u, code), verify(u, code)))
                elif kind == "wrong":
                    sent_fail += 1
                    near = {totp(wsecret, t + d) for d in (-30, 0, 30)}
                    bad = next(c for c in ("000000", "111111", "222222")
                               if c not in near)
                    results.append((kind, u, verify(u, bad)))
                else:
                    enroll_seq += 1
                    name = "e%d" % enroll_seq
                    results.append((kind, name, request(
                        {0: 1, 1: 4, 10: name})))

        th = threading.Thread(target=load)
        t_load = time.monotonic()
        th.start()
        # kill somewhere inside the load: up to 1.2 times its usual length
        time.sleep(rnd.uniform(0, 1.2 * load_s))
        p.send_signal(signal.SIGKILL)
        p.wait()
        kills += 1
        th.join()
        if all(a is not None for _, _, a in results):
            load_s = 0.8 * load_s + 0.2 * (time.monotonic() - t_load)
        p = start()
        if p is None:
            fails.append("round %d: tokend did not restart" % rounds)
            break
        # 1, 2: codes
        for kind, d, a in results:
            if a is not None:
                answered += 1
            if kind == "ok":
                u, code = d
                again = verify(u, code)
                st = None if again is None else again.get(2)
                if a is not None and a.get(2) == 0:
                    acked_ok += 1
                    if st != 2:
                        fails.append("round %d: %s's code accepted before "
                                     "the kill answers %s after it"
                                     % (rounds, u, st))
                elif a is None:
                    unacked += 1
                    if st == 0:
                        unacked_later_ok += 1
                        third = verify(u, code)
                        if third is None or third.get(2) != 2:
                            fails.append("round %d: %s's code accepted "
                                         "twice" % (rounds, u))
                    elif st != 2:
                        fails.append("round %d: unanswered code of %s "
                                     "answers %s" % (rounds, u, st))
            elif kind == "wrong" and a is not None and \
                    a.get(2) in (1, 3):
                acked_fail += 1
            elif kind == "enroll" and a is not None and a.get(2) == 0:
                acked_enroll += 1
                n = db_query("SELECT count(*) FROM credentials WHERE "
                             "user = ?", (d,))[0][0]
                if n != 1:
                    fails.append("round %d: enrollment of %s answered ok "
                                 "but %d rows" % (rounds, d, n))
        # 3: the throttle
        row = db_query("SELECT failures, locked FROM throttle WHERE "
                       "user = ?", (wrong,))
        failures = row[0][0] if row else 0
        if not acked_fail <= failures <= sent_fail:
            fails.append("round %d: %s has %d failures; %d answered, %d "
                         "sent" % (rounds, wrong, failures, acked_fail,
                                   sent_fail))
        if failures < last_failures:
            fails.append("round %d: failures went back from %d to %d"
                         % (rounds, last_failures, failures))
        last_failures = failures
        if failures >= 80:
            a = request({0: 1, 1: 8, 10: wrong})
            if a is None or a.get(2) != 0:
                fails.append("round %d: unlock failed" % rounds)
            sent_fail = acked_fail = last_failures = 0
        # 5: the file
        ic = db_query("PRAGMA integrity_check")[0][0]
        if ic != "ok":
            fails.append("round %d: integrity_check %s" % (rounds, ic))
    if p is not None:
        p.terminate()
        p.wait()
    print("load_ms=%.1f" % (1000 * load_s))
    print("seed=%d kills=%d rounds=%d seconds=%.0f answered=%d "
          "acked_ok=%d unanswered_codes=%d accepted_after_restart=%d "
          "acked_enrollments=%d" % (seed, kills, rounds,
                                    time.monotonic() - t_start, answered,
                                    acked_ok, unacked, unacked_later_ok,
                                    acked_enroll))
    for f in fails[:20]:
        print("FAIL", f)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
