#!/usr/bin/env python3
# Build the seed corpus of fuzz/fuzz_alloctag_reader: target memory images
# laid out as include/memlens/alloctag.h (format v1, little-endian LP64),
# each behind the fuzz target's 32-byte where-to-look header.
#   scripts/alloctag-corpus.py fuzz/corpus/fuzz_alloctag_reader
import os
import struct
import sys

BASE = 0x10000000
TAG_MAGIC, RT_MAGIC = 0x47544C4D, 0x54524C4D
BLOCK_MAGIC, RING_MAGIC = 0x4B42544C4D4C4D00, 0x474E49524C4D4C
NONE = 0xFFFFFFFFFFFFFFFF


def tag(line, file, func, mod=0, rt=0, addr=0, flags=0, capture=0):
    return struct.pack("<IIQQQQQIB11x", TAG_MAGIC, line, file, func, mod, rt,
                       addr, flags, capture)


def rt(tag_addr, shards, nr=32, stride=64):
    b = struct.pack("<IIIIQ40x", RT_MAGIC, nr, stride, 0, tag_addr)
    for i in range(nr):
        bb, cc = shards[i] if i < len(shards) else (0, 0)
        b += struct.pack("<qq", bb, cc).ljust(stride, b"\0")
    return b


def image(with_root, with_ring, nr_slots=8):
    mem = bytearray(0x6000)
    put = lambda off, b: mem.__setitem__(slice(off, off + len(b)), b)
    strs = {}
    off = 0x400
    for s in ["src/a.c", "main", "lib/b.c", "helper", "libx", "worker"]:
        strs[s] = BASE + off
        put(off, s.encode() + b"\0")
        off += len(s) + 1
    put(0x000, tag(12, strs["src/a.c"], strs["main"], rt=BASE + 0x1000))
    put(0x040, tag(40, strs["lib/b.c"], strs["helper"], strs["libx"],
                   capture=1))
    put(0x080, tag(0, 0, 0, addr=0x401234, flags=1))
    put(0x1000, rt(BASE + 0x000, [(4096, 2), (-1024, -1), (100, 1)]))
    hdr_root = NONE
    if with_root:
        hdr_root = 0x2000
        ring = BASE + 0x3000 if with_ring else 0
        put(0x2000, b"MLALLOC\0" + struct.pack(
            "<IIQIIIIQQIIQ56x", 1, 128, BASE + 0x2000, 64, 32, 64, 64,
            BASE + 0x2100, ring, 1, 1, 3))
        put(0x2100, struct.pack("<QQII40x", BLOCK_MAGIC, 0, 4, 2))
        put(0x2140, tag(7, strs["lib/b.c"], strs["worker"], flags=2,
                        rt=BASE + 0x4000))
        put(0x2180, tag(0, 0, 0, addr=0x7f0000001000, flags=1))
        put(0x4000, rt(BASE + 0x2140, [(64, 1)], nr=4))
        if with_ring:
            head = 10
            put(0x3000, struct.pack("<QIIQ40x", RING_MAGIC, nr_slots, 512,
                                    head))
            for n in range(head - nr_slots, head):
                rec = struct.pack("<QQQQii16sII", n + 1, BASE + 0x40,
                                  100 + n, 1000 * n, 42, 43 + n % 2,
                                  b"worker", 3, 0)
                rec += struct.pack("<40Q", *([0x401000 + n, 0x402000, 0x403000]
                                             + [0] * 37))
                put(0x3040 + (n % nr_slots) * 512, rec.ljust(512, b"\0"))
    where = struct.pack("<QQQB7x", 0, 3 * 64, hdr_root, 1 if with_ring else 0)
    return where + bytes(mem)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, img in [("section-only", image(False, False)),
                      ("root-blocks", image(True, False)),
                      ("root-ring", image(True, True))]:
        with open(os.path.join(out, name), "wb") as f:
            f.write(img)


main()
