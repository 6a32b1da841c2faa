// Checks the WebGPU kernels against plain-JS float64 references at sizes that exercise the real-GPU
// paths (workgroup-memory matmul tiles with ragged edges, long reduction rows) and prints the errors.
// Run after `npm run build`: node bench/gpu-check.mjs [--out file.json]
// Exit code 1 when any check fails (relative error ‖out − ref‖ / ‖ref‖ over 1e-5, or a NaN).
import { writeFileSync } from 'node:fs';
import * as wt from '../dist/webtrain.js';

const info = await wt.init({ backend: 'webgpu' });
console.log(`adapter: ${JSON.stringify(info.adapter)}${info.isFallback ? ' (software fallback)' : ''}`);

let seed = 12345;
const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 * 2 - 1; };
const randArr = (n) => Float64Array.from({ length: n }, rnd);
const numel = (s) => s.reduce((a, b) => a * b, 1);

/** C[b] = A[b]·B[b] in float64 (A [.., m, k], B [.., k, n]; a batch dim of 1 or absent broadcasts). */
function refMatmul(a, b, m, k, n, batch = 1, aBatched = true, bBatched = true) {
  const c = new Float64Array(batch * m * n);
  for (let t = 0; t < batch; t++) {
    const ao = aBatched ? t * m * k : 0, bo = bBatched ? t * k * n : 0, co = t * m * n;
    for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) {
      const av = a[ao + i * k + p];
      for (let j = 0; j < n; j++) c[co + i * n + j] += av * b[bo + p * n + j];
    }
  }
  return c;
}
const transpose2d = (x, r, c) => { const y = new Float64Array(r * c); for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) y[j * r + i] = x[i * c + j]; return y; };
function rowwise(x, rows, cols, f) { const out = []; for (let r = 0; r < rows; r++) out.push(f(x.subarray(r * cols, (r + 1) * cols))); return out.flat(); }
const softmaxRow = (row) => { const m = Math.max(...row); const e = Array.from(row, (v) => Math.exp(v - m)); const s = e.reduce((a, b) => a + b, 0); return e.map((v) => v / s); };

const results = [];
async function check(name, tensor, ref) {
  const got = await tensor.data();
  tensor.dispose();
  let maxAbs = 0, num = 0, den = 0, nan = false;
  for (let i = 0; i < ref.length; i++) {
    const d = got[i] - ref[i];
    if (!Number.isFinite(got[i])) nan = true;
    maxAbs = Math.max(maxAbs, Math.abs(d)); num += d * d; den += ref[i] * ref[i];
  }
  const rel = Math.sqrt(num / (den || 1));
  const ok = !nan && got.length === ref.length && rel < 1e-5;
  results.push({ name, n: ref.length, maxAbs, rel, ok });
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name.padEnd(44)} max|err| ${maxAbs.toExponential(2)}  rel ${rel.toExponential(2)}`);
}

// Matmul, forward: ragged tiles, square, non-square large, batched with a broadcast B.
for (const [m, k, n] of [[17, 33, 18], [64, 64, 64], [300, 200, 100], [513, 1000, 257], [1024, 1024, 1024]]) {
  const a = randArr(m * k), b = randArr(k * n);
  await check(`matmul [${m},${k}]x[${k},${n}]`, wt.tensor(a, [m, k]).matmul(wt.tensor(b, [k, n])), refMatmul(a, b, m, k, n));
}
{
  const [bt, m, k, n] = [3, 50, 40, 30];
  const a = randArr(bt * m * k), b = randArr(k * n);
  await check(`matmul [${bt},${m},${k}]x[${k},${n}] (batched)`, wt.tensor(a, [bt, m, k]).matmul(wt.tensor(b, [k, n])), refMatmul(a, b, m, k, n, bt, true, false));
}

// Matmul, backward (the transposed kernels): L = sum(G ⊙ A·B) → dA = G·Bᵀ, dB = Aᵀ·G.
for (const [m, k, n] of [[33, 47, 29], [300, 200, 100]]) {
  const a = randArr(m * k), b = randArr(k * n), g = randArr(m * n);
  const A = wt.tensor(a, [m, k], { requiresGrad: true }), B = wt.tensor(b, [k, n], { requiresGrad: true });
  const loss = A.matmul(B).mul(wt.tensor(g, [m, n])).sum();
  loss.backward();
  await check(`matmul grad A = G·Bᵀ [${m},${k}]`, wt.clone(A.grad), refMatmul(g, transpose2d(b, k, n), m, n, k));
  await check(`matmul grad B = Aᵀ·G [${k},${n}]`, wt.clone(B.grad), refMatmul(transpose2d(a, m, k), g, k, m, n));
}

// Reductions and softmax on long rows, and along the leading axis.
{
  const [r, c] = [4, 5000];
  const x = randArr(r * c).map((v) => v * 3), X = wt.tensor(x, [r, c]);
  await check(`sum [${r},${c}] axis 1`, X.sum(1), rowwise(x, r, c, (row) => row.reduce((a, b) => a + b, 0)));
  await check(`max [${r},${c}] axis 1`, X.max(1), rowwise(x, r, c, (row) => Math.max(...row)));
  await check(`mean [${r},${c}] axis 1`, X.mean(1), rowwise(x, r, c, (row) => row.reduce((a, b) => a + b, 0) / c));
  await check(`softmax [${r},${c}] axis 1`, X.softmax(1), rowwise(x, r, c, softmaxRow));
  await check(`logSoftmax [${r},${c}] axis 1`, X.logSoftmax(1), rowwise(x, r, c, (row) => softmaxRow(row).map(Math.log)));
  const xt = transpose2d(x, r, c);
  await check(`sum [${c},${r}] axis 0`, wt.tensor(xt, [c, r]).sum(0), rowwise(x, r, c, (row) => row.reduce((a, b) => a + b, 0)));
  const big = randArr(1 << 20);
  await check('sum of 2^20 elements', wt.tensor(big, [1 << 20]).sum(), [big.reduce((a, b) => a + b, 0)]);
}

const failed = results.filter((r) => !r.ok).length;
console.log(`${results.length - failed}/${results.length} checks passed`);
const i = process.argv.indexOf('--out');
if (i > 0) writeFileSync(process.argv[i + 1], JSON.stringify({ adapter: info.adapter, isFallback: info.isFallback, results }, null, 2) + '\n');
wt.shutdown();
process.exitCode = failed ? 1 : 0;
