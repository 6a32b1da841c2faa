// Philox RNG and special functions: known answers, statistics, and CPU (TS) == GPU (WGSL) agreement.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { erf } from '../src/backend/cpu/special';
import { fillNormal, fillUniform, normalAt, philox4x32, splitU53, uniformAt } from '../src/random/philox';

const hex = (w: ArrayLike<number>) => Array.from(w, (v) => v.toString(16).padStart(8, '0'));

describe('philox4x32', () => {
  // Random123 kat_vectors ("philox4x32 10" lines): counter, key -> output.
  const kat: [number[], number[], number[]][] = [
    [[0, 0, 0, 0], [0, 0], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]],
    [[0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff],
      [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]],
    [[0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0],
      [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]],
  ];
  it.each(kat)('known answer %#', (ctr, key, want) => {
    const out = philox4x32(ctr as [number, number, number, number], key as [number, number]);
    expect(hex(out)).toEqual(hex(want));
    expect(hex(philox4x32(Uint32Array.from(ctr), Uint32Array.from(key)))).toEqual(hex(want));
  });

  it('splits seeds and offsets into u32 words', () => {
    expect(splitU53(2 ** 40 + 5)).toEqual([5, 256]);
    expect(splitU53(2 ** 53 - 1)).toEqual([0xffffffff, 0x1fffff]);
    expect(() => splitU53(-1)).toThrow(RangeError);
    expect(() => splitU53(0.5)).toThrow(RangeError);
  });
});

describe('rand / randn streams', () => {
  const n = 100_000;
  const stats = (a: Float64Array) => {
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    const variance = a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length;
    return { mean, variance };
  };

  it('uniform: in [low, high), mean and variance', () => {
    const u = fillUniform(new Float64Array(n), 42, 0);
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    const { mean, variance } = stats(u);
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01); // sd of the mean ~ 0.001
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(0.003);
    const v = fillUniform(new Float64Array(1000), 42, 0, -2, 3);
    expect(Math.min(...v)).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...v)).toBeLessThan(3);
    expect(v[7]).toBeCloseTo(-2 + 5 * uniformAt(7, 42, 0), 14);
  });

  it('normal: mean, variance, tails', () => {
    const z = fillNormal(new Float64Array(n), 7, 3);
    const { mean, variance } = stats(z);
    expect(Math.abs(mean)).toBeLessThan(0.02); // sd of the mean ~ 0.003
    expect(Math.abs(variance - 1)).toBeLessThan(0.03);
    const beyond2 = z.filter((v) => Math.abs(v) > 2).length / n; // 0.0455
    expect(Math.abs(beyond2 - 0.0455)).toBeLessThan(0.005);
    expect(z.every(Number.isFinite)).toBe(true);
    const w = fillNormal(new Float32Array(10), 7, 3, 1, 2);
    expect(w[4]).toBeCloseTo(1 + 2 * normalAt(4, 7, 3), 5);
  });

  it('deterministic for the same (seed, offset), different across offsets and seeds', () => {
    const a = fillUniform(new Float64Array(64), 123, 9);
    expect(fillUniform(new Float64Array(64), 123, 9)).toEqual(a);
    const differs = (b: Float64Array) => b.filter((v, i) => v === a[i]).length < 2;
    expect(differs(fillUniform(new Float64Array(64), 123, 10))).toBe(true);
    expect(differs(fillUniform(new Float64Array(64), 124, 9))).toBe(true);
    expect(differs(fillUniform(new Float64Array(64), 123 + 2 ** 32, 9))).toBe(true); // seed hi word
    expect(differs(fillUniform(new Float64Array(64), 123, 9 + 2 ** 32))).toBe(true); // offset hi word
    // element i is counter i: a prefix of a longer draw is the shorter draw
    expect(fillUniform(new Float64Array(128), 123, 9).subarray(0, 64)).toEqual(a);
  });
});

describe('erf (f64)', () => {
  it.each([
    [0.5, 0.5204998778130465], [1, 0.8427007929497149], [2, 0.9953222650189527],
    [3, 0.9999779095030014], [-1.5, -0.9661051464753108], [5, 0.9999999999984626],
  ])('erf(%d)', (x, want) => {
    expect(Math.abs(erf(x) - want)).toBeLessThan(1e-14);
  });

  it('special values and symmetry', () => {
    expect(erf(0)).toBe(0);
    expect(Object.is(erf(-0), -0)).toBe(true);
    expect(erf(Infinity)).toBe(1);
    expect(erf(-Infinity)).toBe(-1);
    expect(erf(NaN)).toBeNaN();
    expect(erf(1e-300)).toBeCloseTo((2 / Math.sqrt(Math.PI)) * 1e-300, 310);
    for (const x of [0.1, 0.7, 2.9, 3.1, 4.5, 7]) expect(erf(-x)).toBe(-erf(x));
  });

  it('derivative matches 2/sqrt(pi) exp(-x^2), also across the piece boundaries', () => {
    const h = 1e-5;
    const xs = [-7, -3, 3, 6, 2.99999, 3.00001, 5.99999, 6.00001];
    for (let x = -6.5; x <= 6.5; x += 0.0173) xs.push(x);
    for (const x of xs) {
      const fd = (erf(x + h) - erf(x - h)) / (2 * h);
      expect(Math.abs(fd - (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x)), `x = ${x}`).toBeLessThan(1e-8);
    }
  });
});

// ---- GPU: the WGSL snippets against the TypeScript ----

const N = 1024;
const SEED = 2 ** 40 + 12345; // both words non-zero
const OFFSET = 2 ** 33 + 7;
const KEY = [0xa4093822, 0x299f31d0];
const f32 = Math.fround;

// Grids (rounded to f32, since that is what the GPU sees).
const erfGrid = [...range(-6, 6, 0.013), 0, 1e-6, -1e-30, 0.9, 0.9000001, 3.95, 3.9499998, 100].map(f32);
const tanhGrid = [...range(-10, 10, 0.021), 0, 1e-6, -1e-20, 0.4999999, 0.5, 44, -44, 45, -45, 100, -100]
  .map(f32);
const log1pGrid = [...range(-0.95, 20, 0.031), 0, 1e-6, -1e-6, 1e-7, 3e-8, 1e-10, -0.5, 1, 1e5].map(f32);
const bitsGrid = [1, -2.5, 0, Infinity, -Infinity, NaN, 3.4e38];

const gpuShader = `
struct Params { key: vec2<u32>, seed: vec2<u32>, offset: vec2<u32> }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> xs: array<f32>;          // erf | tanh | log1p | bits grids
@group(0) @binding(2) var<storage, read_write> words: array<u32>; // philox words, 4 per counter
@group(0) @binding(3) var<storage, read_write> ys: array<f32>;    // uniform | normal | erf | tanh | log1p | flags

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  let w = philox4x32(vec4<u32>(i, 0u, 0u, 0u), params.key);
  for (var j = 0u; j < 4u; j++) { words[4u * i + j] = w[j]; }
  ys[i] = uniformAt(i, params.seed, params.offset);
  ys[${N} + i] = normalAt(i, params.seed, params.offset);
  if (i < ${erfGrid.length}u) { ys[2u * ${N} + i] = erfApprox(xs[i]); }
  if (i < ${tanhGrid.length}u) { ys[3u * ${N} + i] = tanhSafe(xs[${N} + i]); }
  if (i < ${log1pGrid.length}u) { ys[4u * ${N} + i] = log1pSafe(xs[2u * ${N} + i]); }
  if (i < ${bitsGrid.length}u) {
    let x = xs[3u * ${N} + i];
    ys[5u * ${N} + i] = f32(select(0u, 1u, isNan(x)) + select(0u, 2u, isNanOrInf(x)));
  }
}
`;

let gpu: GPU | undefined; // NOTE: keep a reference: if the GPU object is collected, dawn crashes
const device = await getDevice();

describe.skipIf(!device && !process.env.CI)('WGSL twins on a WebGPU device', () => {
  it('has a device (required when CI is set)', () => {
    expect(device, 'no WebGPU adapter (set VK_ICD_FILENAMES to SwiftShader?)').toBeTruthy();
  });

  it('computes the same numbers as the TypeScript', async () => {
    const dev = device!;
    try {
      const snippets = ['philox.wgsl', 'special.wgsl'].map((f) => {
        const code = readFileSync(new URL(`../shaders/common/${f}`, import.meta.url), 'utf8');
        expect(/#|\$\{/.test(code), `${f} has # or \${ (the preprocessor would eat it)`).toBe(false);
        return code;
      });
      const { words, ys } = await runShader(dev, snippets.join('\n') + gpuShader);

      const want = new Uint32Array(4 * N);
      for (let i = 0; i < N; i++) want.set(philox4x32([i, 0, 0, 0], KEY as [number, number]), 4 * i);
      expect(hex(words)).toEqual(hex(want));

      const u = ys.subarray(0, N);
      const uWant = Float32Array.from({ length: N }, (_, i) => uniformAt(i, SEED, OFFSET));
      expect(Array.from(u)).toEqual(Array.from(uWant)); // bit-exact

      const z = ys.subarray(N, 2 * N);
      const zWant = fillNormal(new Float64Array(N), SEED, OFFSET);
      expectClose(z, zWant, (_, t) => 2e-6 + 2e-6 * Math.abs(t), 'normalAt');

      expectClose(ys.subarray(2 * N), erfGrid.map(erf), () => 3e-7, 'erfApprox', erfGrid);
      const tanhWant = tanhGrid.map(Math.tanh);
      const tanhGot = ys.subarray(3 * N, 3 * N + tanhGrid.length);
      expect(tanhGot.every(Number.isFinite), 'tanhSafe returned NaN/Inf').toBe(true);
      expectClose(tanhGot, tanhWant, (_, t) => Math.min(2e-7, 1e-6 * Math.abs(t)), 'tanhSafe', tanhGrid);
      expectClose(ys.subarray(4 * N), log1pGrid.map(Math.log1p), (_, t) => 1e-6 * Math.abs(t), 'log1pSafe', log1pGrid);

      // flags: 1 = isNan, 2 = isNanOrInf
      expect(Array.from(ys.subarray(5 * N, 5 * N + bitsGrid.length))).toEqual([0, 0, 0, 2, 2, 3, 0]);
    } finally {
      dev.destroy(); // dawn keeps Node's event loop alive otherwise
    }
  });
});

function* range(a: number, b: number, step: number) {
  for (let x = a; x <= b; x += step) yield x;
}

/** Every |got - want| <= tol(got, want); reports the worst offender. */
function expectClose(
  got: ArrayLike<number>, want: number[] | Float64Array, tol: (g: number, t: number) => number,
  what: string, inputs?: number[],
) {
  let worst = { i: -1, excess: 0 };
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    const excess = Number.isNaN(err) ? Infinity : err / tol(got[i], want[i]);
    if (excess > 1 && excess > worst.excess) worst = { i, excess };
  }
  const i = worst.i;
  const where = i < 0 ? '' : `${what}[${i}](${inputs?.[i] ?? i}) = ${got[i]}, want ${want[i]}`;
  expect(where, what).toBe('');
}

async function getDevice(): Promise<GPUDevice | undefined> {
  try {
    process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json'; // before create()
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    gpu = create([]);
    const adapter = await gpu.requestAdapter();
    return (await adapter?.requestDevice()) ?? undefined;
  } catch (e) {
    console.warn('WebGPU unavailable:', e);
    return undefined;
  }
}

async function runShader(dev: GPUDevice, code: string) {
  dev.pushErrorScope('validation');
  const module = dev.createShaderModule({ code });
  const info = await module.getCompilationInfo();
  const errors = info.messages.filter((m) => m.type === 'error');
  expect(errors.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`)).toEqual([]);
  const pipeline = dev.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });

  const [sLo, sHi] = splitU53(SEED);
  const [oLo, oHi] = splitU53(OFFSET);
  const params = dev.createBuffer({ size: 32, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  dev.queue.writeBuffer(params, 0, Uint32Array.of(KEY[0], KEY[1], sLo, sHi, oLo, oHi, 0, 0));
  const xsData = new Float32Array(4 * N);
  xsData.set(erfGrid, 0);
  xsData.set(tanhGrid, N);
  xsData.set(log1pGrid, 2 * N);
  xsData.set(bitsGrid, 3 * N);
  const xs = dev.createBuffer({ size: xsData.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  dev.queue.writeBuffer(xs, 0, xsData);
  const storage = (size: number) =>
    dev.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const readback = (size: number) =>
    dev.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const words = storage(16 * N);
  const ys = storage(4 * 6 * N);
  const wordsRead = readback(16 * N);
  const ysRead = readback(4 * 6 * N);

  const bindGroup = dev.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [params, xs, words, ys].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  const enc = dev.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(N / 64);
  pass.end();
  enc.copyBufferToBuffer(words, 0, wordsRead, 0, 16 * N);
  enc.copyBufferToBuffer(ys, 0, ysRead, 0, 4 * 6 * N);
  dev.queue.submit([enc.finish()]);
  const err = await dev.popErrorScope();
  expect(err?.message).toBeUndefined();
  await Promise.all([wordsRead.mapAsync(GPUMapMode.READ), ysRead.mapAsync(GPUMapMode.READ)]);
  return {
    words: new Uint32Array(wordsRead.getMappedRange().slice(0)),
    ys: new Float32Array(ysRead.getMappedRange().slice(0)),
  };
}
