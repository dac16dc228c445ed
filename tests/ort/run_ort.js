#!/usr/bin/env node
// Test-only reference runner: loads an ONNX model with onnxruntime-node (ONNX
// Runtime's CPU provider), feeds inputs from .npy files and writes every output
// as OUTDIR/<output name>.npy. The onnxc product never needs Node; only the
// ort.* tests use this script.
//
// usage: node run_ort.js MODEL.onnx OUTDIR NAME=FILE.npy [NAME=FILE.npy ...]
//
// Module resolution: onnxruntime-node is looked up from ORT_NODE_MODULES (the
// node_modules directory the test installed into) and then the normal way.
'use strict';

const fs = require('fs');
const path = require('path');

function loadOrt() {
  const dir = process.env.ORT_NODE_MODULES;
  if (dir) return require(path.join(path.resolve(dir), 'onnxruntime-node'));
  return require('onnxruntime-node');
}

// ---- .npy (format 1.0/2.0/3.0), C order, little-endian; float32 and int64 ----

const DTYPES = {
  '<f4': { ort: 'float32', size: 4, Array: Float32Array },
  '<i8': { ort: 'int64', size: 8, Array: BigInt64Array },
};

function parseHeaderDict(text) {
  // The header is a Python dict literal, e.g.
  // {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shape) throw new Error(`unparsable .npy header: ${text.trim()}`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length > 0).map((s) => {
    if (!/^\d+$/.test(s)) throw new Error(`bad dimension '${s}' in .npy header`);
    return Number(s);
  });
  return { descr: descr[1], fortran: fortran[1] === 'True', shape: dims };
}

function readNpy(file) {
  const buf = fs.readFileSync(file);
  const magic = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY
  if (buf.length < 10 || !buf.subarray(0, 6).equals(magic)) throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  let headerLen;
  let offset;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    offset = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) throw new Error(`${file}: truncated .npy header`);
    headerLen = buf.readUInt32LE(8);
    offset = 12;
  } else {
    throw new Error(`${file}: unsupported .npy version ${major}`);
  }
  if (offset + headerLen > buf.length) throw new Error(`${file}: truncated .npy header`);
  const header = parseHeaderDict(buf.subarray(offset, offset + headerLen).toString(major === 3 ? 'utf8' : 'latin1'));
  if (header.fortran) throw new Error(`${file}: Fortran-order arrays are not supported`);
  const dt = DTYPES[header.descr];
  if (!dt) throw new Error(`${file}: unsupported dtype '${header.descr}' (float32 '<f4' and int64 '<i8' only)`);
  const count = header.shape.reduce((a, b) => a * b, 1);
  const start = offset + headerLen;
  const need = count * dt.size;
  if (buf.length - start < need) throw new Error(`${file}: data is ${buf.length - start} bytes, shape needs ${need}`);
  // Copy into a fresh, aligned ArrayBuffer (the Buffer's offset need not be aligned).
  const ab = new ArrayBuffer(need);
  new Uint8Array(ab).set(buf.subarray(start, start + need));
  return { type: dt.ort, dims: header.shape, data: new dt.Array(ab) };
}

function writeNpy(file, type, dims, data) {
  const descr = type === 'float32' ? '<f4' : type === 'int64' ? '<i8' : null;
  if (!descr) throw new Error(`cannot write output of type ${type} to .npy`);
  const shapeStr = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  // Pad so the data starts on a 64-byte boundary; header ends with '\n'.
  const pre = 10;
  const total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  dict = dict + ' '.repeat(total - pre - dict.length - 1) + '\n';
  const head = Buffer.alloc(pre);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(head, 0);
  head.writeUInt16LE(dict.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(dict, 'latin1'), body]));
}

function safeName(name) {
  return name.replace(/[^A-Za-z0-9_.-]/g, '_');
}

async function main() {
  const args = process.argv.slice(2);
  if (args.length < 2) {
    process.stderr.write('usage: node run_ort.js MODEL.onnx OUTDIR NAME=FILE.npy ...\n');
    process.exit(2);
  }
  const [modelPath, outDir, ...inputArgs] = args;
  const ort = loadOrt();
  const session = await ort.InferenceSession.create(modelPath, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
  });
  const feeds = {};
  for (const a of inputArgs) {
    const eq = a.indexOf('=');
    if (eq <= 0) throw new Error(`input '${a}' must be NAME=FILE.npy`);
    const name = a.slice(0, eq);
    if (!session.inputNames.includes(name)) {
      throw new Error(`model has no input '${name}' (inputs: ${session.inputNames.join(', ')})`);
    }
    const t = readNpy(a.slice(eq + 1));
    feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
  }
  for (const n of session.inputNames) {
    if (!(n in feeds)) throw new Error(`no value given for model input '${n}'`);
  }
  const results = await session.run(feeds);
  fs.mkdirSync(outDir, { recursive: true });
  for (const name of session.outputNames) {
    const t = results[name];
    const file = path.join(outDir, `${safeName(name)}.npy`);
    writeNpy(file, t.type, t.dims.map(Number), t.data);
    process.stdout.write(`output '${name}': ${t.type} [${t.dims.join(',')}]\nwrote ${file}\n`);
  }
  if (typeof session.release === 'function') await session.release();
}

main().catch((e) => {
  process.stderr.write(`run_ort.js: error: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
