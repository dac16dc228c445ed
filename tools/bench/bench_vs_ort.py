#!/usr/bin/env python3
"""Compares onnxc's inference speed and memory with ONNX Runtime's CPU provider
on torchvision networks, on this machine, and prints one table.

Benchmark tool only: onnxc never needs Python or Node. This driver uses the
standard library alone; the models come from tools/bench/export_models.py (run
with /usr/bin/python3: torch, torchvision, onnx) and ONNX Runtime from
onnxruntime-node, npm-installed into the cache folder and driven by
tools/bench/ort_bench.js.

For each (model, batch, threads) it runs `onnxc bench MODEL --json` and
ort_bench.js in turn, onnxc, ORT, onnxc, ORT (--rounds), and keeps each side's
best median: a burst of load from other processes then hits both sides, not one.
ORT/onnxc is ORT's time over onnxc's: above 1 onnxc is faster. Timings are only
comparable within one run of this script on one machine.

--layers answers where the time goes instead: per (model, batch, threads), both
sides run with their profilers (`onnxc bench --profile`, ort_bench.js
--profile), alternating for --rounds rounds, and one table per cell lists every
convolution and matrix product (Conv, Gemm, MatMul and their fused forms) in
execution order with each side's best per-run mean and ORT/onnxc. A layer is
paired with ORT's first unpaired node of the same FLOP count (both count 2 x
multiply-adds from the shapes), so branches run in another order still pair; a
layer with no such node shows '-' on ORT's side (ORT fused it into another, or
runs it as a different kind of node). Profiling adds a little to
every node on both sides; the sums are for finding the layers that lose, the
main table is for the whole-model verdict.

stdout: a first line describing the machine and versions, then the table(s)
(plain text, or Markdown with --markdown). Progress goes to stderr.

usage: python3 tools/bench/bench_vs_ort.py [--onnxc PATH] [--models a,b] [--batches 1,8]
       [--threads 1,2] [--runs N] [--warmup N] [--rounds N] [--cache DIR] [--no-ort]
       [--fused-unfused] [--layers] [--markdown] [--json OUT]
"""
import argparse
import json
import os
import platform
import select
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DEFAULT_MODELS = ["resnet18", "resnet50", "vgg11", "vgg16", "mobilenet_v2"]
BN_KEPT = ["resnet18", "resnet50"]  # export_models.py also writes NAME_bn.onnx for these
ORT_PACKAGE_JSON = os.path.join(ROOT, "tests", "ort", "package.json")
ORT_VERSION = "1.30.0"
NPM_TIMEOUT = 600
MB = 1024.0 * 1024.0
# the node kinds --layers compares (onnxc's op names and ORT's, fused forms included)
LAYER_OPS = {"Conv", "FusedConv", "ConvTranspose", "Gemm", "FusedGemm", "MatMul", "FusedMatMul"}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class BenchError(Exception):
    """One failed measurement; its message goes into the table cell."""


def parse_list(text, what, conv=str):
    items = [s.strip() for s in text.split(",") if s.strip()]
    if not items:
        raise SystemExit(f"bench_vs_ort.py: error: --{what} is empty")
    try:
        vals = [conv(s) for s in items]
    except ValueError:
        raise SystemExit(f"bench_vs_ort.py: error: --{what} must be a comma-separated list, got '{text}'")
    if conv is int and any(v < 1 for v in vals):
        raise SystemExit(f"bench_vs_ort.py: error: --{what} values must be at least 1, got '{text}'")
    return vals


def default_runs(batch):
    """Timed runs per round: enough for a stable median at batch 1, fewer for big
    batches, so the default table (5 models x batches 1,8 x threads 1,2, two rounds
    of both tools) stays around ten minutes on 2 cores."""
    return max(5, round(20 / batch))


def default_warmup(batch):
    return 3 if batch == 1 else 1


# ---------------------------------------------------------------- machine facts

def cpu_facts():
    model, flags = "unknown CPU", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, val = line.partition(":")
                key = key.strip()
                if key == "model name" and model == "unknown CPU":
                    model = val.strip()
                elif key == "flags" and not flags:
                    flags = set(val.split())
    except OSError:
        model = platform.processor() or model
    logical = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else logical
    isa = {k: (k in flags) for k in ("avx2", "fma", "avx512f", "avx512_vnni")}
    return {"cpu": model, "isa": isa, "logical_cores": logical, "usable_cores": usable}


def load_average():
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def torch_version(python):
    try:
        p = subprocess.run([python, "-c", "import torch, torchvision; print(torch.__version__, torchvision.__version__)"],
                           capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if p.returncode != 0:
        return None
    t, tv = p.stdout.split()
    return {"torch": t, "torchvision": tv}


def onnxc_commit():
    try:
        p = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                           capture_output=True, text=True, timeout=30)
        return p.stdout.strip() if p.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired):
        return None


# ---------------------------------------------------------------- models

def model_path(cache, name):
    """A name ending in .onnx is used as a path; anything else is an export in the cache."""
    if name.endswith(".onnx"):
        return os.path.abspath(name)
    return os.path.join(cache, f"{name}.onnx")


def ensure_models(cache, models, bn_models, python):
    """Runs export_models.py for the models whose files are missing."""
    plain = [m for m in models if not m.endswith(".onnx") and not os.path.exists(model_path(cache, m))]
    bn = [m for m in bn_models if not os.path.exists(model_path(cache, m + "_bn"))]
    if not plain and not bn:
        return
    if not os.path.exists(python):
        log(f"cannot export {', '.join(plain + [m + '_bn' for m in bn])}: {python} not found")
        return
    log(f"exporting {', '.join(plain + [m + '_bn' for m in bn])} into {cache} (random seeded weights) ...")
    cmd = [python, os.path.join(HERE, "export_models.py"), "--cache", cache,
           "--models", ",".join(plain), "--bn-kept", ",".join(bn)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    for line in (p.stdout + p.stderr).splitlines():
        if line.startswith(("wrote ", "kept ", "error: ")) or "Error" in line:
            log("  " + line)
    if p.returncode != 0:
        log(f"export_models.py exited {p.returncode}; the rows of the missing models show an error")


# ---------------------------------------------------------------- ONNX Runtime

def install_ort(cache):
    """npm-installs onnxruntime-node into CACHE/ort once; returns (node, node_modules,
    version) or raises BenchError with the reason it is unavailable."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        raise BenchError(f"node and npm are needed for ONNX Runtime (node={node}, npm={npm}); "
                         "install Debian's nodejs and npm")
    wd = os.path.join(cache, "ort")
    os.makedirs(wd, exist_ok=True)
    modules = os.path.join(wd, "node_modules")
    installed = os.path.join(modules, "onnxruntime-node", "package.json")
    have = None
    if os.path.exists(installed):
        try:
            with open(installed) as f:
                have = json.load(f).get("version")
        except (OSError, ValueError):
            have = None
    if have != ORT_VERSION:
        if os.path.exists(ORT_PACKAGE_JSON):
            shutil.copyfile(ORT_PACKAGE_JSON, os.path.join(wd, "package.json"))
        else:
            with open(os.path.join(wd, "package.json"), "w") as f:
                json.dump({"name": "onnxc-bench-ort", "version": "0.0.0", "private": True,
                           "dependencies": {"onnxruntime-node": ORT_VERSION}}, f, indent=2)
        log(f"installing onnxruntime-node {ORT_VERSION} into {wd} (npm install --ignore-scripts) ...")
        t0 = time.monotonic()
        try:
            p = subprocess.run([npm, "install", "--ignore-scripts", "--no-audit", "--no-fund"],
                               cwd=wd, capture_output=True, text=True, timeout=NPM_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise BenchError(f"npm install of onnxruntime-node timed out after {NPM_TIMEOUT} s")
        if p.returncode != 0:
            tail = " | ".join((p.stdout + p.stderr).strip().splitlines()[-5:])
            raise BenchError(f"npm install of onnxruntime-node failed ({p.returncode}): {tail}")
        log(f"  installed in {time.monotonic() - t0:.1f} s")
    p = subprocess.run([node, "-e",
                        "const o=require(require('path').join(process.argv[1],'onnxruntime-node'));"
                        "console.log(o.env.versions.node)", modules],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        lines = [l for l in p.stderr.strip().splitlines() if "Error" in l] or p.stderr.strip().splitlines()[-1:]
        raise BenchError(f"onnxruntime-node does not load on this machine: {' '.join(lines)[:300]}")
    return node, modules, p.stdout.strip()


# ---------------------------------------------------------------- one measurement

def first_error_line(text, prog):
    """The one line of a failed tool's stderr worth showing in a cell."""
    lines = [l.strip() for l in text.strip().splitlines() if l.strip()]
    picked = next((l for l in lines if "error" in l.lower()), lines[0] if lines else "")
    for prefix in (prog + ":", "error:"):  # "onnxc: error: msg" -> "msg"
        if picked.startswith(prefix):
            picked = picked[len(prefix):].strip()
    return picked or "no message"


def run_json(cmd, timeout, prog, env=None):
    """Runs a tool that prints one JSON object on stdout; returns it or raises BenchError."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise BenchError(f"timed out after {timeout} s")
    except OSError as e:
        raise BenchError(f"cannot run {cmd[0]}: {e.strerror}")
    if p.returncode != 0:
        raise BenchError(f"{first_error_line(p.stderr or p.stdout, prog)} (exit {p.returncode})")
    text = p.stdout.strip()
    try:
        obj = json.loads(text)
    except ValueError:
        # Tolerate lines before the object (a warning on stdout): take the last line.
        try:
            obj = json.loads(text.splitlines()[-1]) if text else None
        except ValueError:
            obj = None
    if not isinstance(obj, dict):
        raise BenchError(f"no JSON object on stdout: {text[:80]!r}")
    return obj


def num(obj, key, kind=float, where=""):
    v = obj.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (kind is int and not isinstance(v, int)):
        raise BenchError(f"bad or missing '{key}' in {where} JSON")
    return v


def pick_variant(obj, name=None):
    variants = obj.get("variants")
    if not isinstance(variants, list) or not variants or not all(isinstance(v, dict) for v in variants):
        raise BenchError("onnxc bench JSON has no variants")
    if name is not None:
        for v in variants:
            if v.get("name") == name:
                return v
        raise BenchError(f"onnxc bench JSON has no '{name}' variant")
    for want in ("default", "fused"):
        for v in variants:
            if v.get("name") == want:
                return v
    return variants[0]


def onnxc_once(args, model, batch, threads, runs, warmup, compare=False):
    cmd = [args.onnxc, "bench", model, "--batch", str(batch), "--threads", str(threads),
           "--runs", str(runs), "--warmup", str(warmup), "--json"]
    if compare:
        cmd[3:3] = ["--compare", "fused,unfused"]
    obj = run_json(cmd, args.timeout, "onnxc")
    for v in obj.get("variants") or []:
        if isinstance(v, dict) and "median_ms" in v:
            num(v, "median_ms", where="onnxc bench")
    return obj


class OrtServer:
    """One `ort_bench.js --serve` process: the model is loaded once and measured
    once per request, so the alternating rounds do not pay ORT's load twice."""

    def __init__(self, ort, model, batch, threads, runs, warmup, timeout):
        node, modules, _ = ort
        cmd = [node, os.path.join(HERE, "ort_bench.js"), model, "--batch", str(batch),
               "--threads", str(threads), "--runs", str(runs), "--warmup", str(warmup), "--serve"]
        self.timeout = timeout
        self.err = tempfile.TemporaryFile()  # a file, not a pipe: chatty stderr cannot block ORT
        self.buf = b""
        try:
            self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err,
                                      env=dict(os.environ, ORT_NODE_MODULES=modules))
        except OSError as e:
            self.err.close()
            raise BenchError(f"cannot run {node}: {e.strerror}")

    def _failure(self):
        try:
            rc = self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = self.p.wait()
        self.err.seek(0)
        text = self.err.read().decode("utf-8", "replace")
        return BenchError(f"{first_error_line(text, 'ort_bench.js')} (exit {rc})")

    def measure(self):
        try:
            self.p.stdin.write(b"run\n")
            self.p.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._failure()
        fd = self.p.stdout.fileno()
        deadline = time.monotonic() + self.timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                self.p.kill()
                self.p.wait()
                raise BenchError(f"timed out after {self.timeout} s")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise self._failure()
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        try:
            obj = json.loads(line)
        except ValueError:
            obj = None
        if not isinstance(obj, dict):
            raise BenchError(f"no JSON object from ort_bench.js: {line[:80]!r}")
        num(obj, "median_ms", where="ort_bench.js")
        return obj

    def close(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            self.p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.p.stdout.close()
        self.err.close()


def measure(args, ort, name, path, batch, threads):
    """Alternates onnxc and ORT for --rounds rounds (ORT loads the model once and
    stays loaded in between); returns one result row."""
    runs = args.runs or default_runs(batch)
    warmup = args.warmup if args.warmup is not None else default_warmup(batch)
    row = {"model": name, "batch": batch, "threads": threads, "runs": runs, "warmup": warmup,
           "onnxc": None, "onnxc_error": None, "ort": None, "ort_error": None,
           "onnxc_rounds": [], "ort_rounds": []}
    if not os.path.exists(path):
        row["onnxc_error"] = row["ort_error"] = f"{os.path.basename(path)} missing (export failed?)"
        return row
    server = None
    try:
        for r in range(args.rounds):
            measure_round(args, row, path, batch, threads, runs, warmup)
            if ort is not None and row["ort_error"] is None:
                try:
                    if server is None:
                        server = OrtServer(ort, path, batch, threads, runs, warmup, args.timeout)
                    obj = server.measure()
                    row["ort_rounds"].append(obj)
                    if row["ort"] is None or obj["median_ms"] < row["ort"]["median_ms"]:
                        row["ort"] = obj
                except BenchError as e:
                    row["ort_error"] = str(e).replace(path, os.path.basename(path))
    finally:
        if server is not None:
            server.close()
    return row


def measure_round(args, row, path, batch, threads, runs, warmup):
    """One onnxc measurement into row; the best median so far is kept."""
    if row["onnxc_error"] is not None:
        return
    try:
        obj = onnxc_once(args, path, batch, threads, runs, warmup)
        v = pick_variant(obj)
        num(v, "median_ms", where="onnxc bench")
    except BenchError as e:
        row["onnxc_error"] = str(e).replace(path, os.path.basename(path))
        return
    row["onnxc_rounds"].append(obj)
    if row["onnxc"] is None or v["median_ms"] < row["onnxc"]["median_ms"]:
        row["onnxc"] = {"median_ms": v["median_ms"], "min_ms": v.get("min_ms"), "variant": v.get("name"),
                        "arena_bytes": v.get("arena_bytes"), "weight_bytes": v.get("weight_bytes"),
                        "peak_rss_bytes": obj.get("peak_rss_bytes"), "isa": obj.get("isa"),
                        "load_ms": obj.get("load_ms")}


def measure_fused(args, name, path, batch, threads):
    """`onnxc bench --compare fused,unfused` on a BN-kept model, best median per variant."""
    runs = args.runs or default_runs(batch)
    warmup = args.warmup if args.warmup is not None else default_warmup(batch)
    row = {"model": name, "batch": batch, "threads": threads, "runs": runs, "warmup": warmup,
           "fused_ms": None, "unfused_ms": None, "error": None, "rounds": []}
    if not os.path.exists(path):
        row["error"] = f"{os.path.basename(path)} missing (export failed?)"
        return row
    try:
        for r in range(args.rounds):
            obj = onnxc_once(args, path, batch, threads, runs, warmup, compare=True)
            row["rounds"].append(obj)
            for key, vname in (("fused_ms", "fused"), ("unfused_ms", "unfused")):
                v = pick_variant(obj, vname)
                ms = num(v, "median_ms", where="onnxc bench")
                row[key] = ms if row[key] is None else min(row[key], ms)
    except BenchError as e:
        row["error"] = str(e).replace(path, os.path.basename(path))
    return row


def profiled_layers(obj, who, name_key):
    """The convolution / matrix-product layers of one profiled run: [(name, detail, ms, flops)]."""
    layers = obj.get("layers")
    if not isinstance(layers, list) or not all(isinstance(l, dict) for l in layers):
        raise BenchError(f"{who} JSON has no per-layer profile")
    out = []
    for l in layers:
        if l.get("op") in LAYER_OPS:
            f = l.get("flops")
            f = f if isinstance(f, (int, float)) and not isinstance(f, bool) else 0
            out.append((str(l.get("node", "?")), str(l.get(name_key, "")), num(l, "ms", where=who), f))
    return out


def pair_layers(ours, theirs):
    """For each of our layers, ORT's first unpaired node with the same FLOP
    count (within 0.1%), or None."""
    used = [False] * len(theirs)
    out = []
    for _, _, _, f in ours:
        hit = None
        for j, t in enumerate(theirs):
            if not used[j] and f > 0 and t[3] > 0 and abs(t[3] - f) <= 1e-3 * f:
                hit = j
                break
        if hit is not None:
            used[hit] = True
        out.append(None if hit is None else theirs[hit])
    return out


def measure_layers(args, ort, name, path, batch, threads):
    """Alternates profiled onnxc and ORT runs for --rounds rounds; per layer the
    best per-run mean of each side."""
    runs = args.runs or default_runs(batch)
    warmup = args.warmup if args.warmup is not None else default_warmup(batch)
    row = {"model": name, "batch": batch, "threads": threads, "runs": runs, "warmup": warmup,
           "onnxc": None, "ort": None, "error": None, "ort_error": None, "mismatch": None}
    if not os.path.exists(path):
        row["error"] = f"{os.path.basename(path)} missing (export failed?)"
        return row
    ours, theirs = [], []
    try:
        for r in range(args.rounds):
            cmd = [args.onnxc, "bench", path, "--batch", str(batch), "--threads", str(threads),
                   "--runs", str(runs), "--warmup", str(warmup), "--profile", "--json"]
            ours.append(profiled_layers(run_json(cmd, args.timeout, "onnxc"), "onnxc bench", "kernel"))
            if ort is not None and row["ort_error"] is None:
                node, modules, _ = ort
                cmd = [node, os.path.join(HERE, "ort_bench.js"), path, "--batch", str(batch), "--threads",
                       str(threads), "--runs", str(runs), "--warmup", str(warmup), "--profile"]
                try:
                    obj = run_json(cmd, args.timeout, "ort_bench.js", env=dict(os.environ, ORT_NODE_MODULES=modules))
                    theirs.append(profiled_layers(obj, "ort_bench.js", "op"))
                except BenchError as e:
                    row["ort_error"] = str(e).replace(path, os.path.basename(path))
    except BenchError as e:
        row["error"] = str(e).replace(path, os.path.basename(path))
        return row

    def best(rounds):
        if len({len(x) for x in rounds}) != 1:
            return None
        return [(*rounds[0][i][:2], min(x[i][2] for x in rounds), rounds[0][i][3]) for i in range(len(rounds[0]))]

    row["onnxc"] = best(ours)
    if row["onnxc"] is None:
        row["error"] = "onnxc ran a different number of layers from one round to the next"
        return row
    if theirs:
        t = best(theirs)
        if t is None:
            row["mismatch"] = "ORT ran a different number of such nodes from one round to the next"
        else:
            row["ort"] = pair_layers(row["onnxc"], t)
            left = len(t) - sum(1 for x in row["ort"] if x is not None)
            if left:
                row["mismatch"] = f"{left} of ORT's {len(t)} such nodes paired with no onnxc layer"
    return row


# ---------------------------------------------------------------- tables

def fmt_ms(v):
    return "-" if v is None else (f"{v:.2f}" if v < 100 else f"{v:.1f}")


def fmt_mb(b):
    return "-" if not isinstance(b, (int, float)) or isinstance(b, bool) else f"{b / MB:.0f}"


def short(msg, width=48):
    msg = "error: " + msg
    return msg if len(msg) <= width else msg[: width - 3] + "..."


def render(headers, rows, right, markdown):
    """Aligned plain text, or a Markdown table; right[i] right-aligns column i."""
    if markdown:
        out = ["| " + " | ".join(headers) + " |",
               "|" + "|".join("---:" if r else "---" for r in right) + "|"]
        out += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
        return "\n".join(out)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells):
        return "  ".join(c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def main_table(results, with_ort, markdown):
    show_rss = any(r["onnxc"] and isinstance(r["onnxc"].get("peak_rss_bytes"), (int, float)) for r in results)
    headers = ["model", "batch", "threads", "onnxc ms"]
    if with_ort:
        headers += ["ORT ms", "ORT/onnxc"]
    headers += ["onnxc arena+weights MB"]
    if show_rss:
        headers += ["onnxc peak RSS MB"]
    if with_ort:
        headers += ["ORT peak RSS MB"]
    right = [False] + [True] * (len(headers) - 1)
    rows, errors = [], []
    for r in results:
        oc, ort = r["onnxc"], r["ort"]
        cells = [r["model"], str(r["batch"]), str(r["threads"])]
        if r["onnxc_error"]:
            errors.append(f"{r['model']} batch {r['batch']} threads {r['threads']}: onnxc: {r['onnxc_error']}")
        if r["ort_error"] and with_ort:
            errors.append(f"{r['model']} batch {r['batch']} threads {r['threads']}: ORT: {r['ort_error']}")
        cells.append(short(r["onnxc_error"]) if r["onnxc_error"] else fmt_ms(oc and oc["median_ms"]))
        if with_ort:
            cells.append(short(r["ort_error"]) if r["ort_error"] else fmt_ms(ort and ort["median_ms"]))
            ratio = ort["median_ms"] / oc["median_ms"] if oc and ort and oc["median_ms"] > 0 else None
            cells.append("-" if ratio is None else f"{ratio:.2f}")
        mem = None
        if oc and all(isinstance(oc.get(k), int) for k in ("arena_bytes", "weight_bytes")):
            mem = oc["arena_bytes"] + oc["weight_bytes"]
        cells.append(fmt_mb(mem))
        if show_rss:
            cells.append(fmt_mb(oc and oc.get("peak_rss_bytes")))
        if with_ort:
            cells.append(fmt_mb(ort and ort.get("peak_rss_bytes")))
        rows.append(cells)
    return render(headers, rows, right, markdown), errors


def fused_table(results, markdown):
    headers = ["model", "batch", "threads", "fused ms", "unfused ms", "unfused/fused"]
    right = [False, True, True, True, True, True]
    rows, errors = [], []
    for r in results:
        cells = [r["model"], str(r["batch"]), str(r["threads"])]
        if r["error"]:
            errors.append(f"{r['model']} batch {r['batch']} threads {r['threads']}: onnxc: {r['error']}")
            cells += [short(r["error"]), "-", "-"]
        else:
            f, u = r["fused_ms"], r["unfused_ms"]
            cells += [fmt_ms(f), fmt_ms(u), f"{u / f:.2f}" if f and u else "-"]
        rows.append(cells)
    return render(headers, rows, right, markdown), errors


def layers_table(r, markdown):
    """One cell's per-layer table: onnxc's layers, ORT's paired nodes beside them."""
    with_ort = r["ort"] is not None
    headers = ["#", "onnxc node", "onnxc kernel", "onnxc ms"] + (["ORT ms", "ORT/onnxc"] if with_ort else [])
    right = [True, False, False, True] + ([True, True] if with_ort else [])
    rows = []
    sum_o = sum_t = sum_p = 0.0
    for i, (node, kernel, ms, _) in enumerate(r["onnxc"]):
        cells = [str(i), node if len(node) <= 48 else "..." + node[-45:], kernel[:36], f"{ms:.3f}"]
        sum_o += ms
        if with_ort:
            t = r["ort"][i]
            if t is None:
                cells += ["-", "-"]
            else:
                sum_t += t[2]
                sum_p += ms
                cells += [f"{t[2]:.3f}", f"{t[2] / ms:.2f}" if ms > 0 else "-"]
        rows.append(cells)
    if with_ort:
        rows.append(["", "sum of the paired layers", "", f"{sum_p:.3f}", f"{sum_t:.3f}",
                     f"{sum_t / sum_p:.2f}" if sum_p > 0 else "-"])
    rows.append(["", "sum", "", f"{sum_o:.3f}"] + (["", ""] if with_ort else []))
    return render(headers, rows, right, markdown)


# ---------------------------------------------------------------- main

def progress(tool, best, error):
    return f"{tool} error: {error}" if error else f"{tool} {fmt_ms(best and best['median_ms'])} ms"


def parse_args(argv):
    ap = argparse.ArgumentParser(
        description="onnxc vs ONNX Runtime (CPU) on torchvision models; ORT/onnxc > 1 means onnxc is faster")
    ap.add_argument("--onnxc", default=os.path.join(ROOT, "build", "onnxc"),
                    help="the onnxc binary (default: build/onnxc in the repository)")
    ap.add_argument("--models", default=",".join(DEFAULT_MODELS),
                    help="comma-separated torchvision names, or paths to .onnx files "
                    f"(default: {','.join(DEFAULT_MODELS)})")
    ap.add_argument("--batches", default="1,8", help="comma-separated batch sizes (default: 1,8)")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts (default: 1,2)")
    ap.add_argument("--runs", type=int, default=None,
                    help="timed runs per round (default: 20 at batch 1, 5 at batch 8: max(5, 20/batch))")
    ap.add_argument("--warmup", type=int, default=None, help="warm-up runs (default: 3 at batch 1, else 1)")
    ap.add_argument("--rounds", type=int, default=2,
                    help="alternating rounds of onnxc then ORT; the best median of each side is kept (default: 2)")
    ap.add_argument("--cache", default=os.path.join(ROOT, "build", "bench-cache"),
                    help="models and the onnxruntime-node install (default: build/bench-cache)")
    ap.add_argument("--python", default="/usr/bin/python3",
                    help="Python with torch/torchvision/onnx for the exports (default: /usr/bin/python3)")
    ap.add_argument("--timeout", type=int, default=900, help="seconds allowed for one tool invocation (default: 900)")
    ap.add_argument("--no-ort", action="store_true", help="run onnxc only")
    ap.add_argument("--fused-unfused", action="store_true",
                    help="also compare onnxc's fused and unfused plans on the BatchNorm-kept exports "
                    f"({', '.join(m + '_bn' for m in BN_KEPT)})")
    ap.add_argument("--layers", action="store_true",
                    help="per-layer tables instead of the whole-model one: every convolution and matrix product, "
                         "onnxc's profile beside ORT's")
    ap.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    ap.add_argument("--json", metavar="OUT", help="also save every result (all rounds) as JSON")
    args = ap.parse_args(argv)
    args.models = parse_list(args.models, "models")
    args.batches = parse_list(args.batches, "batches", int)
    args.threads = parse_list(args.threads, "threads", int)
    for flag in ("runs", "rounds", "timeout"):
        v = getattr(args, flag)
        if v is not None and v < 1:
            ap.error(f"--{flag} must be at least 1")
    if args.warmup is not None and args.warmup < 0:
        ap.error("--warmup must be at least 0")
    args.onnxc = os.path.abspath(args.onnxc)
    args.cache = os.path.abspath(args.cache)
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if not os.access(args.onnxc, os.X_OK):
        sys.exit(f"bench_vs_ort.py: error: {args.onnxc} is not an executable onnxc binary "
                 "(build it, or pass --onnxc PATH)")
    os.makedirs(args.cache, exist_ok=True)
    t_start = time.monotonic()
    load_start = load_average()

    bn_models = [m for m in args.models if m in BN_KEPT] if args.fused_unfused else []
    ensure_models(args.cache, args.models, bn_models, args.python)

    ort, ort_reason = None, None
    if args.no_ort:
        ort_reason = "--no-ort"
    else:
        try:
            ort = install_ort(args.cache)
        except BenchError as e:
            ort_reason = str(e)
            log(f"ONNX Runtime unavailable, running onnxc only: {ort_reason}")

    cpu = cpu_facts()
    tv = torch_version(args.python) if os.path.exists(args.python) else None
    isa = ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in cpu["isa"].items())
    cores = f"{cpu['logical_cores']} logical cores"
    if cpu["usable_cores"] != cpu["logical_cores"]:
        cores += f" ({cpu['usable_cores']} usable)"
    versions = [f"ORT {ort[2]}" if ort else "ORT not run", f"torch {tv['torch']}" if tv else "torch unavailable"]
    commit = onnxc_commit()
    if commit:
        versions.append(f"onnxc {commit}")
    print(f"CPU: {cpu['cpu']} | {isa} | {cores} | {', '.join(versions)}", flush=True)
    if max(args.threads) > cpu["usable_cores"]:
        log(f"note: --threads {max(args.threads)} exceeds the {cpu['usable_cores']} usable cores")

    if args.layers:
        return main_layers(args, ort, ort_reason, cpu, commit, t_start)

    results = []
    for name in args.models:
        path = model_path(args.cache, name)
        label = os.path.basename(name)[:-5] if name.endswith(".onnx") else name
        for batch in args.batches:
            for threads in args.threads:
                log(f"{label} batch {batch} threads {threads} ...")
                row = measure(args, ort, label, path, batch, threads)
                log("  " + progress("onnxc", row["onnxc"], row["onnxc_error"])
                    + ("" if ort is None else ", " + progress("ORT", row["ort"], row["ort_error"])))
                results.append(row)

    fused = []
    if args.fused_unfused:
        if not bn_models:
            log(f"--fused-unfused: none of --models has a BatchNorm-kept export ({', '.join(BN_KEPT)})")
        for name in bn_models:
            for batch in args.batches:
                for threads in args.threads:
                    log(f"{name}_bn fused vs unfused, batch {batch} threads {threads} ...")
                    fused.append(measure_fused(args, f"{name}_bn", model_path(args.cache, name + "_bn"),
                                               batch, threads))

    load_end = load_average()
    print()
    table, errors = main_table(results, ort is not None, args.markdown)
    print(table)
    isas = sorted({r["onnxc"]["isa"] for r in results if r["onnxc"] and r["onnxc"].get("isa")})
    notes = []
    if ort is not None:
        notes.append("ORT/onnxc > 1: onnxc is faster")
    else:
        notes.append(f"ONNX Runtime not run: {ort_reason}")
    notes.append(f"best median of {args.rounds} alternating round(s) per side")
    if isas:
        notes.append(f"onnxc ISA: {', '.join(isas)}")
    if load_start is not None and load_end is not None:
        notes.append(f"load average {load_start:.2f} at start, {load_end:.2f} at end")
    print()
    print("; ".join(notes) + ".")
    if fused:
        print()
        ftable, ferrors = fused_table(fused, args.markdown)
        print(ftable)
        errors += ferrors
    if errors:
        print()
        print("errors:")
        for e in errors:
            print(f"  {e}")
    elapsed = time.monotonic() - t_start
    log(f"done in {elapsed / 60:.1f} min")

    if args.json:
        doc = {"machine": {**cpu, "load_average_start": load_start, "load_average_end": load_end},
               "versions": {"ort": ort[2] if ort else None, **(tv or {}), "onnxc_commit": commit},
               "ort_unavailable": ort_reason,
               "settings": {"models": args.models, "batches": args.batches, "threads": args.threads,
                            "runs": args.runs, "warmup": args.warmup, "rounds": args.rounds,
                            "onnxc": args.onnxc, "cache": args.cache},
               "results": results, "fused_unfused": fused, "elapsed_s": elapsed}
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        log(f"wrote {args.json}")
    failed = any(r["onnxc_error"] for r in results) or any(r["error"] for r in fused)
    return 1 if failed else 0


def main_layers(args, ort, ort_reason, cpu, commit, t_start):
    """--layers: one per-layer table per (model, batch, threads)."""
    rows = []
    for name in args.models:
        path = model_path(args.cache, name)
        label = os.path.basename(name)[:-5] if name.endswith(".onnx") else name
        for batch in args.batches:
            for threads in args.threads:
                log(f"{label} batch {batch} threads {threads}: per-layer profiles ...")
                r = measure_layers(args, ort, label, path, batch, threads)
                rows.append(r)
                print()
                title = f"{label}, batch {batch}, {threads} thread{'s' if threads > 1 else ''}"
                print(f"## {title}" if args.markdown else title + ":")
                if r["error"]:
                    print(f"onnxc: error: {r['error']}")
                    continue
                notes = [f"best per-run mean of {args.rounds} alternating round(s) per side, profilers on"]
                if ort is None:
                    notes.append(f"ONNX Runtime not run: {ort_reason}")
                elif r["ort_error"]:
                    notes.append(f"ORT: error: {r['ort_error']}")
                else:
                    notes.append("ORT/onnxc > 1: onnxc's layer is faster")
                    if r["mismatch"]:
                        notes.append(r["mismatch"])
                print(layers_table(r, args.markdown))
                print("; ".join(notes) + ".")
    elapsed = time.monotonic() - t_start
    log(f"done in {elapsed / 60:.1f} min")
    if args.json:
        doc = {"machine": cpu, "versions": {"ort": ort[2] if ort else None, "onnxc_commit": commit},
               "ort_unavailable": ort_reason,
               "settings": {"models": args.models, "batches": args.batches, "threads": args.threads,
                            "runs": args.runs, "warmup": args.warmup, "rounds": args.rounds, "layers": True},
               "layers": rows, "elapsed_s": elapsed}
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        log(f"wrote {args.json}")
    return 1 if any(r["error"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
