// Times the tiled matmul kernel's tile configurations on this adapter, one forced at a time through
// `wt.tuning().matmulTile`, at square and MLP-shaped products, and prints a table of GFLOP/s with the
// configuration the shape heuristic (pickMatmulTile) would choose marked, and the untiled and
// subgroup kernels for comparison (those the adapter can run). Use it to pick
// MATMUL_TILES for a GPU, or to set `wt.tuning().matmulTile` in an application.
// Run after `npm run build`: node bench/matmul-tune.mjs [--quick] [--split-only] [--out file.json]
import { writeFileSync } from 'node:fs';
import * as wt from '../dist/webtrain.js';
import { describeAdapter, median } from './harness.mjs';

const quick = process.argv.includes('--quick');
const splitOnly = process.argv.includes('--split-only'); // only the split-K comparison
const outAt = process.argv.indexOf('--out');
const info = await wt.init({ backend: 'webgpu' });
const adapter = describeAdapter(info.adapter ?? {});
const maxShared = info.limits.maxComputeWorkgroupStorageSize;
const maxThreads = info.limits.maxComputeInvocationsPerWorkgroup;
console.log(`adapter: ${adapter.description}; workgroup storage ${maxShared} B, ${maxThreads} invocations`);
wt.tuning().matmulKernel = 'tiled';

/** Candidates: each thread TM x TN outputs (multiples of 4), WX x WY threads, K slabs of BK. */
const named = Object.entries(wt.MATMUL_TILES).map(([name, t]) => ({ name, ...t }));
const extra = [
  { tm: 8, tn: 8, wx: 16, wy: 16, bk: 16 },
  { tm: 8, tn: 8, wx: 16, wy: 16, bk: 32 },
  { tm: 8, tn: 4, wx: 16, wy: 16, bk: 16 },
  { tm: 4, tn: 8, wx: 16, wy: 16, bk: 16 },
  { tm: 4, tn: 4, wx: 16, wy: 16, bk: 32 },
  { tm: 8, tn: 8, wx: 8, wy: 8, bk: 16 },
  { tm: 8, tn: 8, wx: 16, wy: 8, bk: 16 },
  { tm: 8, tn: 4, wx: 32, wy: 8, bk: 16 },
  { tm: 8, tn: 8, wx: 16, wy: 16, bk: 8, prefetch: true },
  { tm: 8, tn: 8, wx: 16, wy: 16, bk: 16, prefetch: true },
  { tm: 4, tn: 8, wx: 16, wy: 16, bk: 16, prefetch: true },
  { tm: 8, tn: 4, wx: 32, wy: 8, bk: 16, prefetch: true },
  { tm: 4, tn: 4, wx: 16, wy: 16, bk: 16, prefetch: true },
  { tm: 4, tn: 4, wx: 8, wy: 8, bk: 16, prefetch: true },
].map((t) => ({ name: `${t.tm}x${t.tn}/${t.wx}x${t.wy}/k${t.bk}${t.prefetch ? '/pf' : ''}`, ...t }));
const sharedBytes = (t) => 4 * t.bk * (t.wy * t.tm + t.wx * t.tn + 8); // + the padding vec4 per row
const fits = (t) => sharedBytes(t) <= maxShared && t.wx * t.wy <= maxThreads
  && (t.wy * t.tm * t.bk) % (t.wx * t.wy) === 0 && (t.wx * t.tn * t.bk) % (t.wx * t.wy) === 0;
const candidates = [...named, ...extra].filter(fits);

// [label, m, k, n, kind]: 'mm' is a · b; 'linear' is x · Wᵀ (the fused Linear layer's kernel).
// A software adapter (SwiftShader) gets small shapes: it only checks that every candidate compiles and runs.
const squares = adapter.software ? [64, 128] : quick ? [1024, 4096] : [512, 1024, 2048, 4096];
const batches = adapter.software ? [64] : [1024, 64];
const shapes = splitOnly ? [] : [
  ...squares.map((n) => [`${n}³`, n, n, n, 'mm']),
  ...batches.flatMap((b) => [[`MLP fwd ${b}·784ᵀ→256`, b, 784, 256, 'linear'], [`MLP bwd ${b}·256→784`, b, 256, 784, 'mm']]),
];

async function timeIt(run, sync, targetMs = quick ? 15 : 40) {
  run(); await sync(); run(); await sync();
  let t0 = performance.now(); run(); await sync();
  const once = Math.max(performance.now() - t0, 1e-3);
  const inner = Math.max(1, Math.min(200, Math.round(targetMs / once)));
  const times = [];
  for (let r = 0; r < (quick ? 3 : 5); r++) {
    t0 = performance.now();
    for (let i = 0; i < inner; i++) run();
    await sync();
    times.push((performance.now() - t0) / inner);
  }
  return median(times);
}

const gflops = (r, ms) => { const v = 2 * r.m * r.k * r.n / ms / 1e6; return v >= 100 ? v.toFixed(0) : v.toPrecision(3); };
const rows = [];
for (const [label, m, k, n, kind] of shapes) {
  const a = wt.randn([m, k], { seed: 1 });
  const b = kind === 'linear' ? wt.randn([n, k], { seed: 2 }) : wt.randn([k, n], { seed: 2 });
  let c = null;
  const run = () => { c?.dispose(); c = kind === 'linear' ? wt.nn.linear(a, b) : a.matmul(b); };
  const sync = async () => { const one = wt.tidy(() => c.reshape([c.size]).slice([0], [1])); await one.data(); one.dispose(); };
  wt.tuning().matmulTile = undefined;
  run();
  const reference = wt.keep(c);
  c = null;
  const row = { label, m, k, n, kind, heuristicMs: 0, configs: {}, maxAbsDiff: {} };
  for (const t of candidates) {
    wt.tuning().matmulTile = { tm: t.tm, tn: t.tn, wx: t.wx, wy: t.wy, bk: t.bk, prefetch: t.prefetch };
    row.configs[t.name] = await timeIt(run, sync);
    // Every configuration must compute the same product (up to f32 summation order).
    const diff = wt.tidy(() => c.sub(reference).abs().max());
    row.maxAbsDiff[t.name] = (await diff.data())[0];
    diff.dispose();
    if (!(row.maxAbsDiff[t.name] <= 1e-3 * Math.sqrt(k))) console.log(`WRONG: ${t.name} at ${label} differs by ${row.maxAbsDiff[t.name]}`);
  }
  // The other kernels (untiled; subgroup where the adapter has 4-lane subgroups), for comparison.
  row.kernels = {};
  wt.tuning().matmulTile = undefined;
  for (const kernel of info.matmulKernels.filter((x) => x !== 'tiled')) {
    wt.tuning().matmulKernel = kernel;
    row.kernels[kernel] = await timeIt(run, sync);
  }
  wt.tuning().matmulKernel = 'tiled';
  // The shape's own choice is timed last: the first timings of a new shape run slow (clocks, caches).
  row.heuristicMs = await timeIt(run, sync);
  const heuristic = row.heuristicMs;
  c?.dispose(); c = null; reference.dispose(); a.dispose(); b.dispose();
  rows.push(row);
  const best = Object.entries(row.configs).sort((x, y) => x[1] - y[1])[0];
  console.log(`${label.padEnd(24)} heuristic ${gflops(row, heuristic).padStart(6)} GFLOP/s; best ${best[0]} ${gflops(row, best[1])} GFLOP/s`);
}
wt.tuning().matmulTile = undefined;

if (!splitOnly) {
  const header = `| config | shared B | ${rows.map((r) => r.label).join(' | ')} |`;
  console.log(`\nGFLOP/s per configuration (median of timed blocks):\n\n${header}\n|${' --- |'.repeat(2)}${' ---: |'.repeat(rows.length)}`);
  console.log(`| heuristic (pickMatmulTile) | – | ${rows.map((r) => gflops(r, r.heuristicMs)).join(' | ')} |`);
  for (const kernel of Object.keys(rows[0]?.kernels ?? {})) {
    console.log(`| ${kernel} kernel | – | ${rows.map((r) => gflops(r, r.kernels[kernel])).join(' | ')} |`);
  }
  for (const t of candidates) {
    console.log(`| ${t.name} | ${sharedBytes(t)} | ${rows.map((r) => gflops(r, r.configs[t.name])).join(' | ')} |`);
  }
}

// Split-K: a weight gradient with few outputs and a long K (batch), split over K (the default) or not.
const skinny = adapter.software ? [[10, 8192, 128]] : [[10, 65536, 128], [64, 32768, 64], [256, 16384, 256]];
console.log('\nSplit-K (Aᵀ·B, A [K, M], B [K, N]), ms per product:');
for (const [m, k, n] of skinny) {
  const a = wt.randn([k, m], { seed: 5 });
  const b = wt.randn([k, n], { seed: 6 });
  let c = null;
  const run = () => { c?.dispose(); c = wt.tidy(() => a.transpose().matmul(b)); };
  const sync = async () => { const one = wt.tidy(() => c.reshape([c.size]).slice([0], [1])); await one.data(); one.dispose(); };
  const ms = {};
  for (const split of [false, true]) {
    wt.tuning().splitK = split;
    ms[split] = await timeIt(run, sync);
  }
  wt.tuning().splitK = undefined;
  console.log(`  [${m}×${k}]ᵀ·[${k}×${n}]: whole K ${ms.false.toPrecision(3)} ms, split ${ms.true.toPrecision(3)} ms (${(ms.false / ms.true).toFixed(2)}×)`);
  c?.dispose(); a.dispose(); b.dispose();
}

// What wt.autotuneMatmul() (the library's own, short autotune) picks here, per output size.
let autotune = null;
if (!adapter.software && !splitOnly) {
  const t0 = performance.now();
  autotune = await wt.autotuneMatmul({ force: true });
  const name = (t) => named.find((c) => JSON.stringify({ ...c, name: undefined }) === JSON.stringify({ ...t, name: undefined }))?.name ?? JSON.stringify(t);
  console.log(`\nwt.autotuneMatmul() in ${((performance.now() - t0) / 1000).toFixed(1)} s:`);
  for (const [i, c] of autotune.table.entries()) {
    const { size, ms } = autotune.timings[i];
    console.log(`  ${size}³ (outputs up to ${c.upTo ?? '∞'}): ${name(c.tile)}; ms per candidate ${ms.map((v) => v.toPrecision(3)).join(' / ')}`);
  }
  wt.tuning().matmulTable = undefined;
}
if (outAt > 0) writeFileSync(process.argv[outAt + 1], JSON.stringify({ date: new Date().toISOString(), adapter, candidates, rows, autotune }, null, 2) + '\n');
wt.shutdown();
