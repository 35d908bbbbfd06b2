#!/usr/bin/env python3
"""hosts_batch.py -- for tests/pg/hosts_batch.sh: the race of hosts.py
while both tokend hosts are under concurrent load, so that each commits
its requests in batches (group commit) on the shared PostgreSQL store.

usage:
  hosts_batch.py SOCK_A SOCK_B USER SECRET FAKEFILE T0 ROUNDS THREADS LOADUSERS
      THREADS clients on each host, each on one connection, send
      USER_STATUS for the users of LOADUSERS (comma-separated; the same
      users on both hosts, in a different order on each, so that two
      hosts' batches take the same users' locks in opposite orders)
      until the race is over.  Meanwhile ROUNDS rounds as hosts.py race:
      each round freezes both daemons' clock in a new 30 s step and
      sends the same valid code of USER to both hosts back to back.
      Prints "rounds=N one_ok=N both_ok=N none_ok=N a_won=N b_won=N
      lost_replay=N lost_internal=N other=N load=N load_ok=N
      load_internal=N load_other=N"
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.environ.get("TOP_SRCDIR", "."),
                                "tests", "pam"))
import hosts  # noqa: E402
import wire  # noqa: E402

MSG_USER_STATUS = 2
KEY_USER = 10
ST_OK, ST_REPLAY, ST_INTERNAL = 0, 2, 10


def loader(sock, users, stop, counts, lock):
    ok = internal = other = 0
    s = None
    i = 0
    while not stop.is_set():
        user = users[i % len(users)]
        i += 1
        try:
            if s is None:
                s = wire.connect(sock)
            s.sendall(wire.frame(wire.enc({0: wire.VERSION,
                                           1: MSG_USER_STATUS,
                                           KEY_USER: user})))
            a = wire.read_answer(s, time.monotonic() + 15)
        except (OSError, ValueError, EOFError):
            a = None
        st = -1 if a is None else a.get(2, -1)
        if st == ST_OK:
            ok += 1
        elif st == ST_INTERNAL:
            internal += 1
        else:
            other += 1
            sys.stderr.write("load %s %s: %r\n" % (sock, user, a))
        # tokend closes after an error answer, and after idle_timeout
        if a is None or st != ST_OK:
            if s is not None:
                s.close()
            s = None
    if s is not None:
        s.close()
    with lock:
        counts["load"] += ok + internal + other
        counts["load_ok"] += ok
        counts["load_internal"] += internal
        counts["load_other"] += other


def main(argv):
    if len(argv) != 10:
        sys.exit(__doc__)
    a, b, user, secret, fakefile = argv[1:6]
    t0, rounds, threads = int(argv[6]), int(argv[7]), int(argv[8])
    users = argv[9].split(",")
    stop = threading.Event()
    lock = threading.Lock()
    counts = {"load": 0, "load_ok": 0, "load_internal": 0, "load_other": 0}
    workers = []
    for k in range(threads):
        # host A walks the users forwards, host B backwards
        mine = users[k % len(users):] + users[:k % len(users)]
        workers.append(threading.Thread(target=loader, args=(
            a, mine, stop, counts, lock)))
        workers.append(threading.Thread(target=loader, args=(
            b, mine[::-1], stop, counts, lock)))
    for w in workers:
        w.start()
    time.sleep(0.5)			# the load is running before the race
    one = both = none = a_won = b_won = replay = internal = other = 0
    try:
        for i in range(rounds):
            t = t0 + 30 * i + 10
            hosts.freeze(fakefile, t)
            req = hosts.request(user, hosts.code_at(secret, t))
            sa = wire.connect(a)
            sb = wire.connect(b)
            sa.sendall(req)
            sb.sendall(req)
            ra, rb = hosts.answer(sa), hosts.answer(sb)
            sa.close()
            sb.close()
            oks = (ra == ST_OK) + (rb == ST_OK)
            if oks == 1:
                one += 1
                if ra == ST_OK:
                    a_won += 1
                else:
                    b_won += 1
                lost = rb if ra == ST_OK else ra
                if lost == ST_REPLAY:
                    replay += 1
                elif lost == ST_INTERNAL:
                    internal += 1
            elif oks == 2:
                both += 1
            else:
                none += 1
            if {ra, rb} - {ST_OK, ST_REPLAY, ST_INTERNAL}:
                other += 1
                sys.stderr.write("round %d: answers %d %d\n" % (i, ra, rb))
    finally:
        stop.set()
        for w in workers:
            w.join()
    print("rounds=%d one_ok=%d both_ok=%d none_ok=%d a_won=%d b_won=%d "
          "lost_replay=%d lost_internal=%d other=%d load=%d load_ok=%d "
          "load_internal=%d load_other=%d"
          % (rounds, one, both, none, a_won, b_won, replay, internal, other,
             counts["load"], counts["load_ok"], counts["load_internal"],
             counts["load_other"]))


if __name__ == "__main__":
    main(sys.argv)
