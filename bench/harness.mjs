// The benchmark harness shared by Node (bench/run.mjs) and headless Chromium (bench/browser/main.mjs):
// the cases, the timing loop, GPU counters and the markdown tables. No Node or DOM imports here.
//
// An engine is { name, label, init() → info, shutdown(), memory()?, and case factories: matmul(n),
// mlpStep(batch), optimizerStep(params), conv2dStep(shape) }. A factory returns a handle
// { run() (enqueue one iteration), sync() (await the device finishing all of it), dispose() }, or
// null when the engine has no such case (a case an engine cannot run is left out of its table, and
// the reason goes into info.notes).
//
// Timing: each case runs `inner` iterations per timed block with no read back inside the block, then
// one sync; ms/iteration = block time / inner. Warm-up blocks first (pipeline compilation, buffer
// pools, jit tracing), then a calibration block that sets `inner` (a block lasts about targetMs
// besides its sync), then the median over the timed blocks.

/** The MLP of the issue: 784-256-128-10, ReLU, softmax cross-entropy, Adam lr 1e-3. */
export const MLP_SIZES = [784, 256, 128, 10];

/** Forward 2·B·P multiply-adds, backward 4·B·P (P = weights). */
export const mlpFlops = (batch, sizes = MLP_SIZES) => 6 * batch * sizes.slice(1).reduce((s, out, i) => s + sizes[i] * out, 0);

/** Adam reads p, g, m, v and writes p, m, v: 7 f32 = 28 bytes per parameter. */
export const ADAM_BYTES_PER_PARAM = 28;

/** Case list; sizes depend on whether the adapter is software (SwiftShader is ~10^4× slower). */
export function casesFor(software) {
  const ns = software ? [128, 256, 512] : [256, 512, 1024, 2048, 4096];
  const batches = [64, 1024];
  const optimizerSizes = software ? [1e5, 1e6] : [1e6, 1e7];
  return [
    ...ns.map((n) => ({ id: `matmul-${n}`, label: `matmul ${n}×${n}×${n}`, make: (e) => e.matmul?.(n), flops: 2 * n ** 3 })),
    ...batches.map((b) => ({ id: `mlp-step-${b}`, label: `MLP 784-256-128-10 step (Adam), batch ${b}`, make: (e) => e.mlpStep?.(b), flops: mlpFlops(b), batch: b })),
    // webtrain only: the same step with its forward and backward replayed by wt.captureStep.
    ...batches.map((b) => ({ id: `mlp-captured-${b}`, label: `MLP step (Adam), batch ${b}, captured`, make: (e) => e.mlpStepCaptured?.(b), flops: mlpFlops(b), batch: b })),
    ...optimizerSizes.map((p) => ({ id: `adam-${p / 1e6}M`, label: `Adam step alone, ${p / 1e6}M parameters`, make: (e) => e.optimizerStep?.(p), bytes: ADAM_BYTES_PER_PARAM * p })),
    // conv2d 3x3, 16 → 32 channels, padding 1, forward + input, weight and bias gradients: 3 × 2·N·32·28·28·16·9 flops.
    ...[software ? 8 : 32].map((n) => ({ id: `conv2d-${n}`, label: `conv2d 3×3 16→32 fwd+bwd, [${n}, 16, 28, 28]`, make: (e) => e.conv2dStep?.([n, 16, 28, 28]), flops: 6 * n * 32 * 28 * 28 * 16 * 9, batch: n })),
  ];
}

/**
 * Counts dispatches, submits and GPU buffer bytes for every engine alike, by wrapping the WebGPU
 * classes' prototype methods (the `webgpu` package's globals in Node, the page's in Chromium): the
 * engines' own counters differ in what they count. Buffer bytes are kept per device (created minus
 * destroyed; a destroyed device frees all of its own), and a case's peak is the most bytes alive at
 * once on the devices it used (allocated on or submitted to), pooled buffers from the engine's
 * earlier cases included. Buffers dropped without destroy() stay counted.
 */
// An engine may have `releasePooled()`: give its pooled (free, reusable) buffers back to the device
// before each case, so that the case's peak is its own.
export function installGpuCounters(classes) {
  const devices = new Map(); // GPUDevice → { live, peak }
  const counters = {
    dispatches: 0, submits: 0, touched: new Set(),
    /** Starts a case: peaks from the current sizes, no device touched yet. */
    resetPeak() { for (const d of devices.values()) d.peak = d.live; counters.touched.clear(); },
    /** Peak bytes of the devices that allocated since resetPeak(). */
    peakBytes() { let sum = 0; for (const d of counters.touched) sum += devices.get(d).peak; return sum; },
  };
  const wrap = (proto, name, after) => {
    const original = proto[name];
    proto[name] = function (...args) { const r = original.apply(this, args); after(this, args, r); return r; };
  };
  wrap(classes.GPUComputePassEncoder.prototype, 'dispatchWorkgroups', () => { counters.dispatches++; });
  const queueDevice = new WeakMap(); // a case that allocates nothing still submits: that marks its device
  wrap(classes.GPUQueue.prototype, 'submit', (queue) => {
    counters.submits++;
    if (queueDevice.has(queue)) counters.touched.add(queueDevice.get(queue));
  });
  const owner = new WeakMap(); // GPUBuffer → [device, size]
  wrap(classes.GPUDevice.prototype, 'createBuffer', (device, [descriptor], buffer) => {
    if (!devices.has(device)) queueDevice.set(device.queue, device);
    const d = devices.get(device) ?? devices.set(device, { live: 0, peak: 0 }).get(device);
    owner.set(buffer, [device, descriptor.size]);
    d.live += descriptor.size;
    d.peak = Math.max(d.peak, d.live);
    counters.touched.add(device);
  });
  wrap(classes.GPUBuffer.prototype, 'destroy', (buffer) => {
    const [device, size] = owner.get(buffer) ?? [];
    if (device && devices.has(device)) devices.get(device).live -= size;
    owner.delete(buffer);
  });
  wrap(classes.GPUDevice.prototype, 'destroy', (device) => { devices.delete(device); counters.touched.delete(device); });
  return counters;
}

/** Runs every engine over the cases of the first engine's adapter; returns the results object. */
export async function runAll(engines, { counters, reps = 9, warmup = 2, quick = false, only = null, log = () => {}, meta = {} }) {
  const results = { date: new Date().toISOString(), quick, ...meta, engines: [] };
  let device;
  for (const engine of engines) {
    const info = await engine.init();
    device ??= info; // case sizes follow the first engine's adapter, so every engine runs the same cases
    const targetMs = device.software ? (quick ? 100 : 250) : (quick ? 30 : 100);
    const rows = [];
    for (const c of casesFor(device.software).filter((x) => !only || x.id.includes(only))) {
      // Pooled memory from the engine's earlier cases would count in this case's peak: engines that
      // can give it back do so first (webtrain: wt.emptyCache(); TF.js: its buffer manager's free list).
      await engine.releasePooled?.();
      const r = await timeCase(engine, c, { targetMs, reps, warmup, counters });
      if (!r) continue;
      rows.push(r);
      log(`  ${engine.label}: ${r.label}: ${fmt(r.ms)} ms`);
    }
    results.engines.push({ name: engine.name, label: engine.label, ...info, cases: rows, memory: engine.memory?.() ?? null });
    await engine.shutdown();
  }
  results.device = device;
  return results;
}

/** Iterations per timed block at most (fast GPU cases: ~30 µs each, ~100 ms per block). */
const MAX_INNER = 4000;

async function timeCase(engine, c, { targetMs, reps, warmup, counters }) {
  const handle = c.make(engine);
  if (!handle) return null;
  counters?.resetPeak();
  try {
    let counted = null; // counters of the timed run() calls; the sync's own work counted apart
    const hostTimes = []; // time in run() alone: JS + encoding, before the sync waits on the device
    const block = async (inner) => {
      const t0 = performance.now();
      const d0 = counters?.dispatches, s0 = counters?.submits;
      for (let i = 0; i < inner; i++) handle.run();
      const d1 = counters?.dispatches, s1 = counters?.submits;
      hostTimes.push((performance.now() - t0) / inner);
      await handle.sync();
      const t = performance.now() - t0;
      if (counted && counters) {
        counted.dispatches += d1 - d0;
        counted.submitsInRun += s1 - s0;
        counted.dispatchesWithSync += counters.dispatches - d0;
        counted.submitsWithSync += counters.submits - s0;
      }
      return t;
    };
    // Warm-up, then a calibration block that sizes `inner` so a timed block's iterations last about
    // targetMs. A block of one iteration is mostly the sync's round trip (~1–2 ms on a GPU): sized from
    // it, a case of 0.03 ms got ~60 iterations per sync, and the sync's latency then passed for a
    // third of its time (and whichever engine synced faster won the small products).
    const firstMs = await block(1);
    for (let i = 1; i < warmup; i++) await block(1);
    const rough = Math.max(await block(1), 1e-3);
    const calib = Math.max(1, Math.min(100, Math.round(targetMs / (4 * rough))));
    const once = Math.max((await block(calib)) / calib, 1e-4);
    const inner = Math.max(1, Math.min(MAX_INNER, Math.round(targetMs / once)));
    counted = { dispatches: 0, submitsInRun: 0, dispatchesWithSync: 0, submitsWithSync: 0 };
    const times = [];
    hostTimes.length = 0;
    for (let r = 0; r < reps; r++) times.push((await block(inner)) / inner);
    const ms = median(times);
    const iters = reps * inner;
    // What one sync costs alone (webtrain's read back is a small slice kernel; jax-js has nothing
    // left to run by then), so the per-iteration counts exclude the harness's own syncs.
    const d0 = counters?.dispatches;
    await handle.sync();
    const syncOnly = counters ? { dispatches: counters.dispatches - d0 } : null;
    return {
      id: c.id, label: c.label, ms, hostMs: median(hostTimes), minMs: Math.min(...times), maxMs: Math.max(...times), inner, reps, firstMs,
      ...(c.flops ? { gflops: c.flops / (ms * 1e6) } : {}),
      ...(c.bytes ? { gbps: c.bytes / (ms * 1e6) } : {}),
      ...(c.batch ? { samplesPerSec: (c.batch * 1000) / ms } : {}),
      // Engines that defer work to the sync (jax-js is lazy) dispatch inside sync(): count both.
      ...(counters ? {
        dispatchesPerIter: (counted.dispatchesWithSync - reps * syncOnly.dispatches) / iters,
        submitsPerBlock: counted.submitsWithSync / reps, // a block = `inner` iterations + one sync
        peakGpuBytes: counters.peakBytes(),
      } : {}),
    };
  } finally {
    handle.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// Tables.

export const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
export const fmt = (v, d = 3) => (v === undefined || v === null ? '–' : v >= 100 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toPrecision(d));
const mb = (bytes) => (bytes === undefined ? '–' : (bytes / 2 ** 20).toFixed(1));

/** Markdown: one table per engine, then every peer beside webtrain with ratio peer ms / webtrain ms. */
export function table(results) {
  const lines = [`Runtime: ${results.runtime ?? 'unknown'}; date ${results.date}${results.quick ? '; --quick' : ''}.`];
  const engines = results.engines.filter((e) => e.cases.length); // e.g. jax-js eager outside the MLP case
  for (const e of engines) {
    lines.push(`\n#### ${e.label} on ${e.description}${e.software ? ' (software adapter)' : ''}\n`);
    for (const note of e.notes ?? []) lines.push(`- ${note}`);
    if (e.notes?.length) lines.push('');
    lines.push('| case | median ms | min–max ms | host ms | GFLOP/s or GB/s | samples/s | iters/block | dispatches/iter | submits/block | peak GPU MiB |');
    lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const r of e.cases) {
      const rate = r.gflops !== undefined ? `${fmt(r.gflops)} GFLOP/s` : r.gbps !== undefined ? `${fmt(r.gbps)} GB/s` : '–';
      lines.push(`| ${r.label} | ${fmt(r.ms)} | ${fmt(r.minMs)}–${fmt(r.maxMs)} | ${fmt(r.hostMs)} | ${rate} | ${r.samplesPerSec ? Math.round(r.samplesPerSec) : '–'} | ${r.inner} | ${fmt(r.dispatchesPerIter)} | ${fmt(r.submitsPerBlock)} | ${mb(r.peakGpuBytes)} |`);
    }
  }
  const ours = engines.find((e) => e.name === 'webtrain');
  const peers = engines.filter((e) => e.name !== 'webtrain');
  if (ours && peers.length) {
    lines.push(`\n#### Side by side (same process; ratio = peer ms / webtrain ms, > 1: webtrain is faster)\n`);
    lines.push(`| case | webtrain ms | ${peers.map((p) => `${p.label} ms | ratio`).join(' | ')} |`);
    lines.push(`| --- | ---: | ${peers.map(() => '---: | ---:').join(' | ')} |`);
    for (const r of ours.cases) {
      const cells = peers.map((p) => {
        const q = p.cases.find((c) => c.id === r.id);
        return q ? `${fmt(q.ms)} | ${(q.ms / r.ms).toFixed(2)}×` : '– | –';
      });
      lines.push(`| ${r.label} | ${fmt(r.ms)} | ${cells.join(' | ')} |`);
    }
  }
  return lines.join('\n');
}

/** Seeded integer labels in [0, classes) (mulberry32), the same for every engine. */
export function randomLabels(n, classes, seed) {
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

/** Adapter description and whether it is a software one, from a GPUAdapterInfo-like object. */
export function describeAdapter(info = {}) {
  const parts = [info.vendor, info.architecture, info.device, info.description].filter(Boolean);
  const software = /swiftshader|llvmpipe|lavapipe|software/i.test(parts.join(' '));
  // File-name slug: the software adapter's architecture ('swiftshader'), else the GPU's name (Dawn
  // puts it in `device` on NVIDIA, where `description` is the driver version).
  const device = (software && info.architecture) || info.device || info.description || info.vendor || 'webgpu';
  return { description: parts.join(' / ') || 'unknown adapter', software, device };
}
