#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""
The memlens command on the fixture proc trees: `ps`, `maps`, `libs` and
`top` with --json, checked against the figures worked out by hand from the
fixture text (the same as in test_acct.c; the arithmetic is repeated next to
each value), then exit codes, error messages and every command's --help.

Usage: cli_fixture.py MEMLENS_BIN FIXTURES_DIR      (prints TAP)
"""
import json
import os
import subprocess
import sys

MEMLENS, FIXTURES = sys.argv[1], sys.argv[2]
BASIC = os.path.join(FIXTURES, "proc-basic")
MALFORMED = os.path.join(FIXTURES, "proc-malformed")
LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6"
# make-fixtures.py's LONG_PATH: 10 + 70 * 59 + 69 + 9 = 4218 bytes
LONG = ("/srv/deep/" + "/".join("level%03d-" % i + "x" * 50 for i in range(70))
        + "/blob.bin")


def KB(x):
    return x * 1024


results = []


def check(ok, what, detail=""):
    results.append((bool(ok), what, detail))
    return ok


def eq(got, want, what):
    return check(got == want, what, "got %r, expected %r" % (got, want))


def run(*args, root=BASIC):
    cmd = [MEMLENS] + (["--proc-root", root] if root else []) + list(args)
    p = subprocess.run(cmd, capture_output=True, text=True,
                       errors="surrogateescape")
    return p.returncode, p.stdout, p.stderr


def run_json(*args, root=BASIC, what=None):
    rc, out, err = run(*args, root=root)
    what = what or " ".join(args)
    eq(rc, 0, what + ": exit 0")
    try:
        return json.loads(out), err
    except ValueError as e:
        check(False, what + ": output is JSON", str(e))
        return None, err


# ---- per process -----------------------------------------------------------

# from each process's smaps_rollup (test_acct.c has the sums behind them):
#   100 app:    Rss 2248, Pss 1524, USS 40 + 768 = 808,    Swap 268
#   200 worker: Rss 3564, Pss 2968, USS 32 + 2348 = 2380,  Swap 60
#   300 loader: Rss 1136, Pss 1129, USS 84 + 1040 = 1124,  Swap 512
PROCS = {
    100: dict(comm="app", rss=KB(2248), pss=KB(1524), uss=KB(808),
              swap=KB(268), pss_anon=KB(736), pss_file=KB(628),
              pss_shmem=KB(160), private_clean=KB(40),
              private_dirty=KB(768), shared_clean=KB(1184),
              shared_dirty=KB(256), locked=KB(48), anon_huge_pages=0),
    200: dict(comm="worker", rss=KB(3564), pss=KB(2968), uss=KB(2380),
              swap=KB(60), pss_anon=KB(2348), pss_file=KB(620),
              anon_huge_pages=KB(2048)),
    300: dict(comm="data loader", rss=KB(1136), pss=KB(1129), uss=KB(1124),
              swap=KB(512), swap_pss=KB(512), pss_file=KB(89)),
}


def check_proc(p, what):
    want = PROCS[p["pid"]]
    for k, v in want.items():
        eq(p.get(k), v, "%s: pid %d %s" % (what, p["pid"], k))


def test_ps():
    procs, _ = run_json("ps", "--json")
    if procs is None:
        return
    # by PSS: 2968 (200) > 1524 (100) > 1129 (300); kthreadd left out
    eq([p["pid"] for p in procs], [200, 100, 300], "ps: order by PSS")
    for p in procs:
        check_proc(p, "ps")
        check("cmdline" not in p, "ps: no cmdline unless -c")
    uid = os.stat(os.path.join(BASIC, "100")).st_uid
    eq({p["uid"] for p in procs}, {uid}, "ps: owner of the pid directories")

    procs, _ = run_json("ps", "--json", "--sort", "uss")
    if procs:  # 2380 (200) > 1124 (300) > 808 (100)
        eq([p["pid"] for p in procs], [200, 300, 100], "ps -s uss: order")
    procs, _ = run_json("ps", "-j", "-s", "swap")
    if procs:  # 512 (300) > 268 (100) > 60 (200)
        eq([p["pid"] for p in procs], [300, 100, 200], "ps -s swap: order")
    procs, _ = run_json("ps", "--json", "--sort", "rss", "-n", "1")
    if procs:  # 3564 (200) first
        eq([p["pid"] for p in procs], [200], "ps -s rss -n 1")

    procs, _ = run_json("ps", "--json", "--all")
    if procs:
        eq([p["pid"] for p in procs], [200, 100, 300, 2], "ps -a: order")
        k = procs[-1]
        eq((k["comm"], k["rss"], k["pss"], k["uss"], k["swap"]),
           ("kthreadd", 0, 0, 0, 0), "ps -a: kthreadd has no memory")

    procs, _ = run_json("ps", "--json", "-c", "-p", "300", "--pid", "100")
    if procs:
        eq([p["pid"] for p in procs], [100, 300], "ps -p: two pids, by PSS")
        eq(procs[0].get("cmdline"), "/usr/bin/app --config /etc/app conf.toml",
           "ps -c: cmdline of 100")
        eq(procs[1].get("cmdline"), "python3 /srv/load.py --tag a?b",
           "ps -c: cmdline of 300 (tab shown as ?)")
        for p in procs:
            check_proc(p, "ps -p")

    procs, _ = run_json("ps", "--json", "-u", str(uid))
    if procs is not None:
        eq(len(procs), 3, "ps -u owner: three processes")
    nobody = 4242421 if uid != 4242421 else 4242422
    procs, _ = run_json("ps", "--json", "-u", str(nobody))
    eq(procs, [], "ps -u with a uid that owns nothing: []")

    rc, out, err = run("ps", "--json", "-p", "999999")
    eq(rc, 1, "ps -p absent: exit 1")
    check("memlens: pid 999999: no such process" in err,
          "ps -p absent: message", err)

    # the human table still shows the same figures, exactly with -b
    rc, out, err = run("ps", "-b")
    eq(rc, 0, "ps -b: exit 0")
    lines = out.splitlines()
    check(len(lines) == 5, "ps -b: header, 3 rows, total", out)
    if len(lines) == 5:
        f = lines[1].split()
        # PID USER SWAP USS PSS RSS NAME
        eq([f[0]] + f[2:6], ["200", str(KB(60)), str(KB(2380)),
                             str(KB(2968)), str(KB(3564))], "ps -b: row 200")
        f = lines[4].split()
        # totals: swap 268+60+512 = 840, USS 808+2380+1124 = 4312,
        # PSS 1524+2968+1129 = 5621, RSS 2248+3564+1136 = 6948
        eq(f[1:5], [str(KB(840)), str(KB(4312)), str(KB(5621)),
                    str(KB(6948))], "ps -b: totals")


# ---- one process's VMAs ----------------------------------------------------

def test_maps():
    m, _ = run_json("maps", "100", "--json")
    if m is None:
        return
    eq(m["pid"], 100, "maps 100: pid")
    eq(m["comm"], "app", "maps 100: comm")
    names = [v["name"] for v in m["vmas"]]
    eq(names, ["/usr/bin/app", "/usr/bin/app", "[heap]", "", "[anon:my name]",
               "[anon_shmem:shared]", "/memfd:x (deleted)", LIBC, LIBC, LIBC,
               "/opt/my app/data file.bin", "/usr/lib/x (deleted)", "[stack]",
               "[vvar]", "[vdso]"], "maps 100: names, in address order")
    v = m["vmas"][0]
    eq((v["start"], v["end"], v["perms"], v["offset"], v["dev"], v["inode"],
        v["size"]), (0x55d0c0a00000, 0x55d0c0a02000, "r--p", 0, "fe:01",
                     1048577, KB(8)), "maps 100: first VMA")
    v = m["vmas"][8]  # libc r-xp at offset 0x28000, 0x158000 = 1376 kB
    eq((v["offset"], v["size"], v["rss"], v["pss"], v["shared_clean"]),
       (0x28000, KB(1376), KB(1024), KB(510), KB(1024)), "maps 100: libc r-xp")
    v = m["vmas"][5]  # 256 kB of shared anonymous memory, mapcount 2
    eq((v["dev"], v["inode"], v["rss"], v["pss"], v["shared_dirty"], v["uss"]),
       ("00:01", 2050, KB(256), KB(128), KB(256), 0),
       "maps 100: [anon_shmem:shared]")
    t = m["total"]
    # sums of the per-VMA lines: Size 8+16+132+1024+64+256+32+160+1376+16
    # +16+8+132+16+8 = 3264; Rss 2248; Pss 8+16+120+512+48+128+32+77+510+16
    # +8+8+40+0+0 = 1523 (ps says 1524: the rollup rounds once)
    eq(t["size"], KB(3264), "maps 100: total size")
    eq(t["rss"], KB(2248), "maps 100: total rss")
    eq(t["pss"], KB(1523), "maps 100: total pss (per-VMA sum)")
    eq(t["uss"], KB(808), "maps 100: total uss")
    eq(t["swap"], KB(268), "maps 100: total swap")

    m, _ = run_json("maps", "200", "--json")
    if m:
        v = m["vmas"][-1]
        eq((v["name"], v["start"], v["end"], v["perms"]),
           ("[vsyscall]", 0xffffffffff600000, 0xffffffffff601000, "--xp"),
           "maps 200: 64-bit addresses")
        # Pss 16+64+200+0+2048+77+526+12+24+0+0+0 = 2967
        eq(m["total"]["pss"], KB(2967), "maps 200: total pss")
        eq(m["total"]["anon_huge_pages"], KB(2048), "maps 200: THP")

    m, _ = run_json("maps", "300", "--json")
    if m:
        eq(len(m["vmas"]), 5, "maps 300: 5 VMAs")
        if len(m["vmas"]) == 5:
            eq(len(m["vmas"][2]["name"]), 4218, "maps 300: long name length")
            eq(m["vmas"][2]["name"], LONG, "maps 300: long name")
            eq(m["vmas"][2]["pss"], KB(25), "maps 300: long name pss")
        eq(m["comm"], "data loader", "maps 300: comm with a space")

    m, _ = run_json("maps", "--sort", "pss", "100", "--json")
    if m:  # 512 ([anon]), 510 (libc r-xp), 128, 120, ...
        eq([v["pss"] for v in m["vmas"][:4]],
           [KB(512), KB(510), KB(128), KB(120)], "maps -s pss: order")

    m, _ = run_json("maps", "2", "--json")
    if m:
        eq((m["comm"], m["vmas"], m["total"]["rss"]), ("kthreadd", [], 0),
           "maps 2: a kernel thread has no VMAs")


# ---- mappings across processes ----------------------------------------------

# name: (nr_procs, nr_vmas, rss, pss, uss, swap) in kB, summed by hand
MAPPINGS = {
    "[anon]": (3, 1 + 3 + 1, 512 + 200 + 0 + 2048 + 0, 512 + 200 + 2048,
               512 + 200 + 2048, 256 + 56 + 512),
    LIBC: (2, 6, 156 + 1024 + 16 + 156 + 1040 + 12,
           77 + 510 + 16 + 77 + 526 + 12, 16 + 16 + 12, 4),
    "[heap]": (3, 3, 120 + 64 + 1024, 120 + 64 + 1024, 120 + 64 + 1024, 12),
    "[anon_shmem:shared]": (1, 1, 256, 128, 0, 0),
    "[stack]": (3, 3, 40 + 24 + 16, 40 + 24 + 16, 40 + 24 + 16, 0),
    "/usr/bin/python3.11": (1, 1, 64, 64, 64, 0),
    "[anon:my name]": (1, 1, 48, 48, 48, 0),
    "/memfd:x (deleted)": (1, 1, 32, 32, 32, 0),
    LONG: (1, 1, 32, 25, 20, 0),
    "/usr/bin/app": (1, 2, 8 + 16, 8 + 16, 8 + 16, 0),
    "/usr/bin/worker": (1, 1, 16, 16, 16, 0),
    "/opt/my app/data file.bin": (1, 1, 8, 8, 8, 0),
    "/usr/lib/x (deleted)": (1, 1, 8, 8, 8, 0),
    "[vdso]": (2, 2, 4 + 4, 0, 0, 0),
    "[vsyscall]": (1, 1, 0, 0, 0, 0),
    "[vvar]": (2, 2, 0, 0, 0, 0),
}
# by PSS, ties by name (strcmp): the order of MAPPINGS above
PSS_ORDER = list(MAPPINGS)


def check_mappings(maps, what):
    eq(len(maps), 16, what + ": 16 mappings")
    for m in maps:
        want = MAPPINGS.get(m["name"])
        if not check(want is not None, what + ": known name",
                     m["name"][:60]):
            continue
        got = (m["nr_procs"], m["nr_vmas"], m["rss"], m["pss"], m["uss"],
               m["swap"])
        eq(got, (want[0], want[1]) + tuple(KB(x) for x in want[2:]),
           "%s: %s" % (what, m["name"][:40]))


def test_libs():
    maps, err = run_json("libs", "--json")
    if maps is None:
        return
    check_mappings(maps, "libs")
    eq([m["name"] for m in maps], PSS_ORDER, "libs: order by PSS, then name")
    # PSS over all mappings: 5619 = the per-VMA sums 1523 + 2967 + 1129
    eq(sum(m["pss"] for m in maps), KB(5619), "libs: PSS sum")
    eq(err, "", "libs: nothing on stderr")

    maps, _ = run_json("libs", "--json", "-s", "swap", "-n", "3")
    if maps is not None:  # 824, 12, 4
        eq([m["name"] for m in maps], ["[anon]", "[heap]", LIBC],
           "libs -s swap -n 3")

    maps, _ = run_json("libs", "--json", "-p", "200")
    if maps is not None:
        by = {m["name"]: m for m in maps}
        eq(len(maps), 8, "libs -p 200: 8 mappings")
        if LIBC in by:
            m = by[LIBC]
            # 156 + 1040 + 12 = 1208 rss; 77 + 526 + 12 = 615 pss
            eq((m["nr_procs"], m["nr_vmas"], m["rss"], m["pss"]),
               (1, 3, KB(1208), KB(615)), "libs -p 200: libc")
        if "[anon]" in by:
            m = by["[anon]"]
            eq((m["nr_procs"], m["nr_vmas"], m["rss"], m["swap"]),
               (1, 3, KB(2248), KB(56)), "libs -p 200: [anon]")


def test_top():
    top, _ = run_json("top", "--json")
    if top is None:
        return
    s = top["system"]
    # proc-basic/meminfo; file = Cached + Buffers - Shmem
    # = 4096000 + 204800 - 300000; kernel = Slab + KernelStack + PageTables
    # + SecPageTables + Percpu + VmallocUsed = 400000 + 20480 + 40960 + 0
    # + 8192 + 60000; unexplained = 16302080 - (8123456 + 2500000 + 4000800
    # + 300000 + 1024 + 529632 + 32768)
    want = dict(total=KB(16302080), free=KB(8123456), available=KB(12000000),
                anon=KB(2500000), file=KB(4000800), shmem=KB(300000),
                swap_cached=KB(1024), kernel=KB(529632), slab=KB(400000),
                kernel_stack=KB(20480), page_tables=KB(40960),
                percpu=KB(8192), vmalloc=KB(60000), hugetlb=KB(32768),
                unexplained=KB(814400), swap_total=KB(8388604),
                swap_used=KB(8388604 - 8000000), nr_procs=3)
    for k, v in want.items():
        eq(s.get(k), v, "top: system " + k)
    eq(s["free"] + s["anon"] + s["file"] + s["shmem"] + s["swap_cached"] +
       s["kernel"] + s["hugetlb"] + s["unexplained"], s["total"],
       "top: the identity adds up")
    # rollups: 1524 + 2968 + 1129, 2248 + 3564 + 1136
    eq((s["procs"]["pss"], s["procs"]["rss"]), (KB(5621), KB(6948)),
       "top: processes' pss and rss")
    eq([p["pid"] for p in top["processes"]], [200, 100, 300],
       "top: processes by PSS")
    for p in top["processes"]:
        check_proc(p, "top")
    check_mappings_top = top["mappings"]
    eq([m["name"] for m in check_mappings_top], PSS_ORDER[:10],
       "top: the 10 largest mappings by PSS")
    top, _ = run_json("top", "--json", "-n", "2")
    if top:
        eq((len(top["processes"]), len(top["mappings"])), (2, 2),
           "top -n 2: two rows each")
    rc, out, _ = run()
    eq(rc, 0, "no command: the overview, exit 0")
    check("Top processes by PSS" in out, "no command: shows top")


# ---- malformed processes ---------------------------------------------------

def test_malformed():
    procs, err = run_json("ps", "--json", root=MALFORMED,
                          what="ps (malformed tree)")
    if procs is None:
        return
    # 2968 (200), 1524 (100), 1129 (300), 40 (504), then 500-503 unreadable
    eq([p["pid"] for p in procs], [200, 100, 300, 504, 500, 501, 502, 503],
       "malformed ps: order, unreadable last")
    for p in procs:
        if p["pid"] in PROCS:
            check_proc(p, "malformed ps")
        elif p["pid"] == 504:
            eq((p["rss"], p["pss"], p["uss"], p["swap"]),
               (KB(40), KB(40), KB(40), KB(4)), "malformed ps: 504")
        else:
            eq((p["rss"], p["pss"], p["uss"], p["swap"], p.get("error")),
               (None, None, None, None, os.strerror(22)),
               "malformed ps: pid %d has an error" % p["pid"])
    check("4 processes could not be measured" in err,
          "malformed ps: says what it could not read", err)

    maps, err = run_json("libs", "--json", root=MALFORMED,
                         what="libs (malformed tree)")
    if maps is not None:
        check_mappings(maps, "malformed libs")
    check("5 processes not readable" in err,
          "malformed libs: 500-503 and 504's smaps not counted", err)

    for pid in (500, 501, 502, 504):
        rc, out, err = run("maps", str(pid), "--json", root=MALFORMED)
        eq(rc, 1, "malformed maps %d: exit 1" % pid)
        eq(err, "memlens: pid %d: smaps is malformed\n" % pid,
           "malformed maps %d: message" % pid)
    top, _ = run_json("top", "--json", root=MALFORMED,
                      what="top (malformed tree)")
    if top:
        eq(top["system"]["nr_procs"], 4, "malformed top: 4 measured")


# ---- usage -----------------------------------------------------------------

HELP = {
    None: ["--proc-root", "--sys-root", "-h", "--help", "-V", "--version",
           "top", "ps", "maps", "libs", "doctor"],
    "top": ["-n", "--limit", "-b", "--bytes", "-j", "--json", "-h", "--help"],
    "ps": ["-s", "--sort", "-u", "--user", "-p", "--pid", "-n", "--limit",
           "-c", "--cmdline", "-b", "--bytes", "-a", "--all", "-j", "--json",
           "-h", "--help"],
    "maps": ["-s", "--sort", "-b", "--bytes", "-j", "--json", "-h", "--help",
             "PID"],
    "libs": ["-s", "--sort", "-u", "--user", "-p", "--pid", "-n", "--limit",
             "-b", "--bytes", "-j", "--json", "-h", "--help"],
    "doctor": ["-j", "--json", "-h", "--help"],
}


def test_usage():
    for cmd, opts in HELP.items():
        args = ["--help"] if cmd is None else [cmd, "--help"]
        rc, out, err = run(*args)
        name = "memlens " + " ".join(args)
        eq(rc, 0, name + ": exit 0")
        words = out.replace(",", " ").split()
        missing = [o for o in opts if o not in words]
        eq(missing, [], name + ": mentions every option")
        eq(err, "", name + ": nothing on stderr")
    rc, out, _ = run("ps", "-h")
    eq(rc, 0, "ps -h: exit 0")

    usage = [
        (["frobnicate"], "unknown command"),
        (["--bogus"], "unknown global option"),
        (["ps", "--bogus"], "unknown ps option"),
        (["top", "-x"], "unknown top option"),
        (["libs", "--frob"], "unknown libs option"),
        (["maps"], "maps without a pid"),
        (["maps", "abc"], "maps with a pid that is not a number"),
        (["maps", "0"], "maps 0"),
        (["maps", "1", "2"], "maps with two pids"),
        (["ps", "-s", "bogus"], "ps with an unknown sort key"),
        (["ps", "-p", "x"], "ps -p x"),
        (["ps", "extra"], "ps with an argument"),
        (["ps", "-n", "-1"], "ps -n -1"),
        (["top", "-n", "0"], "top -n 0"),
        (["libs", "-u", "no-such-user-here"], "libs -u unknown user"),
        (["ps", "--sort"], "ps --sort without a value"),
    ]
    for args, what in usage:
        rc, out, err = run(*args)
        eq(rc, 2, what + ": exit 2")
        # (getopt's own messages begin with the subcommand's name)
        check(err.strip() != "", what + ": says why on stderr", err)
    rc, out, err = run("frobnicate")
    check("unknown command 'frobnicate'" in err, "unknown command: named", err)

    rc, out, err = run("maps", "999999")
    eq(rc, 1, "maps 999999: exit 1")
    eq(err, "memlens: pid 999999: no such process\n", "maps 999999: message")
    eq(out, "", "maps 999999: nothing on stdout")

    rc, out, err = run("ps", root=os.path.join(FIXTURES, "no-such-tree"))
    eq(rc, 1, "a proc root that does not exist: exit 1")
    check(err.startswith("memlens: ") and "no-such-tree" in err,
          "a proc root that does not exist: message", err)
    rc, out, _ = run("--version", root=None)
    eq(rc, 0, "--version: exit 0")
    check(out.startswith("memlens "), "--version: prints it")


def main():
    for t in (test_ps, test_maps, test_libs, test_top, test_malformed,
              test_usage):
        try:
            t()
        except Exception as e:  # a crash in the script is a failure too
            check(False, t.__name__ + " raised", repr(e))
    print("1..%d" % len(results))
    for i, (ok, what, detail) in enumerate(results, 1):
        print("%s %d - %s" % ("ok" if ok else "not ok", i, what))
        if not ok and detail:
            for line in str(detail).splitlines()[:20]:
                print("# " + line)
    return 0 if all(ok for ok, _, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
