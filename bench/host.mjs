// Host (JavaScript + encoding) time per small op on WebGPU: N tiny matmuls, adds, relus and row sums
// enqueued without waiting, timed on the host only (the GPU work is negligible), after a warm-up.
// Run after `npm run build`: node bench/host.mjs   (N=20000 node bench/host.mjs for steadier figures)
import * as wt from '../dist/webtrain.js';

await wt.init({ backend: 'webgpu' });
const a = wt.randn([8, 8], { seed: 1 });
const b = wt.randn([8, 8], { seed: 2 });
const N = Number(process.env.N ?? 3000);
async function block(label, f) {
  for (let i = 0; i < 200; i++) f().dispose();
  await f().data();
  const t0 = performance.now();
  for (let i = 0; i < N; i++) f().dispose();
  const t1 = performance.now();
  await f().data();
  console.log(`${label.padEnd(8)} ${(1000 * (t1 - t0) / N).toFixed(1)} µs of host time per op`);
}
await block('matmul', () => a.matmul(b));
await block('add', () => a.add(b));
await block('relu', () => a.relu());
await block('sum', () => a.sum(1));
await wt.shutdown();
