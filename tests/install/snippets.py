#!/usr/bin/env python3
"""snippets.py -- the PAM stacks of docs/integration.md, made runnable.

usage: snippets.py list DOC
    one line per ```pam block: "NAME key=value ..." (the fence's words)
usage: snippets.py dump DOC
    every block with its attributes, to compare two documents
usage: snippets.py write DOC OUTDIR MODDIR MODULE CONF PASSWORD NULLOK
    writes every block as a service file OUTDIR/NAME, with
      pam_unix.so     -> MODDIR/pam_permit.so (PASSWORD=right) or
                         MODDIR/pam_deny.so (PASSWORD=wrong)
      pam_tokend.so   -> MODULE config=CONF (and nullok when NULLOK=1)
      pam_faillock.so -> MODDIR/pam_faillock.so dir=OUTDIR/../faillock
      pam_X.so        -> MODDIR/pam_X.so, or MODDIR/pam_permit.so when
                         this system has no pam_X.so (listed on stderr)
    "@include NAME" and "include NAME" become OUTDIR/NAME: NAME is another
    block.  Service names are lower case (libpam lowers them)."""
import os
import re
import sys

FENCE = re.compile(r"^```pam(\s+.*)?$")

def blocks(doc):
    out, cur = [], None
    for line in open(doc, encoding="utf-8"):
        line = line.rstrip("\n")
        if cur is None:
            m = FENCE.match(line)
            if m:
                words = (m.group(1) or "").split()
                attrs = dict(w.split("=", 1) for w in words if "=" in w)
                if "title" not in attrs:
                    sys.exit("%s: a ```pam block without title=" % doc)
                if attrs["title"] != attrs["title"].lower():
                    sys.exit("%s: title=%s: libpam lowers service names"
                             % (doc, attrs["title"]))
                cur = (attrs, [])
        elif line.startswith("```"):
            out.append(cur)
            cur = None
        else:
            cur[1].append(line)
    if cur is not None:
        sys.exit("%s: unterminated ```pam block" % doc)
    return out

def rewrite(line, outdir, moddir, module, conf, password, nullok, faildir, missing):
    s = line.strip()
    if not s or s.startswith("#"):
        return line
    # libpam looks for included files in /etc/pam.d, whatever
    # pam_wrapper does for the service itself: name them absolutely
    if s.startswith("@include"):
        return "@include " + os.path.join(outdir, s.split()[1])
    f = s.split()
    if len(f) < 3:
        sys.exit("bad PAM line: %r" % line)
    # the control may be a [...] group with spaces
    if f[1].startswith("["):
        i = 1
        while not f[i].endswith("]"):
            i += 1
        ctl, rest = " ".join(f[1:i + 1]), f[i + 1:]
    else:
        ctl, rest = f[1], f[2:]
    mod, args = rest[0], rest[1:]
    if ctl in ("include", "substack"):
        return " ".join([f[0], ctl, os.path.join(outdir, mod)] + args)
    if mod == "pam_unix.so":
        mod = os.path.join(moddir, "pam_permit.so" if password == "right"
                           else "pam_deny.so")
    elif mod == "pam_tokend.so":
        mod = module
        args = args + ["config=" + conf] + (["nullok"] if nullok == "1" else [])
    elif "/" not in mod:
        path = os.path.join(moddir, mod)
        if mod == "pam_faillock.so":
            args = args + ["dir=" + faildir]
        if not os.path.exists(path):
            missing.add(mod)
            path, args = os.path.join(moddir, "pam_permit.so"), []
        mod = path
    return " ".join([f[0], ctl, mod] + args)

def main():
    if sys.argv[1] == "dump":
        for attrs, lines in blocks(sys.argv[2]):
            print("== " + " ".join("%s=%s" % kv for kv in sorted(attrs.items())))
            print("\n".join(lines))
        return
    if sys.argv[1] == "list":
        for attrs, _ in blocks(sys.argv[2]):
            print(" ".join([attrs["title"]] + ["%s=%s" % kv for kv in
                  sorted(attrs.items()) if kv[0] != "title"]))
        return
    doc, outdir, moddir, module, conf, password, nullok = sys.argv[2:9]
    faildir = os.path.join(os.path.dirname(outdir.rstrip("/")), "faillock")
    missing = set()
    for attrs, lines in blocks(doc):
        name = attrs["title"]
        with open(os.path.join(outdir, name), "w") as f:
            for line in lines:
                f.write(rewrite(line, outdir, moddir, module, conf, password, nullok,
                                faildir, missing) + "\n")
        os.chmod(os.path.join(outdir, name), 0o644)
    for m in sorted(missing):
        print("not on this system, replaced by pam_permit.so: " + m,
              file=sys.stderr)

main()
