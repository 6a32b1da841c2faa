// Benchmark: f32 matmul and one MLP training step, per engine, all engines in the same Node process:
// webtrain, then TensorFlow.js with its WebGPU backend (`@tensorflow/tfjs-core` +
// `@tensorflow/tfjs-backend-webgpu`, devDependencies) on its own Dawn instance from the `webgpu` package.
// Run: npm run bench [-- --quick] [-- --cpu] [-- --only mlp] [-- --engine tfjs]
//   (or, after `npm run build`: node bench/run.mjs ...)
// --engine NAME runs only the engines whose name contains NAME ('webtrain' or 'tfjs'); --cpu runs webtrain's
// CPU backend and skips TF.js (a WebGPU-only engine here).
// Writes bench/out/results-<device>.json and prints markdown tables: one per engine, then webtrain and
// TF.js side by side with the ratio TF.js ms / webtrain ms (> 1: webtrain is faster).
//
// TF.js is loaded from a bundle of its ESM build (bench/tfjs-entry.mjs → bench/out/tfjs-webgpu.mjs, built
// here with rolldown when missing; TFJS_BUNDLE=path uses another): its CommonJS Node build has no
// gradients, and its ESM files use extensionless imports that Node cannot load unbundled.
//
// Timing: each case runs `inner` iterations per timed block with no read back inside the block, then
// forces a sync by awaiting a 1-element read; ms/iteration = block time / inner. Warm-up blocks first
// (pipeline compilation, buffer pool), then the median over the timed blocks.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as wt from '../dist/webtrain.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const cpu = args.includes('--cpu');
const REPS = quick ? 3 : 9; // timed blocks per case
const WARMUP = quick ? 1 : 2; // warm-up blocks per case
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : null; // run the cases whose id contains this
const engineFilter = args.includes('--engine') ? args[args.indexOf('--engine') + 1] : null;

// ---------------------------------------------------------------------------------------------
// Engines. Each: init() → { device, description, software }; matmul(n) and mlpStep(batch) → a case
// { run() (enqueue one iteration), sync() (await a 1-element read of the latest result), dispose() };
// memory() and counters() (optional work counters, e.g. GPU dispatches) and shutdown().

const webtrain = {
  name: 'webtrain',
  label: 'webtrain',
  async init() {
    const info = await wt.init({ backend: cpu ? 'cpu' : 'webgpu' });
    const a = info.adapter ?? {};
    const description = info.name === 'cpu' ? 'CPU backend (JavaScript)' : [a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' / ') || 'unknown adapter';
    // File name: 'cpu', the software adapter's architecture ('swiftshader'), else the GPU's name
    // (Dawn puts it in `device` on NVIDIA, where `description` is the driver version).
    const device = info.name === 'cpu' ? 'cpu' : (info.isFallback && a.architecture) || a.device || a.description || a.vendor || 'webgpu';
    return { device, description, software: info.isFallback, backend: info.name };
  },
  matmul(n) {
    const a = wt.randn([n, n], { seed: 1 });
    const b = wt.randn([n, n], { seed: 2 });
    let c = null;
    return {
      run() { c?.dispose(); c = a.matmul(b); },
      sync: () => readOne(c),
      dispose() { c?.dispose(); a.dispose(); b.dispose(); },
    };
  },
  // The training step: wt.nn.mlp (fused Linear + ReLU kernels), the fused softmax
  // cross-entropy, and Adam (lr 1e-3) as ONE fused kernel over the parameter arena.
  mlpStep(batch, sizes = [784, 256, 128, 10]) {
    const x = wt.randn([batch, sizes[0]], { seed: 3 });
    const y = wt.tensor(randomLabels(batch, sizes.at(-1), 4), [batch], { dtype: 'i32' });
    const model = wt.nn.mlp({ sizes, activation: 'relu', seed: 10 });
    const optimizer = new wt.optim.Adam(model.parameters(), { lr: 1e-3 });
    let loss = null;
    return {
      run() {
        loss?.dispose();
        optimizer.zeroGrad();
        loss = wt.tidy(() => wt.nn.functional.crossEntropy(model.forward(x), y));
        loss.backward();
        optimizer.step();
      },
      sync: () => readOne(loss),
      dispose() { loss?.dispose(); optimizer.dispose(); model.dispose(); x.dispose(); y.dispose(); },
    };
  },
  memory: () => wt.memory(),
  counters: () => (typeof wt.stats === 'function' && wt.backend().name === 'webgpu' ? wt.stats() : null),
  shutdown: () => wt.shutdown(),
};

// TensorFlow.js, WebGPU backend. TF.js's webgpu backend registers itself at import time only when
// `navigator.gpu` exists, so the shim comes first: the `webgpu` package's globals (GPUBufferUsage, …)
// and navigator.gpu from its own `create([])` (a second Dawn instance in this process, created after
// webtrain's engine has shut down; the GPU object stays referenced in `tfGpu`: Dawn crashes if it is
// garbage collected). Default TF.js flags (it submits every WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE = 15
// dispatches), as a user gets it.
let tf = null;
let tfGpu = null; // keep alive
const tfGpus = []; // likewise, probes
const tfCount = { dispatches: 0, submits: 0 };

async function loadTfjs() {
  const bench = fileURLToPath(new URL('.', import.meta.url));
  const bundle = process.env.TFJS_BUNDLE ?? `${bench}out/tfjs-webgpu.mjs`;
  if (!existsSync(bundle)) {
    const { build } = await import('rolldown');
    await build({
      input: `${bench}tfjs-entry.mjs`, platform: 'node', resolve: { mainFields: ['module', 'main'] },
      output: { file: bundle, format: 'esm' }, logLevel: 'warn',
    });
  }
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  tfGpu = create([]);
  // No usable Vulkan driver: Chromium's SwiftShader, as webtrain's own fallback does (which sets the
  // variable itself when webtrain's engine ran first in this process).
  const swiftshader = '/usr/lib/chromium/vk_swiftshader_icd.json';
  if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES && existsSync(swiftshader) && !(await tfGpu.requestAdapter())) {
    process.env.VK_ICD_FILENAMES = swiftshader;
    tfGpus.push(tfGpu);
    tfGpu = create([]);
  }
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: tfGpu, userAgent: 'node' }, configurable: true, writable: true });
  return import(pathToFileURL(bundle).href);
}

const tfjs = {
  name: 'tfjs',
  label: 'TF.js',
  async init() {
    tf = await loadTfjs();
    if (!(await tf.setBackend('webgpu'))) throw new Error('TF.js: the webgpu backend did not initialize');
    await tf.ready();
    const b = tf.backend();
    // Dispatch and submit counts: TF.js counts dispatches per pass (dispatchCountInPass, reset at each
    // submitQueue()); wrap submitQueue to accumulate them.
    const submit = b.submitQueue.bind(b);
    b.submitQueue = () => { tfCount.dispatches += b.dispatchCountInPass; tfCount.submits++; submit(); };
    const a = b.adapterInfo ?? {};
    const info = { vendor: a.vendor, architecture: a.architecture, device: a.device, description: a.description };
    const software = /swiftshader|llvmpipe|lavapipe|software/i.test(Object.values(info).join(' '));
    const description = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' / ') || 'unknown adapter';
    return { device: (software && info.architecture) || info.device || info.description || 'webgpu', description: `${description} (TF.js ${tf.version_core})`, software, backend: 'webgpu' };
  },
  matmul(n) {
    const a = tf.randomNormal([n, n], 0, 1, 'float32', 1);
    const b = tf.randomNormal([n, n], 0, 1, 'float32', 2);
    let c = null;
    return {
      run() { c?.dispose(); c = tf.matMul(a, b); },
      sync: () => tfReadOne(c),
      dispose() { c?.dispose(); a.dispose(); b.dispose(); },
    };
  },
  // The same step with TF.js's own layers-free API: variables (He-normal weights, zero biases),
  // matMul + add + relu, tf.losses.softmaxCrossEntropy on one-hot labels (mean over the batch),
  // tf.train.adam(1e-3).minimize (gradients through tf.variableGrads, then applyGradients).
  mlpStep(batch, sizes = [784, 256, 128, 10]) {
    const x = tf.randomNormal([batch, sizes[0]], 0, 1, 'float32', 3);
    const y = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(randomLabels(batch, sizes.at(-1), 4), 'int32'), sizes.at(-1)), 'float32'));
    const params = [];
    for (let i = 1; i < sizes.length; i++) {
      params.push(tf.variable(tf.randomNormal([sizes[i - 1], sizes[i]], 0, Math.sqrt(2 / sizes[i - 1]), 'float32', 10 + i)));
      params.push(tf.variable(tf.zeros([sizes[i]])));
    }
    const forward = () => {
      let h = x;
      for (let i = 0; i < params.length; i += 2) {
        h = tf.add(tf.matMul(h, params[i]), params[i + 1]);
        if (i + 2 < params.length) h = tf.relu(h);
      }
      return tf.losses.softmaxCrossEntropy(y, h);
    };
    const optimizer = tf.train.adam(1e-3);
    let loss = null;
    return {
      run() { loss?.dispose(); loss = optimizer.minimize(forward, true, params); },
      sync: () => tfReadOne(loss),
      dispose() { loss?.dispose(); optimizer.dispose(); for (const p of params) p.dispose(); x.dispose(); y.dispose(); },
    };
  },
  memory() { const m = tf.memory(); return { numTensors: m.numTensors, numBytes: m.numBytes, numBytesInGPU: m.numBytesInGPU }; },
  counters() { const b = tf.backend(); return { dispatches: tfCount.dispatches + (b.dispatchCountInPass ?? 0), submits: tfCount.submits }; },
  shutdown() { tf.engine().reset(); },
};

async function tfReadOne(t) {
  const one = tf.tidy(() => tf.slice(tf.reshape(t, [-1]), [0], [1]));
  await one.data();
  one.dispose();
}

const ENGINES = [webtrain, ...(cpu ? [] : [tfjs])].filter((e) => !engineFilter || e.name.includes(engineFilter));

// ---------------------------------------------------------------------------------------------
// Cases: sizes depend on whether the first engine runs on a real GPU.

const mlpFlops = (batch, sizes = [784, 256, 128, 10]) =>
  6 * batch * sizes.slice(1).reduce((s, out, i) => s + sizes[i] * out, 0); // forward 2BPQ, backward 4BPQ

function casesFor(software) {
  const ns = software ? [128, 256, 512] : [256, 512, 1024, 2048, 4096];
  const batches = software ? [64] : [64, 1024];
  return [
    ...ns.map((n) => ({ id: `matmul-${n}`, kind: 'matmul', label: `matmul ${n}×${n}×${n}`, make: (e) => e.matmul(n), flops: 2 * n ** 3 })),
    ...batches.map((b) => ({ id: `mlp-step-${b}`, kind: 'mlp', label: `MLP 784-256-128-10 step (Adam), batch ${b}`, make: (e) => e.mlpStep(b), flops: mlpFlops(b), batch: b })),
  ];
}

// ---------------------------------------------------------------------------------------------
// Harness.

async function timeCase(engine, c, targetMs) {
  const handle = c.make(engine);
  try {
    let counted = null; // work counters of the timed run() calls (the sync's own read excluded)
    const hostTimes = []; // time spent in run() alone: JS + encoding, before the sync waits on the device
    const block = async (inner) => {
      const t0 = performance.now();
      const c0 = engine.counters?.();
      for (let i = 0; i < inner; i++) handle.run();
      const c1 = engine.counters?.();
      hostTimes.push((performance.now() - t0) / inner);
      await handle.sync();
      const t = performance.now() - t0;
      const c2 = engine.counters?.();
      if (counted && c0) for (const k of Object.keys(c0)) counted[k] += c1[k] - c0[k];
      if (counted && c0) counted.submitsWithSync += c2.submits - c0.submits;
      return t;
    };
    // Warm-up; the first block (inner 1) also sizes `inner` so a timed block lasts about targetMs.
    const first = await block(1);
    for (let i = 1; i < WARMUP; i++) await block(1);
    const once = Math.max(await block(1), 1e-3);
    const inner = Math.max(1, Math.min(100, Math.round(targetMs / once)));
    if (engine.counters?.()) counted = { ...Object.fromEntries(Object.keys(engine.counters()).map((k) => [k, 0])), submitsWithSync: 0 };
    const times = [];
    hostTimes.length = 0;
    for (let r = 0; r < REPS; r++) times.push((await block(inner)) / inner);
    const ms = median(times);
    return {
      id: c.id, label: c.label, ms, hostMs: median(hostTimes), minMs: Math.min(...times), maxMs: Math.max(...times), inner, reps: REPS, firstMs: first,
      gflops: c.flops / (ms * 1e6),
      ...(c.batch ? { samplesPerSec: (c.batch * 1000) / ms } : {}),
      dispatchesPerIter: counted ? counted.dispatches / (REPS * inner) : undefined,
      submitsPerBlock: counted ? counted.submitsWithSync / REPS : undefined,
      buffersCreatedTimed: counted?.buffersCreated, pipelinesCreatedTimed: counted?.pipelines,
    };
  } finally {
    handle.dispose();
  }
}

async function main() {
  const results = { date: new Date().toISOString(), node: process.version, quick, engines: [] };
  let device;
  for (const engine of ENGINES) {
    const info = await engine.init();
    device ??= info; // case sizes follow the first engine's adapter, so every engine runs the same cases
    const targetMs = device.software ? (quick ? 100 : 250) : (quick ? 30 : 100);
    const cases = casesFor(device.software).filter((c) => !only || c.id.includes(only));
    const rows = [];
    for (const c of cases) {
      const r = await timeCase(engine, c, targetMs);
      rows.push(r);
      console.error(`  ${engine.name}: ${r.label}: ${fmt(r.ms)} ms`);
    }
    results.engines.push({ name: engine.name, ...info, cases: rows, memory: engine.memory(), counters: engine.counters?.() ?? null });
    engine.shutdown();
  }
  const slug = slugify(device.device) + (only ? `-only-${slugify(only)}` : ''); // a partial run keeps the full file
  mkdirSync(new URL('./out/', import.meta.url), { recursive: true });
  const file = new URL(`./out/results-${slug}.json`, import.meta.url);
  writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
  console.log(table(results));
  console.log(`\nwritten: bench/out/results-${slug}.json`);
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/** Awaits a 1-element read of t (the forced sync: submits the pending work and waits for it). */
async function readOne(t) {
  const one = wt.tidy(() => t.reshape([t.size]).slice([0], [1]));
  await one.data();
  one.dispose();
}

/** Seeded integer labels in [0, classes) (mulberry32). */
function randomLabels(n, classes, seed) {
  let s = seed >>> 0;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * classes);
  }
  return out;
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const fmt = (v, d = 3) => (v === undefined ? '–' : v >= 100 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toPrecision(d));
const slugify = (s) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'unknown';

function table(results) {
  const lines = [];
  for (const e of results.engines) {
    lines.push(`\n### ${e.name} on ${e.description}${e.software && e.backend === 'webgpu' ? ' (software adapter)' : ''}\n`);
    lines.push('| case | median ms | min–max ms | host ms | GFLOP/s | samples/s | iters/block | dispatches/iter | submits/block |');
    lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const r of e.cases) {
      lines.push(`| ${r.label} | ${fmt(r.ms)} | ${fmt(r.minMs)}–${fmt(r.maxMs)} | ${fmt(r.hostMs)} | ${fmt(r.gflops)} | ${r.samplesPerSec ? Math.round(r.samplesPerSec) : '–'} | ${r.inner} | ${fmt(r.dispatchesPerIter)} | ${fmt(r.submitsPerBlock)} |`);
    }
    const m = e.memory;
    if (e.name === 'webtrain') lines.push(`\nwt.memory() after the run: ${m.numTensors} live tensors, ${m.numBytes} bytes live, ${m.pooledBytes} bytes pooled`);
    else lines.push(`\ntf.memory() after the run: ${m.numTensors} live tensors, ${m.numBytes} bytes live, ${m.numBytesInGPU} bytes in GPU buffers`);
  }
  const [w, p] = [results.engines.find((e) => e.name === 'webtrain'), results.engines.find((e) => e.name === 'tfjs')];
  if (w && p) {
    lines.push(`\n### Side by side: webtrain vs TF.js WebGPU (same process, ${w.description})\n`);
    lines.push('| case | webtrain ms | TF.js ms | ratio TF.js / webtrain | webtrain dispatches/iter | TF.js dispatches/iter | webtrain submits/block | TF.js submits/block |');
    lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const r of w.cases) {
      const q = p.cases.find((c) => c.id === r.id);
      if (!q) continue;
      lines.push(`| ${r.label} | ${fmt(r.ms)} | ${fmt(q.ms)} | ${(q.ms / r.ms).toFixed(2)}× | ${fmt(r.dispatchesPerIter)} | ${fmt(q.dispatchesPerIter)} | ${fmt(r.submitsPerBlock)} | ${fmt(q.submitsPerBlock)} |`);
    }
  }
  return lines.join('\n');
}

await main();
