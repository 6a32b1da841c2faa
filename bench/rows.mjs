// Times the row-reducing kernels (sum, softmax, logSoftmax, cross-entropy forward + gradient,
// LayerNorm forward + backward, BatchNorm2d forward + backward) on each path this adapter can run:
// a thread per row, a workgroup per row with a tree, a workgroup per row through subgroups
// (`wt.tuning()`'s reduceWorkgroups and subgroupReductions), and prints ms per call.
// Run after `npm run build`: node bench/rows.mjs [--quick] [--out file.json]
import { writeFileSync } from 'node:fs';
import * as wt from '../dist/webtrain.js';
import { describeAdapter, median, fmt } from './harness.mjs';

const quick = process.argv.includes('--quick');
const outAt = process.argv.indexOf('--out');
const info = await wt.init({ backend: 'webgpu' });
const adapter = describeAdapter(info.adapter ?? {});
const b = wt.backend();
console.log(`adapter: ${adapter.description}; subgroups: ${b.subgroups}`);

const big = !adapter.software;
const rows = big ? 4096 : 256;
// Gradients through wt.gradients with a given upstream gradient gy (a loss's full sum would be one
// long reduction of its own, which one thread runs alone on the thread-per-row path).
const backward = (y, x, gy) => wt.gradients(y, [x], gy, {})[0];
const cases = [
  ['sum over rows', [rows, 1024], (x) => x.sum(1)],
  ['bias gradient (sum over the batch)', [1024, rows], (x) => x.sum(0)],
  ['softmax', [rows, 1000], (x) => x.softmax(1)],
  ['logSoftmax', [rows, 1000], (x) => x.logSoftmax(1)],
  ['crossEntropy fwd + grad', [rows, 1000], (x, labels, gy) =>
    backward(wt.nn.functional.crossEntropy(x, labels, { reduction: 'none' }), x, gy.slice([0, 0], [rows, 1]).reshape([rows]))],
  ['LayerNorm fwd + bwd', [rows, 1024], (x, _, gy) => backward(wt.nn.functional.layerNorm(x, 1024), x, gy)],
  ['BatchNorm2d fwd + bwd', [big ? 64 : 8, 64, 28, 28], (x, _, gy) =>
    backward(wt.nn.functional.batchNorm(x, null, null, { training: true }), x, gy)],
];

const paths = [
  { name: 'thread per row', reduceWorkgroups: false, subgroupReductions: false },
  { name: 'workgroup, tree', reduceWorkgroups: true, subgroupReductions: false },
  ...(b.subgroups ? [{ name: 'workgroup, subgroups', reduceWorkgroups: true, subgroupReductions: true }] : []),
];

/** Reads one element of t (submits the pending work and waits for it), then frees t. */
async function sync(t) {
  const one = wt.tidy(() => t.reshape([t.size]).slice([0], [1]));
  await one.data();
  one.dispose();
  t.dispose();
}

const reps = quick ? 3 : 7;
const inner = big ? 50 : 3;
const results = [];
for (const [label, shape, f] of cases) {
  const x = wt.randn(shape, { seed: 1, requiresGrad: true });
  const gy = wt.randn(shape, { seed: 2 });
  const labels = wt.tensor(Int32Array.from({ length: shape[0] }, (_, i) => (i * 7) % shape[1]), [shape[0]], { dtype: 'i32' });
  const row = { case: `${label} ${JSON.stringify(shape)}` };
  for (const p of paths) {
    Object.assign(wt.tuning(), { reduceWorkgroups: p.reduceWorkgroups, subgroupReductions: p.subgroupReductions });
    // One call's result (a gradient's first tensor), kept by tidy for the sync's read.
    const once = () => wt.tidy(() => { const r = f(x, labels, gy); return Array.isArray(r) ? r[0] : r; });
    await sync(once()); // warm-up: pipelines compiled, buffers pooled
    const times = [];
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      for (let i = 1; i < inner; i++) once().dispose();
      await sync(once());
      times.push((performance.now() - t0) / inner);
    }
    row[p.name] = median(times);
  }
  for (const t of [x, gy, labels]) t.dispose();
  results.push(row);
  console.log(`${row.case.padEnd(52)} ${paths.map((p) => `${p.name}: ${fmt(row[p.name])} ms`).join('   ')}`);
}

console.log(`\n| case | ${paths.map((p) => p.name).join(' | ')} |\n| --- |${paths.map(() => ' ---: |').join('')}`);
for (const r of results) console.log(`| ${r.case} | ${paths.map((p) => fmt(r[p.name])).join(' | ')} |`);
if (outAt > 0) writeFileSync(process.argv[outAt + 1], JSON.stringify({ adapter, results }, null, 2));
await wt.shutdown();
