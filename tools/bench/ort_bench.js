#!/usr/bin/env node
// Benchmark tool (not part of the product: onnxc never needs Node). Times one
// ONNX model under ONNX Runtime's CPU provider through onnxruntime-node, the
// peer that tools/bench/bench_vs_ort.py compares `onnxc bench` with.
//
// usage: node ort_bench.js MODEL.onnx [--batch B] [--threads T] [--runs N]
//                          [--warmup W] [--seed S] [--shape D1,D2,...] [--serve | --profile]
//
// Session: graphOptimizationLevel 'all', intraOpNumThreads T, interOpNumThreads 1,
// sequential execution. Every float32 input gets seeded standard-normal data of
// the model's input shape with the batch (first) dimension set to B; a symbolic
// dimension elsewhere needs --shape (the full shape, batch included; a 0 there
// stands for B). After W warm-up runs, N timed runs; prints one JSON object:
//   {"median_ms", "min_ms", "load_ms", "peak_rss_bytes", "rss_before_load_bytes",
//    "ort_version", "batch", "threads", "runs", "warmup", "inputs"}
// peak_rss_bytes is the process's high-water mark (VmHWM from /proc/self/status,
// else the largest process.memoryUsage().rss seen); it includes Node itself,
// whose share is about rss_before_load_bytes.
//
// --profile turns on ORT's profiler and adds "layers": one entry per node that
// ran, in the order of its first run, {"node", "op", "ms", "flops"}, ms the mean
// of its kernel time over the N timed runs (the warm-up runs' events are
// dropped), flops 2 x the multiply-adds of a Conv, Gemm or MatMul from the
// shapes ORT records (as `onnxc bench --profile` counts them; 0 for others).
// bench_vs_ort.py --layers sets these beside `onnxc bench --profile`. The
// profiler's file goes to a fresh temporary folder and is removed.
//
// --serve keeps the session loaded for several measurements: after loading it
// reads lines from stdin, and for each line 'run' does the W + N runs and
// prints one such JSON line (load_ms is the one load); it ends at end of input.
// bench_vs_ort.py uses it so that onnxc can run between two ORT rounds without
// ORT loading the model twice (loading VGG takes ORT 10-20 s on 2 cores).
//
// Module resolution as in tests/ort/run_ort.js: onnxruntime-node from
// ORT_NODE_MODULES (a node_modules directory), then the normal way.
'use strict';

const fs = require('fs');
const path = require('path');

function loadOrt() {
  const dir = process.env.ORT_NODE_MODULES;
  if (dir) return require(path.join(path.resolve(dir), 'onnxruntime-node'));
  return require('onnxruntime-node');
}

function usage(msg) {
  if (msg) process.stderr.write(`ort_bench.js: error: ${msg}\n`);
  process.stderr.write('usage: node ort_bench.js MODEL.onnx [--batch B] [--threads T] [--runs N] '
    + '[--warmup W] [--seed S] [--shape D1,D2,...] [--serve | --profile]\n');
  process.exit(2);
}

function positiveInt(flag, text, min) {
  if (!/^\d+$/.test(text || '')) usage(`${flag} needs a whole number, got '${text}'`);
  const v = Number(text);
  if (!Number.isSafeInteger(v) || v < min) usage(`${flag} must be at least ${min}, got ${text}`);
  return v;
}

function parseArgs(argv) {
  const o = { model: null, batch: 1, threads: 1, runs: 10, warmup: 2, seed: 1234, shape: null, serve: false,
    profile: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--batch') o.batch = positiveInt(a, next(), 1);
    else if (a === '--threads') o.threads = positiveInt(a, next(), 1);
    else if (a === '--runs') o.runs = positiveInt(a, next(), 1);
    else if (a === '--warmup') o.warmup = positiveInt(a, next(), 0);
    else if (a === '--seed') o.seed = positiveInt(a, next(), 0);
    else if (a === '--shape') {
      o.shape = next().split(',').map((s) => positiveInt('--shape', s.trim(), 0));
    } else if (a === '--serve') o.serve = true;
    else if (a === '--profile') o.profile = true;
    else if (a === '-h' || a === '--help') usage();
    else if (a.startsWith('-')) usage(`unknown option '${a}'`);
    else if (o.model === null) o.model = a;
    else usage(`unexpected argument '${a}'`);
  }
  if (o.model === null) usage('no model given');
  if (o.serve && o.profile) usage('--profile takes one measurement: not with --serve');
  return o;
}

// mulberry32: a small seeded 32-bit generator, so every run feeds the same data.
function makeRng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function fillNormal(data, rng) {
  // Box-Muller, two values per pair of uniforms.
  for (let i = 0; i < data.length; i += 2) {
    const u1 = 1 - rng(); // (0, 1]: log stays finite
    const r = Math.sqrt(-2 * Math.log(u1));
    const th = 2 * Math.PI * rng();
    data[i] = r * Math.cos(th);
    if (i + 1 < data.length) data[i + 1] = r * Math.sin(th);
  }
}

// The concrete shape of one input: the model's dims with the first one set to
// the batch, or --shape (0 there means the batch).
function inputShape(meta, opts) {
  if (opts.shape) return opts.shape.map((d) => (d === 0 ? opts.batch : d));
  const dims = meta.shape;
  if (!Array.isArray(dims) || dims.length === 0) {
    throw new Error(`input '${meta.name}' has no known shape; give it with --shape`);
  }
  return dims.map((d, k) => {
    if (k === 0) {
      if (typeof d === 'number' && d > 0 && d !== opts.batch) {
        throw new Error(`input '${meta.name}' has a fixed batch of ${d}, not ${opts.batch}`);
      }
      return opts.batch;
    }
    if (typeof d !== 'number' || d <= 0) {
      throw new Error(`input '${meta.name}' dimension ${k} is symbolic ('${d}'); give the shape with --shape`);
    }
    return d;
  });
}

function vmHwmBytes() {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch (e) {
    return 0;
  }
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

const ms = (t0, t1) => Number(t1 - t0) / 1e6;

// 2 x multiply-adds of a Conv (W [M, C/g, k...], Y [N, M, ...]) or a Gemm /
// MatMul (Y [.., n], A [.., K]) from the profile's shapes; 0 when unknown.
function nodeFlops(op, args) {
  const shape = (list, i) => (Array.isArray(list) && list[i] && Array.isArray(list[i].float) ? list[i].float : null);
  const prod = (a) => a.reduce((x, y) => x * y, 1);
  const ins = args && args.input_type_shape, outs = args && args.output_type_shape;
  const y = shape(outs, 0);
  if (!y) return 0;
  if (/Conv$/.test(op) && !/Transpose/.test(op)) {
    const w = shape(ins, 1);
    return w && w.length >= 3 ? 2 * prod(y) * prod(w.slice(1)) : 0;
  }
  if (/(Gemm|MatMul)$/.test(op)) {
    const a = shape(ins, 0);
    return a && a.length >= 1 ? 2 * prod(y) * a[a.length - 1] : 0;
  }
  return 0;
}

// Per node of ORT's profile (a JSON array of trace events): the mean kernel
// time in ms of its last `runs` runs, in the order the nodes first ran.
function profileLayers(file, runs) {
  const events = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byNode = new Map();
  for (const e of events) {
    if (!e || e.cat !== 'Node' || typeof e.name !== 'string' || !e.name.endsWith('_kernel_time')) continue;
    const node = e.name.slice(0, -'_kernel_time'.length);
    if (!byNode.has(node)) {
      const op = (e.args && e.args.op_name) || '';
      byNode.set(node, { op, flops: nodeFlops(op, e.args), durs: [] });
    }
    byNode.get(node).durs.push(Number(e.dur) || 0); // microseconds
  }
  const layers = [];
  for (const [node, v] of byNode) {
    const last = v.durs.slice(-runs);
    layers.push({ node, op: v.op, ms: last.reduce((a, b) => a + b, 0) / last.length / 1000, flops: v.flops });
  }
  return layers;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(opts.model)) throw new Error(`${opts.model}: no such file`);
  let peakRss = process.memoryUsage().rss;
  const rssBefore = peakRss;
  const ort = loadOrt();

  const profDir = opts.profile ? fs.mkdtempSync(path.join(require('os').tmpdir(), 'ort-prof-')) : null;
  const t0 = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(opts.model, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: opts.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    ...(profDir ? { enableProfiling: true, profileFilePrefix: path.join(profDir, 'ort') } : {}),
  });
  const loadMs = ms(t0, process.hrtime.bigint());

  const metas = session.inputMetadata
    || session.inputNames.map((name) => ({ name, type: 'float32', shape: null }));
  if (!opts.shape && !session.inputMetadata) {
    throw new Error('this onnxruntime-node has no inputMetadata; give the input shape with --shape');
  }
  const rng = makeRng(opts.seed);
  const feeds = {};
  const inputs = {};
  for (const meta of metas) {
    if (meta.isTensor === false || (meta.type && meta.type !== 'float32')) {
      throw new Error(`input '${meta.name}' is ${meta.type || 'not a tensor'}; only float32 inputs are supported`);
    }
    const dims = inputShape(meta, opts);
    const count = dims.reduce((a, b) => a * b, 1);
    if (!Number.isSafeInteger(count) || count > 2 ** 31) throw new Error(`input '${meta.name}' ${dims} is too large`);
    const data = new Float32Array(count);
    fillNormal(data, rng);
    feeds[meta.name] = new ort.Tensor('float32', data, dims);
    inputs[meta.name] = dims;
  }

  const runOnce = async () => {
    const a = process.hrtime.bigint();
    const out = await session.run(feeds);
    const b = process.hrtime.bigint();
    for (const k of Object.keys(out)) if (typeof out[k].dispose === 'function') out[k].dispose();
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    return ms(a, b);
  };
  const measure = async () => {
    for (let i = 0; i < opts.warmup; i++) await runOnce();
    const times = [];
    for (let i = 0; i < opts.runs; i++) times.push(await runOnce());
    return {
      median_ms: median(times),
      min_ms: Math.min(...times),
      load_ms: loadMs,
      peak_rss_bytes: Math.max(peakRss, vmHwmBytes()),
      rss_before_load_bytes: rssBefore,
      ort_version: (ort.env && ort.env.versions && ort.env.versions.node) || 'unknown',
      batch: opts.batch,
      threads: opts.threads,
      runs: opts.runs,
      warmup: opts.warmup,
      inputs,
    };
  };
  if (opts.serve) {
    const rl = require('readline').createInterface({ input: process.stdin, terminal: false });
    for await (const line of rl) {
      const cmd = line.trim();
      if (cmd === '') continue;
      if (cmd !== 'run') throw new Error(`--serve: unknown request '${cmd}' (only 'run')`);
      process.stdout.write(`${JSON.stringify(await measure())}\n`);
    }
  } else if (profDir) {
    const result = await measure();
    try {
      session.endProfiling();
      const files = fs.readdirSync(profDir).filter((f) => f.endsWith('.json'));
      if (files.length !== 1) throw new Error(`expected one profile in ${profDir}, found ${files.length}`);
      result.layers = profileLayers(path.join(profDir, files[0]), opts.runs);
    } finally {
      fs.rmSync(profDir, { recursive: true, force: true });
    }
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    process.stdout.write(`${JSON.stringify(await measure())}\n`);
  }
  if (typeof session.release === 'function') await session.release();
}

main().catch((e) => {
  process.stderr.write(`ort_bench.js: error: ${e && e.message ? e.message : e}\n`);
  process.exit(1);
});
