#!/usr/bin/env python3
"""hosts.py -- drives two tokend processes that share one PostgreSQL
store, for tests/pg/hosts.sh and outage.sh.  Speaks the wire protocol
through tests/pam/wire.py and computes codes itself (RFC 6238, SHA-1).

usage:
  hosts.py race SOCK_A SOCK_B USER SECRET FAKEFILE T0 ROUNDS
      each round freezes both daemons' clock (libfaketime's timestamp
      file) in a new 30 s step, connects to both, sends the same valid
      code to both back to back and reads both answers; prints
      "rounds=N one_ok=N both_ok=N none_ok=N a_won=N b_won=N other=N"
  hosts.py verify SOCK USER CODE
      one TOTP_VERIFY; prints the status number
  hosts.py code SECRET T
      prints the code of time T
  hosts.py load SOCK USER SECRET FAKEFILE T0 COUNT OUTFILE
      COUNT verifications, each in the next step, one every 50 ms;
      writes "k step status" lines to OUTFILE as they are answered
  hosts.py fido2race SOCK_A SOCK_B USER SIGNER STATE RP_ID ROUNDS
      each round asks host A for a login challenge (FIDO2_BEGIN), has
      SIGNER (fido2sign STATE RP_ID) make the assertion with the soft
      key, connects to both hosts and writes the same FIDO2_FINISH to
      both before reading either answer (A first in even rounds, B first
      in odd ones); prints "rounds=N one_ok=N both_ok=N none_ok=N
      a_won=N b_won=N other=N first_count=N last_count=N"
  hosts.py auditrace SOCK_PRUNE SOCK_VERIFY SECONDS
      for SECONDS, one thread prunes the audit trail through SOCK_PRUNE
      (AUDIT_PRUNE until now - 1 s, over and over) while AUDIT_VERIFY
      runs through SOCK_VERIFY over and over; prints "verifies=N
      broken=N failed=N prunes=N removed=N prune_broken=N"
"""
import base64
import hashlib
import hmac
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("TOP_SRCDIR", "."),
                                "tests", "pam"))
import wire  # noqa: E402

MSG_TOTP_VERIFY = 3
MSG_AUDIT_VERIFY, MSG_AUDIT_PRUNE = 9, 17
MSG_FIDO2_BEGIN, MSG_FIDO2_FINISH = 20, 21
KEY_USER, KEY_CODE, KEY_SERVICE = 10, 11, 12
KEY_COUNT, KEY_UNTIL, KEY_BAD_SEQ = 63, 72, 73
KEY_RP_ID, KEY_CHALLENGE, KEY_CHALLENGE_ID = 81, 82, 83
KEY_CRED_IDS, KEY_CRED_ID, KEY_AUTHDATA, KEY_SIG = 85, 86, 90, 91
KEY_SIGN_COUNT = 95
ST_OK, ST_REPLAY, ST_INTERNAL = 0, 2, 10


def code_at(secret, t, digits=6, period=30):
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    msg = struct.pack(">Q", int(t) // period)
    h = hmac.new(key, msg, hashlib.sha1).digest()
    o = h[-1] & 15
    v = (struct.unpack(">I", h[o:o + 4])[0] & 0x7fffffff) % 10 ** digits
    return "%0*d" % (digits, v)


def freeze(fakefile, t):
    tmp = fakefile + ".tmp"
    with open(tmp, "w") as f:
        f.write(time.strftime("%Y-%m-%d %H:%M:%S\n", time.gmtime(t)))
    os.rename(tmp, fakefile)


def request(user, code):
    return wire.frame(wire.enc({0: wire.VERSION, 1: MSG_TOTP_VERIFY,
                                KEY_USER: user, KEY_CODE: code,
                                KEY_SERVICE: "login"}))


def answer(s):
    try:
        a = wire.read_answer(s, time.monotonic() + 15)
    except (OSError, ValueError, EOFError):
        return -1
    return -1 if a is None else a.get(2, -1)


def verify(sock, user, code):
    try:
        s = wire.connect(sock)
        s.sendall(request(user, code))
    except OSError:
        return -2
    st = answer(s)
    s.close()
    return st


def race(a, b, user, secret, fakefile, t0, rounds):
    one = both = none = a_won = b_won = other = 0
    for i in range(rounds):
        t = t0 + 30 * i + 10
        freeze(fakefile, t)
        req = request(user, code_at(secret, t))
        sa = wire.connect(a)
        sb = wire.connect(b)
        # as close to the same instant as one process can: both frames
        # are written before either answer is read
        sa.sendall(req)
        sb.sendall(req)
        ra, rb = answer(sa), answer(sb)
        sa.close()
        sb.close()
        oks = (ra == ST_OK) + (rb == ST_OK)
        if oks == 1:
            one += 1
            if ra == ST_OK:
                a_won += 1
            else:
                b_won += 1
        elif oks == 2:
            both += 1
        else:
            none += 1
        if {ra, rb} - {ST_OK, ST_REPLAY}:
            other += 1
            sys.stderr.write("round %d: answers %d %d\n" % (i, ra, rb))
    print("rounds=%d one_ok=%d both_ok=%d none_ok=%d a_won=%d b_won=%d "
          "other=%d" % (rounds, one, both, none, a_won, b_won, other))


def load(sock, user, secret, fakefile, t0, count, out):
    with open(out, "w", buffering=1) as f:
        for k in range(count):
            t = t0 + 30 * k + 10
            freeze(fakefile, t)
            st = verify(sock, user, code_at(secret, t))
            f.write("%d %d %d\n" % (k, t // 30, st))
            time.sleep(0.05)


def call(sock, body):
    """one request, the whole answer map (None when none came)"""
    s = wire.connect(sock)
    try:
        s.sendall(wire.frame(wire.enc(body)))
        return wire.read_answer(s, time.monotonic() + 15)
    finally:
        s.close()


def fido2race(a, b, user, signer, state, rp, rounds):
    import subprocess
    sg = subprocess.Popen([signer, state, rp], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True)
    one = both = none = a_won = b_won = other = 0
    first = last = -1
    for i in range(rounds):
        ch = call(a, {0: wire.VERSION, 1: MSG_FIDO2_BEGIN, KEY_USER: user,
                      KEY_SERVICE: "login"})
        if ch is None or ch.get(2) != ST_OK:
            sys.stderr.write("round %d: FIDO2_BEGIN on A: %r\n" % (i, ch))
            other += 1
            continue
        cred_id = ch[KEY_CRED_IDS][0][KEY_CRED_ID]
        sg.stdin.write("%s %s\n" % (ch[KEY_CHALLENGE].hex(), cred_id.hex()))
        sg.stdin.flush()
        out = sg.stdout.readline().split()
        if len(out) != 2 or out[0] == "error":
            sys.stderr.write("round %d: signer: %r\n" % (i, out))
            other += 1
            continue
        req = wire.frame(wire.enc({
            0: wire.VERSION, 1: MSG_FIDO2_FINISH, KEY_USER: user,
            KEY_CHALLENGE_ID: ch[KEY_CHALLENGE_ID], KEY_CRED_ID: cred_id,
            KEY_AUTHDATA: bytes.fromhex(out[0]),
            KEY_SIG: bytes.fromhex(out[1]), KEY_SERVICE: "login"}))
        sa = wire.connect(a)
        sb = wire.connect(b)
        # both frames are written before either answer is read
        if i % 2 == 0:
            sa.sendall(req)
            sb.sendall(req)
        else:
            sb.sendall(req)
            sa.sendall(req)
        ra = rb = None
        try:
            ra = wire.read_answer(sa, time.monotonic() + 15)
            rb = wire.read_answer(sb, time.monotonic() + 15)
        except (OSError, ValueError, EOFError):
            pass
        sa.close()
        sb.close()
        sta = -1 if ra is None else ra.get(2, -1)
        stb = -1 if rb is None else rb.get(2, -1)
        oks = (sta == ST_OK) + (stb == ST_OK)
        if oks == 1:
            one += 1
            win = ra if sta == ST_OK else rb
            if sta == ST_OK:
                a_won += 1
            else:
                b_won += 1
            last = win.get(KEY_SIGN_COUNT, -1)
            if first < 0:
                first = last
        elif oks == 2:
            both += 1
        else:
            none += 1
        if {sta, stb} - {ST_OK, ST_REPLAY}:
            other += 1
            sys.stderr.write("round %d: answers %d %d\n" % (i, sta, stb))
    sg.stdin.close()
    sg.wait()
    print("rounds=%d one_ok=%d both_ok=%d none_ok=%d a_won=%d b_won=%d "
          "other=%d first_count=%d last_count=%d"
          % (rounds, one, both, none, a_won, b_won, other, first, last))


def auditrace(sock_prune, sock_verify, secs):
    import threading
    end = time.monotonic() + secs
    pr = {"prunes": 0, "removed": 0, "prune_broken": 0, "failed": 0}

    def pruner():
        while time.monotonic() < end:
            try:
                an = call(sock_prune, {0: wire.VERSION, 1: MSG_AUDIT_PRUNE,
                                       KEY_UNTIL: int(time.time()) - 1})
            except (OSError, ValueError, EOFError):
                an = None
            if an is None or an.get(2) != ST_OK:
                if an is not None and "broken" in str(an.get(3, "")):
                    pr["prune_broken"] += 1
                else:
                    pr["failed"] += 1
                    sys.stderr.write("prune: %r\n" % (an,))
                continue
            pr["prunes"] += 1
            pr["removed"] += an.get(KEY_COUNT, 0)

    t = threading.Thread(target=pruner)
    t.start()
    verifies = broken = failed = 0
    while time.monotonic() < end:
        try:
            an = call(sock_verify, {0: wire.VERSION, 1: MSG_AUDIT_VERIFY})
        except (OSError, ValueError, EOFError):
            an = None
        if an is None or an.get(2) != ST_OK:
            failed += 1
            sys.stderr.write("verify: %r\n" % (an,))
        elif KEY_BAD_SEQ in an:
            broken += 1
            sys.stderr.write("verify: broken at %d\n" % an[KEY_BAD_SEQ])
        else:
            verifies += 1
    t.join()
    print("verifies=%d broken=%d failed=%d prunes=%d removed=%d "
          "prune_broken=%d" % (verifies, broken, failed + pr["failed"],
                               pr["prunes"], pr["removed"],
                               pr["prune_broken"]))


def main(argv):
    cmd = argv[1]
    if cmd == "race":
        race(argv[2], argv[3], argv[4], argv[5], argv[6], int(argv[7]),
             int(argv[8]))
    elif cmd == "verify":
        print(verify(argv[2], argv[3], argv[4]))
    elif cmd == "code":
        print(code_at(argv[2], int(argv[3])))
    elif cmd == "load":
        load(argv[2], argv[3], argv[4], argv[5], int(argv[6]),
             int(argv[7]), argv[8])
    elif cmd == "fido2race":
        fido2race(argv[2], argv[3], argv[4], argv[5], argv[6], argv[7],
                  int(argv[8]))
    elif cmd == "auditrace":
        auditrace(argv[2], argv[3], float(argv[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
