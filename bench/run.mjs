// Baseline benchmark: f32 matmul and one MLP training step, per engine (only webtrain for now; a peer
// such as TF.js or jax-js is one more entry in ENGINES with the same two case builders).
// Run: npm run bench [-- --quick] [-- --cpu] [-- --only mlp]   (or, after `npm run build`: node bench/run.mjs ...)
// Writes bench/out/results-<device>.json and prints a markdown table.
//
// Timing: each case runs `inner` iterations per timed block with no read back inside the block, then
// forces a sync by awaiting a 1-element read; ms/iteration = block time / inner. Warm-up blocks first
// (pipeline compilation, buffer pool), then the median over the timed blocks.
import { mkdirSync, writeFileSync } from 'node:fs';
import * as wt from '../dist/webtrain.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const cpu = args.includes('--cpu');
const REPS = quick ? 3 : 9; // timed blocks per case
const WARMUP = quick ? 1 : 2; // warm-up blocks per case
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : null; // run the cases whose id contains this

// ---------------------------------------------------------------------------------------------
// Engines. Each: init() → { device, description, software }; matmul(n) and mlpStep(batch) → a case
// { run() (enqueue one iteration), sync() (await a 1-element read of the latest result), dispose() };
// memory() and counters() (optional work counters, e.g. GPU dispatches) and shutdown().

const webtrain = {
  name: 'webtrain',
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

const ENGINES = [webtrain];

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
    device ??= info;
    const targetMs = info.software ? (quick ? 100 : 250) : (quick ? 30 : 100);
    const cases = casesFor(info.software).filter((c) => !only || c.id.includes(only));
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
    lines.push(`\nwt.memory() after the run: ${m.numTensors} live tensors, ${m.numBytes} bytes live, ${m.pooledBytes} bytes pooled`);
  }
  return lines.join('\n');
}

await main();
