// Times conv2d's passes on WebGPU (forward; forward + input gradient; forward + weight gradient,
// each with a given upstream gradient) at CIFAR-like layer sizes, and, for reference, the batched
// matmuls of the same shapes that its im2col form runs (their products alone, no patch building).
// To time the implicit kernel instead, set `conv2dTuning.gemm = false` in src/ops/conv2d.ts and rebuild.
// Run after `npm run build`: node bench/conv.mjs
import * as wt from '../dist/webtrain.js';

await wt.init({ backend: 'webgpu' });
const sw = wt.backend().isFallback;
const inner = sw ? 2 : 40, reps = sw ? 3 : 7;
async function time(label, f) {
  const sync = async (t) => { const o = wt.tidy(() => t.reshape([t.size]).slice([0], [1])); await o.data(); o.dispose(); };
  await sync(f());
  const ts = [];
  for (let r = 0; r < reps; r++) { const t0 = performance.now(); let last; for (let i = 0; i < inner; i++) { last?.dispose(); last = f(); } await sync(last); last.dispose(); ts.push((performance.now() - t0) / inner); }
  ts.sort((a, b) => a - b); console.log(label.padEnd(60), ts[reps >> 1].toFixed(4), 'ms'); return ts[reps >> 1];
}
const shapes = sw ? [[8, 16, 28, 28, 32]] : [[32, 16, 28, 28, 32], [64, 64, 32, 32, 64], [128, 3, 32, 32, 32], [32, 128, 16, 16, 128]];
for (const [n, c, h, w, o] of shapes) {
  console.log(`== x [${n}, ${c}, ${h}, ${w}], ${o} 3x3 filters, pad 1: ${(2 * n * o * h * w * c * 9 / 1e9).toFixed(3)} GFLOP per pass`);
  const x = wt.randn([n, c, h, w], { seed: 1 }), W = wt.randn([o, c, 3, 3], { seed: 2 }), b = wt.zeros([o]), gy = wt.randn([n, o, h, w], { seed: 3 });
  const xg = wt.randn([n, c, h, w], { seed: 1, requiresGrad: true }), Wg = wt.randn([o, c, 3, 3], { seed: 2, requiresGrad: true });
  await time('forward', () => wt.nn.functional.conv2d(x, W, b, { padding: 1 }));
  await time('forward + input grad', () => wt.tidy(() => wt.gradients(wt.nn.functional.conv2d(xg, W, b, { padding: 1 }), [xg], gy, {})[0]));
  await time('forward + weight grad', () => wt.tidy(() => wt.gradients(wt.nn.functional.conv2d(x, Wg, b, { padding: 1 }), [Wg], gy, {})[0]));
  const CK = c * 9, HW = h * w;
  const W2 = wt.randn([o, CK], { seed: 4 }), P = wt.randn([n, CK, HW], { seed: 5 }), G = wt.randn([n, o, HW], { seed: 6 });
  await time('GEMM fwd: W[o,CK] · P[n][CK,HW]', () => W2.matmul(P));
  await time('GEMM input: Wᵀ · G[n] (→ [n, CK, HW])', () => W2.transpose().matmul(G));
  await time('GEMM weight: G[n] · P[n]ᵀ summed over n', () => wt.tidy(() => G.matmul(P.transpose(1, 2)).sum(0)));
  for (const t of [x, W, b, gy, xg, Wg, W2, P, G]) t.dispose();
}
await wt.shutdown();
