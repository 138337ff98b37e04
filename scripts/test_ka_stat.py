#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Self-test of scripts/ka-stat: python3 scripts/test_ka_stat.py [-v]

The sample debugfs directory is generated here from a small model of ka's
state (two nodes, four CPUs, 4 KiB pages) and written with the printf
formats of mod/ka/debugfs.c, so that the expected numbers can be computed from
the model rather than from the files.
  python3 scripts/test_ka_stat.py --sample DIR   writes the sample and exits.
"""
import glob
import importlib.machinery
import importlib.util
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "ka-stat")
PAGE = 4096


def load_ka_stat():
    """scripts/ka-stat as a module (it has no .py suffix)."""
    loader = importlib.machinery.SourceFileLoader("ka_stat", SCRIPT)
    spec = importlib.util.spec_from_loader("ka_stat", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


ka_stat = load_ka_stat()


def size_classes():
    """ka_sizeclass_init() for 4 KiB pages: [(size, npages, nelems)], 1-based."""
    classes, align, size = [], 8, 8
    while size <= 32768:
        if size & (size - 1) == 0:
            align = 256 if size >= 2048 else size // 8 if size >= 128 else \
                16 if size >= 32 else align
        alloc = PAGE
        while alloc % size > alloc // 8:
            alloc += PAGE
        if classes and alloc // PAGE == classes[-1][1] and \
                alloc // size == alloc // classes[-1][0]:
            classes[-1][0] = size
        else:
            classes.append([size, alloc // PAGE])
        size += align
    for k in classes:
        span = k[1] * PAGE
        k[0] = max(k[0], (span // (span // k[0])) & ~127)
    dedup = classes[:1]
    for k in classes[1:]:
        if k[0] != dedup[-1][0]:
            dedup.append(k)
    return [None] + [(s, n, n * PAGE // s) for s, n in dedup]


# (node, object size): occupancy of each span, as a fraction of its objects
SPAN_MODEL = {
    (0, 8): [1.0, 0.6], (0, 32): [1.0] * 5 + [0.95, 0.8, 0.1],
    (0, 64): [1.0] * 20 + [0.98, 0.9, 0.7, 0.5, 0.25, 0.02, 0.0],
    (0, 256): [1.0, 0.5, 0.05], (0, 1024): [1.0] * 9 + [0.75, 0.5],
    (0, 1536): [1.0, 0.67, 0.33], (0, 4096): [1.0] * 6 + [0.0],
    (0, 32768): [1.0, 1.0], (1, 64): [1.0] * 4 + [0.5, 0.45],
    (1, 512): [1.0] * 12 + [0.8, 0.3], (1, 2048): [1.0, 0.5],
}
LARGE_MODEL = {0: [40000, 100000], 1: [65536]}    # bytes requested
IDLE_CLASS = (1, 128)          # a class with lock traffic but no span left
COUNTERS = {"allocs": 250000, "frees": 241000, "cache_hits": 231000,
            "refills": 1900, "flushes": 1650, "large_allocs": 40,
            "large_frees": 37, "remote_frees": 120, "refused_frees": 2,
            "failed_allocs": 1}
DEBUG_REPORTS = 3             # a counter ka-stat does not know: shown as is
CPU_NODE = [0, 0, 1, 1]
PCPU_BUDGET = 1 << 20
SCAVENGER = (3000, 700, 2500)     # pages_released, pages_holes, scavenged_pages


def build_model():
    """Spans, per-CPU caches and heaps of the sample, as plain data."""
    rng = random.Random(1)
    table = size_classes()
    by_size = {k[0]: i for i, k in enumerate(table) if k}
    spans, heap_pages = [], {}        # per node: pages carved so far

    def carve(node, npages):
        """(chunk, page) of the next run of a node's heap: 512-page chunks,
        numbered from 1, as debugfs "spans" names a span."""
        off = heap_pages.get(node, 0)
        heap_pages[node] = off + npages
        return off // 512 + 1, off % 512

    for (node, size), fracs in sorted(SPAN_MODEL.items()):
        cls = by_size[size]
        _, npages, nelems = table[cls]
        for frac in fracs:
            out = round(frac * nelems)
            bits = set(rng.sample(range(nelems), out))
            spans.append({"at": carve(node, npages), "class": cls, "node": node,
                          "pages": npages, "out": out, "objects": nelems,
                          "bits": bits})
    cached = [{} for _ in CPU_NODE]    # per CPU: class -> objects
    for (node, size) in SPAN_MODEL:
        cls = by_size[size]
        out = sum(s["out"] for s in spans if (s["node"], s["class"]) == (node, cls))
        cpus = [c for c, n in enumerate(CPU_NODE) if n == node]
        cached[cpus[0]][cls] = min(out // 4, 2 * table[cls][2] // 3, 64)
        cached[cpus[1]][cls] = min(out // 8, 16)
    large = {node: [{"at": carve(node, math.ceil(r / PAGE)),
                     "pages": math.ceil(r / PAGE), "reqsize": r}
                    for r in reqs] for node, reqs in sorted(LARGE_MODEL.items())}
    return {"table": table, "spans": spans, "cached": cached, "large": large,
            "idle": (IDLE_CLASS[0], by_size[IDLE_CLASS[1]])}


def cpu_cached_bytes(model, cpu):
    """Bytes of the objects in one CPU's caches."""
    return sum(n * model["table"][cls][0] for cls, n in model["cached"][cpu].items())


def cpu_capacity(model, cpu):
    """The sample's capacity of a CPU: what it caches rounded up to 64 KiB."""
    return (cpu_cached_bytes(model, cpu) // 65536 + 1) * 65536


def bitmap(bits, nelems):
    """ka_show_bitmap()."""
    per, out = -(-nelems // 64), ""
    for i in range(0, nelems, per):
        end = min(i + per, nelems)
        n = sum(1 for j in range(i, end) if j in bits)
        out += "#" if n == end - i else "+" if n else "."
    return out


def class_stats(model, node, cls):
    """ka_class_stats_read() for the model, or None if the class is unused."""
    mine = [s for s in model["spans"] if (s["node"], s["class"]) == (node, cls)]
    if not mine and (node, cls) != model["idle"]:
        return None
    nelems = model["table"][cls][2]
    full = sum(1 for s in mine if s["out"] == nelems)
    out = sum(s["out"] for s in mine)
    cached = sum(model["cached"][c].get(cls, 0)
                 for c, n in enumerate(CPU_NODE) if n == node)
    return {"spans": len(mine), "partial": len(mine) - full, "full": full,
            "empty": sum(1 for s in mine if s["out"] == 0),
            "objs_total": len(mine) * nelems, "objs_out": out, "cached": cached,
            "in_use": max(out - cached, 0), "lock": 3 * len(mine) + 7,
            "from_heap": len(mine) + 2, "to_heap": 2}


def heap_stats(model, node):
    """ka_mheap_stats_read() for the model: 512-page chunks, node 1 has a free one."""
    small = sum(s["pages"] for s in model["spans"] if s["node"] == node)
    large = model["large"].get(node, [])
    used = small + sum(sp["pages"] for sp in large)
    chunks = -(-used // 512) + node
    return [node, chunks, node, chunks * 512, used, len(large),
            sum(sp["pages"] for sp in large), sum(sp["reqsize"] for sp in large),
            chunks + 1, 1, 0, 0]


def render(model):
    """The four debugfs files, formatted as mod/ka/debugfs.c does."""
    table, nodes = model["table"], sorted(set(CPU_NODE))
    sizeclasses = ["# class  bytes/obj  bytes/span  objects  tail waste  max waste\n"]
    prev = 0
    for cls in range(1, len(table)):
        size, npages, nelems = table[cls]
        tail = npages * PAGE - nelems * size
        pct = ((size - prev - 1) * nelems + tail) * 10000 // (npages * PAGE)
        sizeclasses.append("%7u %10u %11u %8u %11u %6lu.%02lu%%\n" % (
            cls, size, npages * PAGE, nelems, tail, pct // 100, pct % 100))
        prev = size
    c = COUNTERS
    stats = ["version 2\n",
             "allocs %lu\nfrees %lu\ncache_hits %lu\nrefills %lu\nflushes %lu\n" % (
                 c["allocs"], c["frees"], c["cache_hits"], c["refills"], c["flushes"]),
             "large_allocs %lu\nlarge_frees %lu\nremote_frees %lu\nrefused_frees %lu\n"
             "failed_allocs %lu\ndebug_reports %lu\n" % (
                 c["large_allocs"], c["large_frees"], c["remote_frees"],
                 c["refused_frees"], c["failed_allocs"], DEBUG_REPORTS),
             "busy %lu\natomic_refused %lu\npcpu_budget %lu\n" % (0, 0, PCPU_BUDGET),
             "\n# cpu node cached_bytes capacity_bytes grows shrinks\n"]
    for cpu, node in enumerate(CPU_NODE):
        cached = cpu_cached_bytes(model, cpu)
        stats.append("cpu %d %d %lu %lu %lu %lu\n" % (
            cpu, node, cached, cpu_capacity(model, cpu), 10 + cpu, cpu))
    stats += ["\n# node class size spans partial full empty objects in_use free cached "
             "bytes_in_use bytes_held occupancy% lock_acq spans_from_heap spans_to_heap\n"]
    in_use_bytes = 0
    for node in nodes:
        for cls in range(1, len(table)):
            st = class_stats(model, node, cls)
            if not st:
                continue
            size, npages, _ = table[cls]
            in_use_bytes += st["in_use"] * size
            stats.append("class %d %u %u %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu "
                         "%lu %lu %lu\n" % (
                             node, cls, size, st["spans"], st["partial"], st["full"],
                             st["empty"], st["objs_total"], st["in_use"],
                             st["objs_total"] - st["objs_out"], st["cached"],
                             st["in_use"] * size, st["spans"] * npages * PAGE,
                             st["in_use"] * 100 // st["objs_total"] if st["objs_total"] else 0,
                             st["lock"], st["from_heap"], st["to_heap"]))
    stats.append("\n# node chunks free_chunks pages_held pages_used large_objects "
                 "large_pages large_bytes chunks_alloced chunks_freed chunk_fallbacks "
                 "alloc_failed\n")
    held = used = 0
    for node in nodes:
        h = heap_stats(model, node)
        held, used, in_use_bytes = held + h[3], used + h[4], in_use_bytes + h[7]
        stats.append("heap %d %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu\n" % tuple(h))
    stats.append("\npages_held %lu\npages_used %lu\nbytes_in_use %lu\n" % (
        held, used, in_use_bytes))
    stats.append("heap_free_bytes %lu\n" % ((held - used) * PAGE))
    stats.append("pages_released %lu\npages_holes %lu\nscavenged_pages %lu\n" %
                 SCAVENGER)
    spans = ["# chunk:page class node pages out/objects list bitmap"
             "('#' out, '.' free, '+' mixed)\n"]
    line = "%-10s %2u %d %4u %3u/%-3u %-7s %s\n"
    for node in nodes:
        for cls in range(1, len(table)):
            mine = [s for s in model["spans"] if (s["node"], s["class"]) == (node, cls)]
            partial = sorted((s for s in mine if s["out"] < s["objects"]),
                             key=lambda s: s["out"] == 0)    # empty spans last
            for s in partial + [s for s in mine if s["out"] == s["objects"]]:
                spans.append(line % ("%u:%u" % s["at"], cls, node, s["pages"], s["out"],
                                     s["objects"], "full" if s["out"] == s["objects"]
                                     else "partial", bitmap(s["bits"], s["objects"])))
        for sp in model["large"].get(node, []):
            spans.append(line % ("%u:%u" % sp["at"], 0, node, sp["pages"], 1, 1, "large", "#"))
    percpu = ["# cpu node objects [class:count ...]\n"]
    for cpu, node in enumerate(CPU_NODE):
        have = sorted((k, v) for k, v in model["cached"][cpu].items() if v)
        percpu.append("%d %d %lu" % (cpu, node, sum(v for _, v in have))
                      + "".join(" %u:%u" % kv for kv in have) + "\n")
    return {"stats": "".join(stats), "spans": "".join(spans),
            "percpu": "".join(percpu), "sizeclasses": "".join(sizeclasses)}


def write_sample(path, model=None):
    """Write the sample's files into @path; return the model."""
    model = model or build_model()
    os.makedirs(path, exist_ok=True)
    for name, text in render(model).items():
        with open(os.path.join(path, name), "w", encoding="ascii") as fh:
            fh.write(text)
    return model


def pb_varint(v):
    """A protobuf varint."""
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7f) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def pb_int(field, v):
    """Field @field as a varint."""
    return pb_varint(field << 3) + pb_varint(v)


def pb_msg(field, body):
    """Field @field, length-delimited."""
    return pb_varint(field << 3 | 2) + pb_varint(len(body)) + body


def heap_profile(samples, period=524288):
    """A profile.proto heap profile, written the way mod/ka/profile.c writes it
    (packed repeated fields, one function per location): @samples are
    (stack of function names, leaf first, [4 values][, ka_cache name])."""
    strings = ["", "alloc_objects", "count", "alloc_space", "bytes",
               "inuse_objects", "inuse_space", "space", "a comment"]
    def sid(s):
        if s not in strings:
            strings.append(s)
        return strings.index(s)
    body = b""
    for t, u in (("alloc_objects", "count"), ("alloc_space", "bytes"),
                 ("inuse_objects", "count"), ("inuse_space", "bytes")):
        body += pb_msg(1, pb_int(1, sid(t)) + pb_int(2, sid(u)))
    funcs = []
    for stack, values, *cache in samples:
        ids = []
        for name in stack:
            if name not in funcs:
                funcs.append(name)
            ids.append(funcs.index(name) + 1)
        packed_l = b"".join(pb_varint(i) for i in ids)
        packed_v = b"".join(pb_varint(v) for v in values)
        label = pb_msg(3, pb_int(1, sid("bytes")) + pb_int(3, 64))
        if cache:
            label += pb_msg(3, pb_int(1, sid("cache")) + pb_int(2, sid(cache[0])))
        body += pb_msg(2, pb_msg(1, packed_l) + pb_msg(2, packed_v) + label)
    for i, name in enumerate(funcs, 1):
        body += pb_msg(5, pb_int(1, i) + pb_int(2, sid(name)))
        body += pb_msg(4, pb_int(1, i) + pb_int(3, 0x1000 * i)
                       + pb_msg(4, pb_int(1, i)))
    body += pb_int(12, period) + pb_int(13, sid("a comment"))
    return b"".join(pb_msg(6, s.encode()) for s in strings) + body


HEAP_SAMPLES = [
    (["leak_a [m]", "caller_x [m]", "do_init"], [10, 10240, 8, 8192]),
    (["leak_a [m]", "caller_y [m]", "do_init"], [2, 2048, 2, 2048]),
    (["big_b [m]", "caller_x [m]"], [1, 1 << 20, 1, 1 << 20]),
    (["gone_c [m]"], [100, 6400, 0, 0]),
]


def run(*args, **kw):
    """Run scripts/ka-stat (through its #! line, as a user would)."""
    return subprocess.run([SCRIPT, *args], capture_output=True, text=True,
                          timeout=60, check=False, **kw)


class KaStatTest(unittest.TestCase):
    """ka-stat on the generated sample and on broken copies of it."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ka-stat-test.")
        self.dir = os.path.join(self.tmp, "debugfs")
        self.model = write_sample(self.dir)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def edit(self, name, func):
        """Replace file @name's text by func(text)."""
        path = os.path.join(self.dir, name)
        with open(path, encoding="ascii") as fh:
            text = fh.read()
        with open(path, "w", encoding="ascii") as fh:
            fh.write(func(text))

    def assert_error(self, res, *needles):
        """A one-line error on stderr, exit status 1, no traceback."""
        self.assertEqual(res.returncode, 1, res.stderr)
        self.assertNotIn("Traceback", res.stderr)
        self.assertEqual(len(res.stderr.strip().splitlines()), 1, res.stderr)
        for needle in needles:
            self.assertIn(needle, res.stderr)

    def test_size_class_table(self):
        table = size_classes()
        self.assertEqual(len(table) - 1, 60)    # NOTES.md: 61 minus the 1536 twin
        self.assertEqual(table[1], (8, 1, 512))

    def test_summary_numbers(self):
        m, table = self.model, self.model["table"]
        s = ka_stat.summarize(ka_stat.load(self.dir))
        small = sum(sp["pages"] for sp in m["spans"])
        large = [sp for sps in m["large"].values() for sp in sps]
        used = small + sum(sp["pages"] for sp in large)
        held = sum(heap_stats(m, n)[3] for n in (0, 1))
        in_use = sum(sp["reqsize"] for sp in large) + sum(
            st["in_use"] * table[cls][0] for n in (0, 1) for cls in range(1, len(table))
            for st in [class_stats(m, n, cls)] if st)
        t = s["total"]
        self.assertEqual(s["page_size"], PAGE)
        self.assertEqual((t["pages_held"], t["pages_used"]), (held, used))
        self.assertEqual(t["bytes_in_use"], in_use)
        self.assertEqual(t["internal_frag_bytes"], used * PAGE - in_use)
        self.assertEqual(t["heap_free_bytes"], (held - used) * PAGE)
        self.assertEqual(t["external_frag_pages"], held - used)
        self.assertEqual(t["cached_objects"], sum(sum(c.values()) for c in m["cached"]))
        cached = [cpu_cached_bytes(m, cpu) for cpu in range(len(CPU_NODE))]
        self.assertTrue(all(cached))
        self.assertEqual(t["cached_bytes"], sum(cached))
        self.assertEqual([c["cached_bytes"] for c in s["per_cpu"]], cached)
        self.assertEqual(s["pcpu_budget"], PCPU_BUDGET)
        self.assertEqual(s["over_budget_cpus"], [])
        self.assertEqual(s["hit_rate_pct"], round(100 * 231000 / 250000, 1))
        self.assertEqual(s["counters"], COUNTERS)
        # the nodes add up to the totals
        for key in ("pages_held", "pages_used", "bytes_in_use",
                    "internal_frag_bytes", "heap_free_bytes", "cached_objects",
                    "cached_bytes"):
            self.assertEqual(sum(n[key] for n in s["nodes"].values()), t[key], key)
        # classes: sorted by bytes held; 64 B summed over both nodes
        held_order = [r["bytes_held"] for r in s["classes"]]
        self.assertEqual(held_order, sorted(held_order, reverse=True))
        row = next(r for r in s["classes"] if r["size"] == 64)
        spans64 = [sp for sp in m["spans"] if table[sp["class"]][0] == 64]
        cached64 = sum(c.get(row["class"], 0) for c in m["cached"])
        in_use64 = sum(sp["out"] for sp in spans64) - cached64
        self.assertEqual(row["spans"], len(spans64))
        self.assertEqual(row["in_use"], in_use64)
        self.assertEqual(row["occupancy_pct"],
                         round(100 * in_use64 / (len(spans64) * table[row["class"]][2]), 1))

    def test_text_and_json(self):
        res = run(self.dir)
        self.assertEqual(res.returncode, 0, res.stderr)
        for needle in ("pages held", "internal fragmentation", "hit rate 92.4%", "large",
                       "node 1", "top classes by bytes held", "failed allocs 1",
                       "debug_reports 3"):
            self.assertIn(needle, res.stdout)
        res = run("--json", self.dir)
        self.assertEqual(res.returncode, 0, res.stderr)
        data = json.loads(res.stdout)
        self.assertEqual(data["counters"]["allocs"], 250000)
        self.assertEqual(set(data["nodes"]), {"0", "1"})

    def test_caches(self):
        with open(os.path.join(self.dir, "caches"), "w", encoding="ascii") as fh:
            fh.write("# name size class slot align active cached bytes ctor flags\n"
                     "fat_inode_cache 720 38 768 8 405 12 327680 1 0x4120000\n"
                     "fat_cache 24 3 24 8 0 0 0 0 0x140000\n"
                     "leaky 64 5 64 8 10 0 8192 0 0x0 dead\n")
        res = run(self.dir)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("caches (3):", res.stdout)
        lines = res.stdout.splitlines()
        first = lines.index("caches (3):") + 2
        self.assertTrue(lines[first].startswith("fat_inode_cache"))
        self.assertIn(" 405 ", lines[first])
        self.assertTrue(lines[first + 1].startswith("leaky") and lines[first + 1].endswith("dead"))
        data = json.loads(run("--json", self.dir).stdout)
        self.assertEqual([k["active"] for k in data["caches"]], [405, 0, 10])
        self.assertEqual(data["caches"][0]["flags"], 0x4120000)
        self.edit("caches", lambda t: t + "broken 1 2\n")
        self.assert_error(run(self.dir), "expected 'name size class")

    def test_missing_dir(self):
        self.assert_error(run(os.path.join(self.tmp, "nope")), "no such directory")

    def test_missing_files(self):
        os.unlink(os.path.join(self.dir, "percpu"))
        res = run(self.dir)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("missing: percpu", res.stdout)
        os.unlink(os.path.join(self.dir, "spans"))
        self.assert_error(run("--png", os.path.join(self.tmp, "x.png"), self.dir),
                          "missing spans")
        os.unlink(os.path.join(self.dir, "stats"))
        self.assert_error(run(self.dir), "missing stats")

    def test_truncated_mid_line(self):
        self.edit("stats", lambda t: t[:t.index("heap 0") + 12])
        with open(os.path.join(self.dir, "stats"), encoding="ascii") as fh:
            last = fh.read().count("\n") + 1
        self.assert_error(run(self.dir), f"stats:{last}: truncated line")

    def test_truncated_at_line_end(self):
        self.edit("stats", lambda t: t[:t.index("\npages_held")] + "\n")
        self.assert_error(run(self.dir), "stats: ends at line", "'pages_held'")
        # cut inside the first class line, then a newline added by the capture
        self.edit("stats", lambda t: t[:t.index("\nclass 0 1 ") + 20] + "\n")
        with open(os.path.join(self.dir, "stats"), encoding="ascii") as fh:
            last = fh.read().count("\n")
        self.assert_error(run(self.dir), f"stats:{last}: 'class' line has 7 values, "
                          "expected 17 (truncated?)")

    def test_truncated_spans(self):
        self.edit("spans", lambda t: "".join(t.splitlines(True)[:3])
                  + t.splitlines()[3][:-20] + "\n")
        self.assert_error(run("--png", os.path.join(self.tmp, "x.png"), self.dir),
                          "spans:4: bitmap has")

    def test_unknown_version(self):
        self.edit("stats", lambda t: t.replace("version 2", "version 3", 1))
        self.assert_error(run(self.dir), "stats version 3 is not supported")
        self.edit("stats", lambda t: t.replace("version 3\n", "", 1))
        self.assert_error(run(self.dir), "no 'version' line")

    def test_version_1(self):
        """A capture from before the per-CPU budget: no cpu lines, no budget."""
        self.edit("stats", lambda t: "".join(
            line for line in t.replace("version 2", "version 1", 1).splitlines(True)
            if not line.startswith(("cpu ", "pcpu_budget "))))
        s = ka_stat.summarize(ka_stat.load(self.dir))
        self.assertIsNone(s["pcpu_budget"])
        self.assertEqual(s["total"]["cached_bytes"], 0)
        self.assertEqual(run(self.dir).returncode, 0)
        # version 2 without its pcpu_budget line was cut short
        self.edit("stats", lambda t: t.replace("version 1", "version 2", 1))
        self.assert_error(run(self.dir), "without 'pcpu_budget'")

    def test_scavenger(self):
        s = ka_stat.summarize(ka_stat.load(self.dir))
        self.assertEqual(s["scavenger"], dict(zip(ka_stat.SCAVENGER, SCAVENGER)))
        self.assertNotIn("pages_released", s["other_counters"])
        res = run(self.dir)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("scavenger: 3000 pages released (11.7 MiB) from chunks in use,"
                      " 700 holes now, 2500 pages by the background pass", res.stdout)
        # a file cut short inside the scavenger's lines is an error
        self.edit("stats", lambda t: t[:t.index("pages_holes")] + "\n")
        self.assert_error(run(self.dir), "without 'pages_holes'")
        # an older ka has none: no scavenger line
        self.edit("stats", lambda t: t.replace("pages_released 3000\n", ""))
        s = ka_stat.summarize(ka_stat.load(self.dir))
        self.assertIsNone(s["scavenger"])
        res = run(self.dir)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertNotIn("scavenger:", res.stdout)

    def test_per_cpu_budget(self):
        res = run(self.dir)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("bytes in per-CPU caches", res.stdout)
        self.assertIn("per-CPU budget 1.0 MiB each: cpu 0 ", res.stdout)
        self.assertNotIn("OVER BUDGET", res.stdout)
        # a CPU whose capacity is above the budget is named
        self.edit("stats", lambda t: t.replace("\ncpu 2 1 ", "\ncpu 2 1 0 2000000 "
                                               "0 0\nx", 1))
        self.edit("stats", lambda t: "".join(
            line for line in t.splitlines(True) if not line.startswith("x")))
        res = run(self.dir)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("OVER BUDGET: cpu 2", res.stdout)
        # a cpu line cut short is an error
        self.edit("stats", lambda t: t.replace("\ncpu 1 0 ", "\ncpu 1 ", 1))
        self.assert_error(run(self.dir), "'cpu' line has")

    def test_png(self):
        out = os.path.join(self.tmp, "ka.png")
        res = run("--png", out, self.dir)
        self.assertEqual(res.returncode, 0, res.stderr)
        with open(out, "rb") as fh:
            data = fh.read()
        self.assertGreater(len(data), 10000)
        self.assertEqual(data[:8], b"\x89PNG\r\n\x1a\n")

    def test_rates(self):
        snap = ka_stat.load(self.dir)
        a = ka_stat.summarize(snap)
        b = json.loads(json.dumps(a))
        b["counters"]["allocs"] += 5000
        b["counters"]["cache_hits"] += 4000
        r = ka_stat.rates(a, b, 2.0)
        self.assertEqual((r["allocs_per_s"], r["frees_per_s"], r["hit_rate_pct"]),
                         (2500.0, 0.0, 80.0))
        self.assertIsNone(ka_stat.rates(b, a, 2.0))    # counters were reset

    def test_watch_ctrl_c(self):
        # SIGINT back to its default in the child: a shell that starts a
        # job in the background (make check &, CI runners) ignores it, and
        # python then never turns it into KeyboardInterrupt
        proc = subprocess.Popen([SCRIPT, "--watch", "0.2", self.dir], text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                preexec_fn=lambda: signal.signal(signal.SIGINT,
                                                                 signal.SIG_DFL))
        # Ctrl-C once the first screen is out (a loaded host may take
        # seconds to start python), then a few refreshes later
        first = proc.stdout.readline()
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        out = first + out
        self.assertEqual(proc.returncode, 0, err)
        self.assertNotIn("Traceback", err)
        self.assertIn("rates over", out)
        self.assertIn("allocs 0.0/s", out)


    def test_heap(self):
        """--heap: holders by function, most in use first, un-biased values
        summed; gzip'd or plain; DIR/heap or a file."""
        import gzip
        data = heap_profile(HEAP_SAMPLES)
        with open(os.path.join(self.dir, "heap"), "wb") as fh:
            fh.write(data)
        gz = os.path.join(self.tmp, "heap.pb.gz")
        with open(gz, "wb") as fh:
            fh.write(gzip.compress(data))
        for where in (self.dir, gz):
            res = run("--heap", where)
            self.assertEqual(res.returncode, 0, res.stderr)
            lines = res.stdout.splitlines()
            rows = [l for l in lines if " [m]" in l]
            self.assertIn("big_b [m]", rows[0])
            self.assertIn("1.0 MiB", rows[0])
            self.assertIn("leak_a [m]", rows[1])
            self.assertIn("10.0 KiB", rows[1])        # 8192 + 2048 in use
            self.assertIn("caller_x [m]", rows[1])    # its biggest caller
            self.assertIn("gone_c [m]", rows[2])
            self.assertIn("a comment", res.stdout)
            self.assertIn("profile_rate 524288", res.stdout)
        res = run("--heap", "--json", self.dir)
        top = json.loads(res.stdout)
        self.assertEqual([r["function"] for r in top],
                         ["big_b [m]", "leak_a [m]", "gone_c [m]"])
        self.assertEqual(top[1]["inuse_objects"], 10)
        self.assertEqual(top[1]["alloc_space"], 12288)
        self.assertEqual(top[2]["alloc_objects"], 100)

    def test_heap_cache(self):
        """--heap: a ka_cache's objects (label cache=NAME) apart from the
        kmalloc ones of the same function, and per cache."""
        data = heap_profile([
            (["mk [m]"], [4, 4096, 4, 4096], "inodes"),
            (["mk [m]"], [2, 2048, 2, 2048], "dentries"),
            (["mk [m]"], [1, 512, 1, 512]),
            (["mk [m]", "again [m]"], [4, 4096, 4, 4096], "inodes"),
        ])
        with open(os.path.join(self.dir, "heap"), "wb") as fh:
            fh.write(data)
        res = run("--heap", self.dir)
        self.assertEqual(res.returncode, 0, res.stderr)
        rows = [l for l in res.stdout.splitlines() if " [m]" in l]
        self.assertEqual(len(rows), 3)
        self.assertIn("mk [m] (cache inodes)", rows[0])
        self.assertIn("8.0 KiB", rows[0])
        self.assertIn("mk [m] (cache dentries)", rows[1])
        self.assertNotIn("cache", rows[2])
        top = json.loads(run("--heap", "--json", self.dir).stdout)
        self.assertEqual([r.get("cache") for r in top],
                         ["inodes", "dentries", None])
        self.assertEqual(top[0]["inuse_objects"], 8)

    def test_heap_broken(self):
        """--heap on a cut, empty or foreign file: one line, exit 1."""
        data = heap_profile(HEAP_SAMPLES)
        path = os.path.join(self.dir, "heap")
        for bad, needle in ((data[:len(data) // 2], "heap"), (b"", "empty"),
                            (pb_msg(6, b"") + pb_int(12, 5), "no sample type"),
                            (b"\x1f\x8bxx", "gzip")):
            with self.subTest(needle=needle):
                with open(path, "wb") as fh:
                    fh.write(bad)
                self.assert_error(run("--heap", self.dir), needle)
        self.assert_error(run("--heap", os.path.join(self.tmp, "none")),
                          "No such file")

    def test_real_heap_captures(self):
        """Any heap profile a `make check` or `make run` left behind."""
        top = os.path.dirname(HERE)
        found = sorted(glob.glob(os.path.join(top, "out/check/*/files/heap*.pb"))
                       + glob.glob(os.path.join(top, "out/run/*.pb")))
        if not found:
            self.skipTest("no heap profile under out/")
        for path in found:
            with self.subTest(path=path):
                res = run("--heap", path)
                self.assertEqual(res.returncode, 0, res.stderr)
                self.assertIn("in use:", res.stdout)

    def test_real_captures(self):
        """Any debugfs copy a `make check` run left in out/check/*/files/."""
        top = os.path.dirname(HERE)
        found = sorted(glob.glob(os.path.join(top, "out/check/*/files/debugfs")))
        if not found:
            self.skipTest("no out/check/*/files/debugfs")
        for path in found:
            with self.subTest(path=path):
                res = run("--png", os.path.join(self.tmp, "real.png"), path)
                self.assertEqual(res.returncode, 0, res.stderr)
                self.assertEqual(run(path).returncode, 0)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--sample"] and len(sys.argv) == 3:
        write_sample(sys.argv[2])
        print(f"sample written to {sys.argv[2]}")
        sys.exit(0)
    unittest.main()
