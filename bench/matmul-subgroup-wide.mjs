// Experiment: can a subgroup-based f32 matmul (no workgroup memory, no barriers; A shared across a
// subgroup with subgroupShuffle) beat the workgroup-memory tiled kernel on GPUs with wide (32-lane)
// subgroups? Kernel: bench/matmul-subgroup-wide.wgsl (written for any subgroup size). For reference,
// shaders/matmul.wgsl (tiled) reached 36 TFLOP/s at 4096³ on an H100.
//
// Run: node bench/matmul-subgroup-wide.mjs [--sizes 256,512,1024] [--check] [--configs a,b,..]
//        [--block-ms 100] [--no-time]
//   --sizes    square sizes M = K = N to check and time
//   --check    compare every size against a full float64 CPU matmul (by default sizes over 1024³
//              are checked on 64 sampled rows, first and last included, to keep the CPU time short)
//   --configs  configurations to run, each MODE-rR-tnTN-sgW[-fixed][-pf] (default: the list below):
//              MODE shfl (A by subgroupShuffle) or bcast (A by same-address loads, the control),
//              R rows per subgroup, TN columns per lane (multiple of 4), W subgroups per workgroup,
//              -fixed: K loop compiled for the adapter's subgroup size (when min == max),
//              -pf (bcast): B loaded one step ahead
//   --block-ms target duration of one timed block of dispatches
//   --no-time  checks only;  --workgroups N  cap the workgroups per dispatch (tests the tile loop)
// Without a GPU (SwiftShader, 4-lane subgroups; small sizes only, it is slow):
//   VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json XDG_RUNTIME_DIR=/tmp \
//     node bench/matmul-subgroup-wide.mjs --sizes 64,128 --check
// Exit code 1 when any check fails (max |C − ref| / max |ref| over 1e-3, or a NaN).
// Measured on an H100 80GB HBM3 (Dawn/Vulkan, driver 580, subgroups 32), GFLOP/s at 1024/2048/4096³:
// best shfl (r8-tn8-sg4) 18.0k/31.2k/31.7k, best bcast (r16-tn8-sg4-pf) 12.7k/33.4k/34.6k, against
// 25.0k/35.0k/33.5–36.9k for the repo's tiled kernel (a.matmul(b) through dist/, same machine):
// the shuffle kernel is bound by SHFL + L1 traffic (per k and warp, R shuffles and TN/4 vec4 loads
// against R·TN/4 FMA cycles) and did not beat workgroup-memory tiling at any size.
import { readFileSync } from 'node:fs';
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const sizes = opt('--sizes', '256,512,1024').split(',').map(Number);
const fullCheck = args.includes('--check');
const blockMs = Number(opt('--block-ms', '100'));
const timeIt = !args.includes('--no-time');
// Cap on workgroups per dispatch (testing: makes workgroups loop over several tiles).
const maxWorkgroups = Number(opt('--workgroups', 'Infinity'));
let failed = false; // any wrong result or WebGPU error
// Odd shapes [M, K, N] for the edges: ragged row and column tiles, K not a multiple of the
// subgroup size; the first has N and K % 4 != 0 (scalar B/C path), the second the vec4 paths.
const oddShapes = [[257, 131, 67], [251, 36, 132]];

// ---- device ----
const gpu = create([]);
const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
if (!adapter) { console.error('No WebGPU adapter.'); process.exit(2); }
const info = adapter.info;
console.log(`adapter: ${info.vendor} / ${info.architecture} / ${info.device} / ${info.description}`);
console.log(`subgroupMinSize ${info.subgroupMinSize}, subgroupMaxSize ${info.subgroupMaxSize}`);
if (!adapter.features.has('subgroups')) {
  console.error('This adapter has no "subgroups" feature: the kernel needs subgroupShuffle. Nothing to test.');
  process.exit(2);
}
const device = await adapter.requestDevice({
  requiredFeatures: ['subgroups'],
  requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize },
});
device.addEventListener?.('uncapturederror', (e) => { console.error(`WebGPU error: ${e.error.message}`); failed = true; });
const sgMin = info.subgroupMinSize, sgMax = info.subgroupMaxSize;
if (/swiftshader/i.test(`${info.vendor} ${info.architecture} ${info.description}`)) console.log('(software adapter: timings say nothing about GPUs)');

// ---- configurations ----
const defaults = [
  'shfl-r8-tn4-sg4', 'shfl-r8-tn8-sg2', 'shfl-r8-tn8-sg4', 'shfl-r16-tn8-sg4', 'shfl-r8-tn8-sg2-fixed', 'shfl-r8-tn8-sg4-fixed',
  'bcast-r8-tn8-sg4', 'bcast-r12-tn8-sg4', 'bcast-r16-tn8-sg4', 'bcast-r8-tn8-sg2-pf', 'bcast-r16-tn8-sg2-pf', 'bcast-r16-tn8-sg4-pf',
];
const configs = (opt('--configs', null)?.split(',') ?? defaults).map((name) => {
  const m = /^(shfl|bcast)-r(\d+)-tn(\d+)-sg(\d+)(-fixed)?(-pf)?$/.exec(name);
  if (!m || Number(m[3]) % 4 || (m[6] && m[1] !== 'bcast')) throw new Error(`bad configuration ${name} (MODE-rR-tnTN-sgW[-fixed][-pf], TN a multiple of 4, -pf with bcast)`);
  return { name, mode: m[1], R: Number(m[2]), TN: Number(m[3]), spw: Number(m[4]), fixed: !!m[5], prefetch: !!m[6] };
}).filter((c) => {
  // The fixed-chunk variant only means something when the subgroup size is known in advance.
  if (c.fixed && sgMin !== sgMax) { console.log(`skip ${c.name}: subgroup size varies (${sgMin}..${sgMax})`); return false; }
  if (c.spw * sgMax > adapter.limits.maxComputeInvocationsPerWorkgroup) { console.log(`skip ${c.name}: workgroup too large`); return false; }
  return true;
});

// ---- kernel source: #if/#else/#endif and {{NAME}} ----
const template = readFileSync(new URL('./matmul-subgroup-wide.wgsl', import.meta.url), 'utf8');
function expand(src, defs) {
  const out = [], stack = []; // stack of [active, thisBranchTaken]
  for (const line of src.split('\n')) {
    const t = line.trim();
    const live = stack.every((s) => s[0]);
    if (t.startsWith('#if ')) { const v = !!defs[t.slice(4).trim()]; stack.push([v, v]); }
    else if (t === '#else') { const s = stack.at(-1); s[0] = !s[1]; }
    else if (t === '#endif') stack.pop();
    else if (live) out.push(line.replace(/\{\{(\w+)\}\}/g, (_, k) => String(defs[k])));
  }
  return out.join('\n');
}

const pipelines = new Map();
async function pipelineFor(cfg, vecA, vecB) {
  const key = `${cfg.name}/${vecA}/${vecB}`;
  if (!pipelines.has(key)) {
    const code = expand(template, {
      R: cfg.R, TNV: cfg.TN / 4, AMODE_SHUFFLE: cfg.mode === 'shfl', AMODE_BCAST: cfg.mode === 'bcast',
      VEC_A: vecA, VEC_B: vecB, PREFETCH: cfg.prefetch,
    });
    const module = device.createShaderModule({ code });
    // Async creation rejects with the compiler's message when the expanded kernel is invalid.
    pipelines.set(key, await device.createComputePipelineAsync({
      layout: 'auto',
      compute: {
        module, entryPoint: 'main',
        // WG a multiple of every possible subgroup size: no partial subgroups (shuffles read all lanes).
        constants: { WG: cfg.spw * sgMax, GROUP: 8, SG_FIXED: cfg.fixed ? sgMin : 0 },
      },
    }));
  }
  return pipelines.get(key);
}

// Workgroups to dispatch: the tile count for the smallest subgroup size (the kernel loops over
// tiles, so any count is correct; this one gives one tile per workgroup when S = subgroupMinSize).
function dispatchSize(cfg, M, K, N) {
  const nsg = (cfg.spw * sgMax) / sgMin;
  const tiles = Math.ceil(M / (nsg * cfg.R)) * Math.ceil(Math.ceil(N / 4) / (sgMin * cfg.TN / 4));
  const x = Math.min(tiles, maxWorkgroups, adapter.limits.maxComputeWorkgroupsPerDimension);
  return [x, Math.ceil(tiles / x)];
}

// ---- data and reference ----
function seeded(seed) { // mulberry32
  return () => {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const randomF32 = (n, seed) => { const r = seeded(seed); const a = new Float32Array(n); for (let i = 0; i < n; i++) a[i] = 2 * r() - 1; return a; };

/** Rows `rows` of A·B in float64 (from the f32 inputs), as one Float64Array [rows.length, N]. */
function reference(a, b, M, K, N, rows) {
  const c = new Float64Array(rows.length * N);
  rows.forEach((i, r) => {
    const o = r * N;
    for (let k = 0; k < K; k++) {
      const av = a[i * K + k], bo = k * N;
      for (let j = 0; j < N; j++) c[o + j] += av * b[bo + j];
    }
  });
  return c;
}

function checkRows(M, K, N) {
  if (fullCheck || M * K * N <= 1024 ** 3) return Array.from({ length: M }, (_, i) => i);
  const r = seeded(99), rows = new Set([0, 1, 2, 3, M - 4, M - 3, M - 2, M - 1]);
  while (rows.size < 64) rows.add(Math.floor(r() * M));
  return [...rows].sort((x, y) => x - y);
}

// ---- running ----
const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
function makeProblem(M, K, N, seed) {
  const a = randomF32(M * K, seed), b = randomF32(K * N, seed + 1);
  const buf = (size, usage) => device.createBuffer({ size: Math.ceil(size / 16) * 16, usage });
  const A = buf(a.byteLength, STORAGE), B = buf(b.byteLength, STORAGE), C = buf(M * N * 4, STORAGE);
  device.queue.writeBuffer(A, 0, a);
  device.queue.writeBuffer(B, 0, b);
  const P = buf(16, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
  device.queue.writeBuffer(P, 0, new Uint32Array([M, N, K, 0]));
  const rows = checkRows(M, K, N);
  return { M, K, N, a, b, A, B, C, P, rows, ref: null, destroy: () => [A, B, C, P].forEach((x) => x.destroy()) };
}

async function encoder(cfg, pr) {
  const vecA = cfg.mode === 'bcast' && pr.K % 4 === 0, vecB = pr.N % 4 === 0;
  const pipeline = await pipelineFor(cfg, vecA, vecB);
  const bind = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [pr.P, pr.A, pr.B, pr.C].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  const [x, y] = dispatchSize(cfg, pr.M, pr.K, pr.N);
  // n dispatches in one pass, one encoder, one submit.
  return (n) => {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    for (let i = 0; i < n; i++) pass.dispatchWorkgroups(x, y);
    pass.end();
    device.queue.submit([enc.finish()]);
    return device.queue.onSubmittedWorkDone();
  };
}

async function readC(pr) {
  const size = pr.M * pr.N * 4;
  const staging = device.createBuffer({ size: Math.ceil(size / 16) * 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(pr.C, 0, staging, 0, staging.size);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const c = new Float32Array(staging.getMappedRange().slice(0, size));
  staging.unmap();
  staging.destroy();
  return c;
}

/** Runs cfg once on a C filled with NaN (so missed outputs show) and checks it; returns max rel. error. */
async function check(cfg, pr, run) {
  device.queue.writeBuffer(pr.C, 0, new Float32Array(pr.M * pr.N).fill(NaN));
  await run(1);
  const c = await readC(pr);
  pr.ref ??= reference(pr.a, pr.b, pr.M, pr.K, pr.N, pr.rows);
  let maxRef = 0, maxErr = 0;
  pr.rows.forEach((i, r) => {
    for (let j = 0; j < pr.N; j++) {
      const ref = pr.ref[r * pr.N + j], got = c[i * pr.N + j];
      maxRef = Math.max(maxRef, Math.abs(ref));
      maxErr = Math.max(maxErr, Number.isFinite(got) ? Math.abs(got - ref) : Infinity);
    }
  });
  const rel = maxErr / (maxRef || 1);
  const ok = rel <= 1e-3;
  if (!ok) failed = true;
  const what = pr.rows.length === pr.M ? 'all rows' : `${pr.rows.length} rows`;
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${cfg.name.padEnd(24)} ${pr.M}x${pr.K}x${pr.N} (${what}): max rel err ${rel.toExponential(2)}${ok ? '' : '   <<<<<<<<<< WRONG'}`);
  return ok;
}

const fmt = (g) => (g >= 100 ? g.toFixed(0) : g.toPrecision(3));
const median = (xs) => { const s = [...xs].sort((p, q) => p - q); return s[s.length >> 1]; };
/** Dispatches per timed block: doubled until a block takes a quarter of --block-ms (so the submit
 * overhead no longer dominates the estimate), then scaled to --block-ms. */
async function blockLength(run) {
  let n = 1, took;
  for (;;) {
    const t0 = performance.now();
    await run(n);
    took = performance.now() - t0;
    if (took >= blockMs / 4 || n >= 1024) break;
    n *= 2;
  }
  return Math.max(1, Math.min(4096, Math.round((n * blockMs) / took)));
}

/** Median ms per dispatch over 5 blocks of each run. The configurations take turns, one block each
 * per round, so a drift of the GPU's clocks reaches them all alike rather than whichever ran first. */
async function timeAll(runs) {
  for (const r of runs) { await r.run(1); await r.run(1); } // first use of each pipeline
  const t0 = performance.now();
  while (performance.now() - t0 < 3 * blockMs) await runs[0].run(4); // warm up: clocks
  for (const r of runs) { r.n = await blockLength(r.run); r.ms = []; }
  for (let round = 0; round < 5; round++) {
    for (const r of runs) {
      const t = performance.now();
      await r.run(r.n);
      r.ms.push((performance.now() - t) / r.n);
    }
  }
  for (const r of runs) r.median = median(r.ms);
}

// ---- main ----
console.log(`configurations: ${configs.map((c) => c.name).join(', ')}`);
console.log(`\nedges (odd shapes):`);
for (const [M, K, N] of oddShapes) {
  const pr = makeProblem(M, K, N, 7);
  for (const cfg of configs) await check(cfg, pr, await encoder(cfg, pr));
  pr.destroy();
}

const table = [];
for (const n of sizes) {
  console.log(`\n${n}³:`);
  const pr = makeProblem(n, n, n, n);
  const row = { n, gflops: {} };
  const runs = [];
  for (const cfg of configs) {
    const run = await encoder(cfg, pr);
    if (await check(cfg, pr, run)) runs.push({ cfg, run });
  }
  if (timeIt && runs.length) {
    await timeAll(runs);
    for (const { cfg, median: ms, n: reps } of runs) {
      row.gflops[cfg.name] = 2 * n ** 3 / ms / 1e6;
      console.log(`       ${cfg.name.padEnd(24)} ${ms.toFixed(3).padStart(9)} ms  ${fmt(row.gflops[cfg.name]).padStart(6)} GFLOP/s  (median of 5 blocks of ${reps})`);
    }
  }
  table.push(row);
  pr.destroy();
}

if (timeIt && table.length) {
  console.log(`\nGFLOP/s (${info.description || info.device}, subgroups ${sgMin}..${sgMax}):\n`);
  console.log(`| config | ${table.map((r) => `${r.n}³`).join(' | ')} |\n| --- |${' ---: |'.repeat(table.length)}`);
  for (const cfg of configs) console.log(`| ${cfg.name} | ${table.map((r) => (r.gflops[cfg.name] ? fmt(r.gflops[cfg.name]) : '–')).join(' | ')} |`);
}
console.log(failed ? '\nFAILED: some results were wrong (see FAIL above).' : '\nall checks passed');
device.destroy();
process.exit(failed ? 1 : 0); // dawn keeps the event loop alive
