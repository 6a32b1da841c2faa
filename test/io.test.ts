/**
 * io: the safetensors codec (every dtype, the reference writer's exact bytes, strict validation of
 * bad files) and checkpoints (PyTorch-layout state dicts, exact resume of training, atomic writes,
 * checksums, clear errors for files that do not fit the model or optimizer).
 */
import { mkdtemp, open, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test, vi } from 'vitest';
import * as wt from '../src/index';
import { availableBackends } from './setup-backends';

const backends = await availableBackends();
const dir = await mkdtemp(join(tmpdir(), 'webtrain-io-'));
afterAll(async () => {
  wt.shutdown();
  await rm(dir, { recursive: true, force: true });
});

const { encodeSafetensors, decodeSafetensors } = wt.io;

// --- building files by hand, from the format's definition ---

/** [u64 LE length][header padded with spaces to a multiple of 8, as the reference writer does][data]. */
function pythonLayout(headerJson: string, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(headerJson);
  const n = json.length + ((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + n + data.length);
  let len = n;
  for (let i = 0; i < 8; i++, len = Math.floor(len / 256)) out[i] = len % 256; // little-endian u64
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + n);
  out.set(data, 8 + n);
  return out;
}

/** A file with an arbitrary header length field and header text (for malformed files). */
function rawFile(n: bigint, header: string, data = new Uint8Array(0)): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, n, true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

function f32Bytes(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => dv.setFloat32(i * 4, v, true));
  return out;
}

function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A small deterministic generator for test data and fuzzing. */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Throws a WebtrainError matching `message`, fast (no parsing or allocating its way through a huge claim). */
function expectRejected(fn: () => unknown, message: RegExp): void {
  const t0 = performance.now();
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error, `expected an error matching ${message}`).toBeInstanceOf(wt.WebtrainError);
  expect((error as Error).message).toMatch(message);
  expect(performance.now() - t0).toBeLessThan(250);
}

// The content of a PyTorch `Sequential(Linear(3, 2), BatchNorm1d(2))` state dict.
const W = [0.5, -1, 0.25, 2, -0.125, 3];
const B = [0.75, -0.5];
const GAMMA = [1.5, 0.5];
const BETA = [-1, 1];
const MEAN = [0.25, -0.25];
const VAR = [2, 4];
const TRACKED = 7;

/**
 * Those tensors as `safetensors.torch.save_file(state_dict, path, metadata={'format': 'pt'})` lays
 * them out: widest dtype first (I64 before F32), then by name; offsets back to back.
 */
function handBuiltPythonFile(): Uint8Array {
  const header =
    '{"__metadata__":{"format":"pt"},' +
    '"1.num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[0,8]},' +
    '"0.bias":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},' +
    '"0.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[16,40]},' +
    '"1.bias":{"dtype":"F32","shape":[2],"data_offsets":[40,48]},' +
    '"1.running_mean":{"dtype":"F32","shape":[2],"data_offsets":[48,56]},' +
    '"1.running_var":{"dtype":"F32","shape":[2],"data_offsets":[56,64]},' +
    '"1.weight":{"dtype":"F32","shape":[2],"data_offsets":[64,72]}}';
  const tracked = new Uint8Array(8);
  tracked[0] = TRACKED; // int64 7, little-endian
  return pythonLayout(header, concatBytes(tracked, f32Bytes(B), f32Bytes(W), f32Bytes(BETA), f32Bytes(MEAN), f32Bytes(VAR), f32Bytes(GAMMA)));
}

describe('safetensors', () => {
  test('every dtype round-trips (values, shapes, 0-d and empty tensors)', () => {
    const rnd = lcg(1);
    const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(rnd() * 256));
    const data: Record<wt.io.SafetensorsDType, (n: number) => wt.io.SafetensorsData> = {
      BOOL: (n) => Uint8Array.from({ length: n }, (_, i) => i % 2),
      F4: (n) => bytes(n / 2), F6_E2M3: (n) => bytes((n * 6) / 8), F6_E3M2: (n) => bytes((n * 6) / 8),
      U8: bytes, I8: (n) => new Int8Array(bytes(n).buffer),
      F8_E5M2: bytes, F8_E4M3: bytes, F8_E8M0: bytes, F8_E4M3FNUZ: bytes, F8_E5M2FNUZ: bytes,
      I16: (n) => Int16Array.from({ length: n }, (_, i) => -300 * i + 7), U16: (n) => Uint16Array.from({ length: n }, (_, i) => 65535 - i),
      F16: (n) => Uint16Array.from({ length: n }, (_, i) => 0x3c00 + i), BF16: (n) => Uint16Array.from({ length: n }, (_, i) => 0x3f80 + i),
      I32: (n) => Int32Array.from({ length: n }, (_, i) => (i % 2 ? -1 : 1) * 2 ** 30 + i), U32: (n) => Uint32Array.from({ length: n }, (_, i) => 2 ** 32 - 1 - i),
      F32: (n) => Float32Array.from({ length: n }, () => rnd() * 2 - 1), C64: (n) => Float32Array.from({ length: 2 * n }, () => rnd()),
      F64: (n) => Float64Array.from({ length: n }, () => rnd() * 1e300), I64: (n) => BigInt64Array.from({ length: n }, (_, i) => -(2n ** 62n) + BigInt(i)),
      U64: (n) => BigUint64Array.from({ length: n }, (_, i) => 2n ** 64n - 1n - BigInt(i)),
    };
    const tensors = wt.io.SAFETENSORS_DTYPES.map((dtype) => ({ name: `t.${dtype}`, dtype, shape: [2, 4], data: data[dtype](8) }));
    tensors.push({ name: 'scalar', dtype: 'F64', shape: [], data: new Float64Array([Math.PI]) });
    tensors.push({ name: 'empty', dtype: 'F32', shape: [0, 3], data: new Float32Array(0) });
    tensors.push({ name: 'ünïcode ✓ 𝛉', dtype: 'I64', shape: [1], data: new BigInt64Array([42n]) });
    const bytes8 = encodeSafetensors(tensors, { note: 'round trip', 'x.y': '{"json": true}' });
    const n = Number(new DataView(bytes8.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const decoded = decodeSafetensors(bytes8);
    expect(decoded.metadata).toEqual({ note: 'round trip', 'x.y': '{"json": true}' });
    expect([...decoded.tensors.keys()].sort()).toEqual(tensors.map((t) => t.name).sort());
    for (const t of tensors) {
      const d = decoded.tensors.get(t.name)!;
      expect(d.dtype).toBe(t.dtype);
      expect(d.shape).toEqual(t.shape);
      expect(d.data.constructor).toBe(t.data.constructor);
      expect(Array.from(d.data as Iterable<number | bigint>)).toEqual(Array.from(t.data as Iterable<number | bigint>));
    }
    // An ArrayBuffer and a view at an odd offset read the same.
    const shifted = new Uint8Array(bytes8.length + 3);
    shifted.set(bytes8, 3);
    expect(decodeSafetensors(shifted.subarray(3)).tensors.get('t.F64')!.data).toEqual(decoded.tensors.get('t.F64')!.data);
    expect(decodeSafetensors(bytes8.slice().buffer).tensors.size).toBe(tensors.length);
  });

  test("the reference writer's exact bytes: sorting, compact JSON, space padding", () => {
    // The reference's own known answers (safetensors/src/tensor.rs tests), rebuilt from the spec.
    const empty = encodeSafetensors([], { framework: 'pt' });
    expect(empty).toEqual(pythonLayout('{"__metadata__":{"framework":"pt"}}', new Uint8Array(0)));
    expect(empty.length).toBe(8 + 40); // 35 bytes of JSON + 5 spaces
    expect(encodeSafetensors([], {})).toEqual(Uint8Array.from([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]));
    const attn = encodeSafetensors([{ name: 'attn0', dtype: 'F32', shape: [1, 1, 2, 3], data: new Float32Array([0, 1, 2, 3, 4, 5]) }]);
    expect(attn).toEqual(pythonLayout('{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}', f32Bytes([0, 1, 2, 3, 4, 5])));
    expect(attn[0]).toBe(72); // 65 bytes of JSON + 7 spaces

    // Our encoder, given the state dict in any order, writes the hand-built Python layout exactly.
    const content = [
      { name: '1.weight', dtype: 'F32' as const, shape: [2], data: new Float32Array(GAMMA) },
      { name: '0.weight', dtype: 'F32' as const, shape: [2, 3], data: new Float32Array(W) },
      { name: '1.running_var', dtype: 'F32' as const, shape: [2], data: new Float32Array(VAR) },
      { name: '1.num_batches_tracked', dtype: 'I64' as const, shape: [], data: new BigInt64Array([BigInt(TRACKED)]) },
      { name: '0.bias', dtype: 'F32' as const, shape: [2], data: new Float32Array(B) },
      { name: '1.running_mean', dtype: 'F32' as const, shape: [2], data: new Float32Array(MEAN) },
      { name: '1.bias', dtype: 'F32' as const, shape: [2], data: new Float32Array(BETA) },
    ];
    expect(encodeSafetensors(content, { format: 'pt' })).toEqual(handBuiltPythonFile());
    const decoded = decodeSafetensors(handBuiltPythonFile());
    expect(decoded.metadata).toEqual({ format: 'pt' });
    expect(decoded.tensors.get('1.num_batches_tracked')).toEqual({ dtype: 'I64', shape: [], data: new BigInt64Array([7n]) });
    expect(Array.from(decoded.tensors.get('0.weight')!.data as Float32Array)).toEqual(W);
  });

  test('tensors in any order are read (other writers need not sort)', () => {
    const header = '{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"__metadata__":{},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    const d = decodeSafetensors(pythonLayout(header, f32Bytes([1, 2])));
    expect(Array.from(d.tensors.get('a')!.data as Float32Array)).toEqual([1]);
    expect(Array.from(d.tensors.get('b')!.data as Float32Array)).toEqual([2]);
  });

  test('bad files throw clear errors, quickly, without allocating what they claim', () => {
    const good = handBuiltPythonFile();
    const f32 = (name: string, shape: number[], offsets: number[]) => `"${name}":{"dtype":"F32","shape":[${shape}],"data_offsets":[${offsets}]}`;
    const file = (...fields: string[]) => (data: Uint8Array) => pythonLayout(`{${fields.join(',')}}`, data);
    const mem0 = process.memoryUsage().arrayBuffers;

    expectRejected(() => decodeSafetensors(good.subarray(0, 5)), /safetensors: the file is 5 bytes, too short for the 8-byte header length/);
    expectRejected(() => decodeSafetensors(good.subarray(0, 100)), /header length field says \d+ bytes but the file has only 92 after it \(truncated/);
    expectRejected(() => decodeSafetensors(good.subarray(0, good.length - 4)), /tensor '1.weight' has data_offsets \[64, 72\] past the end of the 68-byte data buffer \(truncated file\?\)/);
    expectRejected(() => decodeSafetensors(rawFile(2n ** 63n, '{}')), /header length field says 9223372036854775808 bytes, over the 100000000-byte limit/);
    expectRejected(() => decodeSafetensors(rawFile(BigInt(99_000_000), '{}')), /says 99000000 bytes but the file has only 2 after it/);
    expectRejected(() => decodeSafetensors(rawFile(8n, '{"a": 1,')), /the header is not valid JSON/);
    expectRejected(() => decodeSafetensors(rawFile(8n, '[1, 2]  ')), /the header does not start with '\{'/);
    expectRejected(() => decodeSafetensors(concatBytes(rawFile(4n, '{"'), Uint8Array.from([0xff, 0xfe]))), /the header is not valid UTF-8/);
    expectRejected(() => decodeSafetensors(file('"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}')(new Uint8Array(4))), /tensor 'a' has unknown dtype "F33" \(known: BOOL, F4/);
    expectRejected(() => decodeSafetensors(file(f32('a', [2, 3], [0, 20]))(new Uint8Array(20))), /tensor 'a': F32 shape \[2, 3\] needs 24 bytes but its data_offsets \[0, 20\] span 20/);
    expectRejected(() => decodeSafetensors(file(f32('a', [4], [0, 16]), f32('b', [4], [8, 24]))(new Uint8Array(24))), /tensors 'a' \[0, 16\] and 'b' \[8, 24\] overlap/);
    expectRejected(() => decodeSafetensors(file(f32('a', [2], [0, 8]), f32('b', [2], [16, 24]))(new Uint8Array(24))), /bytes 8 to 16 of the data buffer belong to no tensor \(a hole before 'b'\)/);
    expectRejected(() => decodeSafetensors(file(f32('a', [2], [0, 8]))(new Uint8Array(12))), /the data buffer is 12 bytes but the tensors end at 8 \(4 trailing bytes/);
    expectRejected(() => decodeSafetensors(file(f32('a', [2], [8, 0]))(new Uint8Array(8))), /data_offsets \[8, 0\] that end before they begin/);
    expectRejected(() => decodeSafetensors(file(f32('a', [2 ** 40, 2 ** 40, 2 ** 40], [0, 8]))(new Uint8Array(8))), /F32 shape \[1099511627776, 1099511627776, 1099511627776\] needs more bytes than the whole 8-byte data buffer/);
    expectRejected(() => decodeSafetensors(file(f32('a', [-1], [0, 8]))(new Uint8Array(8))), /tensor 'a' has invalid shape \[-1\]/);
    expectRejected(() => decodeSafetensors(file('"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}')(new Uint8Array(8))), /tensor 'a' has invalid data_offsets \[0\]/);
    expectRejected(() => decodeSafetensors(file('"a":{"dtype":"F32","shape":[2]}')(new Uint8Array(8))), /tensor 'a' has invalid data_offsets nothing/);
    expectRejected(() => decodeSafetensors(file('"a":5')(new Uint8Array(0))), /tensor 'a': expected \{dtype, shape, data_offsets\}, got 5/);
    expectRejected(() => decodeSafetensors(file('"__metadata__":{"a":1}')(new Uint8Array(0))), /'__metadata__' value 'a' must be a string, got 1/);
    expectRejected(() => decodeSafetensors(file('"__metadata__":["a"]')(new Uint8Array(0))), /'__metadata__' must be an object of strings/);
    expectRejected(() => decodeSafetensors(file('"a":{"dtype":"F4","shape":[3],"data_offsets":[0,1]}')(new Uint8Array(1))), /F4 shape \[3\] does not fill whole bytes/);
    // Nothing the files claimed was allocated (a claim of terabytes would have thrown a RangeError anyway).
    expect(process.memoryUsage().arrayBuffers - mem0).toBeLessThan(32 * 2 ** 20);
  });

  test('fuzzing: truncated, bit-flipped and length-mangled files decode or throw a WebtrainError, never hang', () => {
    const rnd = lcg(7);
    const good = encodeSafetensors([
      { name: 'w', dtype: 'F32', shape: [3, 4], data: new Float32Array(12).fill(0.5) },
      { name: 'n', dtype: 'I64', shape: [], data: new BigInt64Array([3n]) },
      { name: 'h', dtype: 'F16', shape: [5], data: new Uint16Array(5) },
    ], { format: 'pt', note: '{"a": [1, 2]}' });
    let rejected = 0;
    const t0 = performance.now();
    for (let trial = 0; trial < 600; trial++) {
      let bytes = good.slice();
      const kind = trial % 3;
      if (kind === 0) bytes = bytes.subarray(0, Math.floor(rnd() * good.length));
      else if (kind === 1) for (let k = 0; k < 1 + Math.floor(rnd() * 3); k++) bytes[Math.floor(rnd() * bytes.length)] ^= 1 << Math.floor(rnd() * 8);
      else bytes[Math.floor(rnd() * 8)] = Math.floor(rnd() * 256);
      try {
        decodeSafetensors(bytes);
      } catch (e) {
        expect(e).toBeInstanceOf(wt.WebtrainError);
        expect((e as Error).message).toMatch(/^safetensors: /);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(300);
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  test('the encoder refuses bad input with clear errors', () => {
    const t = (over: object) => [{ name: 'a', dtype: 'F32' as const, shape: [2], data: new Float32Array(2), ...over }];
    expect(() => encodeSafetensors(t({ data: new Float32Array(3) }))).toThrow(/tensor 'a': F32 shape \[2\] needs 8 bytes, the data has 12/);
    expect(() => encodeSafetensors(t({ data: new Float64Array(1) }))).toThrow(/tensor 'a': F32 data must be a Float32Array, got Float64Array/);
    expect(() => encodeSafetensors(t({ dtype: 'F128' }))).toThrow(/tensor 'a': unknown dtype 'F128'/);
    expect(() => encodeSafetensors(t({ shape: [1.5] }))).toThrow(/tensor 'a': invalid shape \[1.5\]/);
    expect(() => encodeSafetensors(t({ name: '__metadata__' }))).toThrow(/reserved for the metadata/);
    expect(() => encodeSafetensors([...t({}), ...t({})])).toThrow(/tensor 'a' appears twice/);
    expect(() => encodeSafetensors(t({}), { a: 1 as unknown as string })).toThrow(/metadata 'a' must be a string, got number/);
  });
});

describe.each(backends)('%s', (backend) => {
  const pytorchStyleModel = () => new wt.nn.Sequential(new wt.nn.Linear(3, 2, { backend }), new wt.nn.BatchNorm1d(2, { backend }));

  async function stateValues(m: wt.nn.Module): Promise<Record<string, number[]>> {
    const entries = [...m.stateDict()];
    const values = await Promise.all(entries.map(([, t]) => t.data()));
    return Object.fromEntries(entries.map(([k], i) => [k, Array.from(values[i])]));
  }

  test('a file in the Python writer layout loads into a webtrain model; our checkpoint has PyTorch keys and types', async () => {
    const model = pytorchStyleModel();
    const result = await wt.io.load(handBuiltPythonFile(), { model });
    expect(result).toEqual({ step: 0, meta: {}, rng: null });
    const v = await stateValues(model);
    expect(v).toEqual({
      '0.weight': W, '0.bias': B, '1.weight': GAMMA, '1.bias': BETA, '1.running_mean': MEAN, '1.running_var': VAR,
      '1.num_batches_tracked': [TRACKED],
    });
    expect(model.stateDict().get('1.num_batches_tracked')!.dtype).toBe('i32');
    // An I32 num_batches_tracked (a writer that kept i32) is accepted too.
    const i32 = wt.io.encodeSafetensors([...decodeSafetensors(handBuiltPythonFile()).tensors].map(([name, t]) => (
      name === '1.num_batches_tracked' ? { name, dtype: 'I32' as const, shape: [], data: new Int32Array([9]) } : { name, ...t })));
    await wt.io.load(i32, { model });
    expect(Array.from(await model.stateDict().get('1.num_batches_tracked')!.data())).toEqual([9]);

    // Our checkpoint: exactly the model's keys (what torch's load_state_dict wants), I64 counter, metadata.
    const file = decodeSafetensors(await wt.io.toBytes({ model, step: 3, meta: { epoch: 1 } }));
    expect([...file.tensors.keys()].sort()).toEqual([...model.stateDict().keys()].sort());
    expect(file.tensors.get('1.num_batches_tracked')).toEqual({ dtype: 'I64', shape: [], data: new BigInt64Array([9n]) });
    expect(file.tensors.get('0.weight')!.dtype).toBe('F32');
    expect(Object.keys(file.metadata)).toEqual(['format', 'webtrain.version', 'webtrain.step', 'webtrain.rng', 'webtrain.meta', 'webtrain.sha256']);
    expect(file.metadata.format).toBe('pt');
    expect(file.metadata['webtrain.step']).toBe('3');
    expect(file.metadata['webtrain.sha256']).toMatch(/^[0-9a-f]{64}$/);
    model.dispose();
  });

  /** An optimizer to resume: `fresh` ones get different hyper-parameters, which the file must overwrite. */
  const OPTIMIZERS: [string, (params: wt.Tensor[], fresh: boolean) => wt.optim.Optimizer<never>][] = [
    ['Adam', (p, fresh) => new wt.optim.Adam(p, { lr: fresh ? 0.5 : 0.01 }) as unknown as wt.optim.Optimizer<never>],
    ['SGD with momentum and a schedule', (p, fresh) => new wt.optim.SGD(p, {
      lr: wt.optim.schedule.inverseDecay(0.2, 0.5), momentum: fresh ? 0.1 : 0.9,
    }) as unknown as wt.optim.Optimizer<never>],
  ];

  test.each(OPTIMIZERS)('%s: 2N steps == N steps, save, load into fresh objects, N steps (bit-exact)', async (label, makeOptimizer) => {
    const N = 3;
    const x = wt.tensor([0.5, -1, 1.5, 0.25, -0.75, 2, 1, 1, -2, 0.5, 0.1, -0.3, 1.2, -1.1, -0.4, 0.9], [8, 2], { backend });
    const y = wt.tensor([0, 1, 1, 0, 1, 0, 0, 1], [8], { dtype: 'i32', backend });
    // Dropout draws its masks from the global generator, and BatchNorm keeps running statistics and
    // a counter: the checkpoint must carry all of them for the two runs to agree.
    const makeModel = (seed: number) => wt.nn.mlp({ sizes: [2, 8, 2], seed, backend, dropout: 0.25, norm: 'batch' });
    const train = async (model: wt.nn.Module, opt: wt.optim.Optimizer<never>, steps: number) => {
      const losses: number[] = [];
      for (let s = 0; s < steps; s++) {
        opt.zeroGrad();
        const loss = wt.tidy(() => wt.nn.functional.crossEntropy(model.forward(x), y));
        loss.backward();
        opt.step();
        losses.push(await loss.item());
        loss.dispose();
      }
      return losses;
    };

    wt.seed(11);
    const straight = makeModel(1);
    const straightOpt = makeOptimizer(straight.parameters(), false);
    const straightLosses = await train(straight, straightOpt, 2 * N);

    wt.seed(11);
    const first = makeModel(1);
    const firstOpt = makeOptimizer(first.parameters(), false);
    const firstLosses = await train(first, firstOpt, N);
    const path = join(dir, `resume-${backend}-${label.split(' ')[0]}.safetensors`);
    const rngAtSave = wt.rngState();
    await wt.io.save(path, { model: first, optimizer: firstOpt, step: N, meta: { epoch: 1, note: 'half way' } });

    wt.rand([13]); // move the generator on: load must put it back
    wt.seed(999);
    const resumed = makeModel(2); // different initial weights: the values must come from the file
    const resumedOpt = makeOptimizer(resumed.parameters(), true);
    const info = await wt.io.load(path, { model: resumed, optimizer: resumedOpt });
    expect(info).toEqual({ step: N, meta: { epoch: 1, note: 'half way' }, rng: rngAtSave });
    expect(wt.rngState()).toEqual(rngAtSave);
    expect(resumedOpt.paramGroups.map((g) => g.step)).toEqual([N]);
    const resumedLosses = await train(resumed, resumedOpt, N);

    expect([...firstLosses, ...resumedLosses]).toEqual(straightLosses);
    expect(await stateValues(resumed)).toEqual(await stateValues(straight));
    const a = straightOpt.stateDict();
    const b = resumedOpt.stateDict();
    expect(b.paramGroups).toEqual(a.paramGroups);
    for (const [i, entry] of Object.entries(a.state)) {
      for (const [name, v] of Object.entries(entry)) {
        const w = b.state[Number(i)][name];
        if (typeof v === 'number') expect(w).toBe(v);
        else {
          expect(Array.from(await (w as wt.Tensor).data())).toEqual(Array.from(await v.data()));
          v.dispose();
          (w as wt.Tensor).dispose();
        }
      }
    }
    for (const o of [straightOpt, firstOpt, resumedOpt]) o.dispose();
    for (const m of [straight, first, resumed]) m.dispose();
    x.dispose();
    y.dispose();
  });

  test('files that do not fit the model or optimizer are refused, all problems at once, and change nothing', async () => {
    const model = wt.nn.mlp({ sizes: [2, 8, 2], seed: 3, backend });
    const opt = new wt.optim.Adam(model.parameters(), { lr: 0.01 });
    opt.step();
    const bytes = await wt.io.toBytes({ model, optimizer: opt, step: 1 });

    const other = wt.nn.mlp({ sizes: [2, 4, 2], seed: 4, backend });
    const before = await stateValues(other);
    await expect(wt.io.load(bytes, { model: other })).rejects.toThrow(
      "io.load: the checkpoint does not fit the model (Sequential): '0.weight' is [8, 2] F32, expected [4, 2] F32; " +
      "'0.bias' is [8] F32, expected [4] F32; '2.weight' is [2, 8] F32, expected [2, 4] F32");
    const deeper = wt.nn.mlp({ sizes: [2, 8, 8, 2], seed: 4, backend, norm: 'batch' });
    await expect(wt.io.load(bytes, { model: deeper })).rejects.toThrow(
      /does not fit the model \(Sequential\): missing keys: 1\.weight, 1\.bias, 1\.running_mean, 1\.running_var, 1\.num_batches_tracked, 3\.weight, 3\.bias, 4\.weight, .*, 6\.weight, 6\.bias; unexpected keys: 2\.bias, 2\.weight$/);
    expect(await stateValues(other)).toEqual(before);

    const sgd = new wt.optim.SGD(other.parameters(), { lr: 0.1 });
    await expect(wt.io.load(bytes, { optimizer: sgd })).rejects.toThrow('io.load: the checkpoint does not fit the optimizer (SGD): the file holds Adam state');
    sgd.dispose(); // a parameter belongs to one optimizer at a time
    const adamOther = new wt.optim.Adam(other.parameters(), { lr: 0.3 });
    await expect(wt.io.load(bytes, { optimizer: adamOther })).rejects.toThrow(
      /does not fit the optimizer \(Adam\): 'optimizer.state.0.exp_avg' is \[8, 2\] F32, expected \[4, 2\] F32; .*'optimizer.state.0.exp_avg_sq' is \[8, 2\] F32/);
    expect(adamOther.paramGroups[0].hp.lr).toBe(0.3);
    const modelOnly = await wt.io.toBytes({ model });
    const same = wt.nn.mlp({ sizes: [2, 8, 2], seed: 5, backend });
    const adamSame = new wt.optim.Adam(same.parameters());
    await expect(wt.io.load(modelOnly, { optimizer: adamSame })).rejects.toThrow(/the file holds no optimizer state \(pass strict: false/);
    await wt.io.load(modelOnly, { optimizer: adamSame, strict: false });

    // strict: false loads what matches and ignores the rest; shapes must still agree.
    const half = new wt.nn.Sequential(new wt.nn.Linear(2, 8, { backend }));
    await wt.io.load(bytes, { model: half, strict: false });
    expect((await stateValues(half))['0.weight']).toEqual((await stateValues(model))['0.weight']);
    for (const o of [opt, adamOther, adamSame]) o.dispose();
    for (const m of [model, other, deeper, half, same]) m.dispose();
  });

  test('damaged or foreign metadata is refused with a message naming the field', async () => {
    const model = wt.nn.mlp({ sizes: [2, 4, 2], seed: 3, backend });
    const opt = new wt.optim.Adam(model.parameters(), { lr: 0.01 });
    opt.step();
    const good = await wt.io.toBytes({ model, optimizer: opt, step: 1 });
    /** The same tensors (so the checksum still holds) under edited metadata. */
    const remake = (edit: (m: Record<string, string>) => void) => {
      const { metadata, tensors } = decodeSafetensors(good);
      edit(metadata);
      return encodeSafetensors([...tensors].map(([name, t]) => ({ name, ...t })), metadata);
    };
    const cases: [(m: Record<string, string>) => void, RegExp][] = [
      [(m) => { m['webtrain.version'] = '2'; }, /io.load: the file is checkpoint format 2, newer than this webtrain reads \(1\): upgrade webtrain/],
      [(m) => { delete m['webtrain.sha256']; }, /the file has no 'webtrain.sha256' checksum/],
      [(m) => { m['webtrain.step'] = 'x'; }, /'webtrain.step' is "x", not a non-negative integer/],
      [(m) => { m['webtrain.rng'] = '{"seed":-1,"offset":0}'; }, /'webtrain.rng' must be \{seed, offset\} with non-negative integers/],
      [(m) => { m['webtrain.meta'] = '[1]'; }, /'webtrain.meta' is not a JSON object/],
      [(m) => { m['webtrain.optimizer'] = m['webtrain.optimizer'].slice(0, -2); }, /'webtrain.optimizer' is not valid JSON/],
      [(m) => { m['webtrain.optimizer'] = '{"class":"Adam"}'; }, /'webtrain.optimizer' does not have the expected form/],
      [(m) => { m['webtrain.optimizer'] = m['webtrain.optimizer'].replace('"lr":0.01', '"lr":"fast"'); }, /group 0 hyper-parameter 'lr' is "fast", expected a number/],
      [(m) => { m['webtrain.optimizer'] = m['webtrain.optimizer'].replace('"betas":[0.9,0.999]', '"betas":[0.9]'); }, /group 0 hyper-parameter 'betas' is \[0.9\], expected an array of 2 numbers/],
      [(m) => { m['webtrain.optimizer'] = m['webtrain.optimizer'].replace('"eps"', '"epsilon"'); }, /group 0 has an unknown hyper-parameter 'epsilon'/],
    ];
    const fresh = wt.nn.mlp({ sizes: [2, 4, 2], seed: 4, backend });
    const freshOpt = new wt.optim.Adam(fresh.parameters(), { lr: 0.2 });
    const before = await stateValues(fresh);
    for (const [edit, message] of cases) await expect(wt.io.load(remake(edit), { model: fresh, optimizer: freshOpt })).rejects.toThrow(message);
    expect(await stateValues(fresh)).toEqual(before);
    expect(freshOpt.paramGroups[0].hp.lr).toBe(0.2);

    // An int64 counter webtrain's i32 cannot hold.
    const huge = decodeSafetensors(handBuiltPythonFile());
    huge.tensors.get('1.num_batches_tracked')!.data = new BigInt64Array([2n ** 40n]);
    const bn = pytorchStyleModel();
    await expect(wt.io.load(encodeSafetensors([...huge.tensors].map(([name, t]) => ({ name, ...t }))), { model: bn }))
      .rejects.toThrow(/'1.num_batches_tracked' holds the I64 value 1099511627776, outside webtrain's i32 range/);
    opt.dispose();
    freshOpt.dispose();
    for (const m of [model, fresh, bn]) m.dispose();
  });

  test('a flipped bit in the tensor data fails the checksum; other damage fails validation', async () => {
    const model = wt.nn.mlp({ sizes: [2, 8, 2], seed: 3, backend });
    const bytes = await wt.io.toBytes({ model });
    const flipped = bytes.slice();
    flipped[bytes.length - 5] ^= 0x10;
    await expect(wt.io.load(flipped, { model })).rejects.toThrow(/io.load: checksum mismatch: the tensor data hashes to SHA-256 [0-9a-f]{16}\.\.\., the file records [0-9a-f]{16}\.\.\. \(the file is damaged or was modified\)/);
    await expect(wt.io.load(bytes.subarray(0, bytes.length - 1), { model })).rejects.toThrow(/safetensors: tensor '.*' has data_offsets .* past the end of the .*-byte data buffer \(truncated file\?\)/);
    const path = join(dir, `bad-${backend}.safetensors`);
    await writeFile(path, bytes.subarray(0, 20));
    await expect(wt.io.load(path, { model })).rejects.toThrow(/safetensors: the header length field says \d+ bytes but the file has only 12 after it \(truncated or corrupt\)/);
    await expect(wt.io.load(join(dir, 'missing.safetensors'), { model })).rejects.toThrow(/io.load: cannot read '.*missing.safetensors': ENOENT/);
    // Every flip anywhere in the data is caught by the checksum.
    const rnd = lcg(3);
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    for (let k = 0; k < 20; k++) {
      const b = bytes.slice();
      b[8 + n + Math.floor(rnd() * (b.length - 8 - n))] ^= 1 << Math.floor(rnd() * 8);
      await expect(wt.io.fromBytes(b, { model })).rejects.toThrow(/checksum mismatch/);
    }
    model.dispose();
  });
});

describe('files and handles', () => {
  const backend = 'cpu';

  test('an atomic write leaves no temp file, and a write failing midway leaves the old checkpoint intact', async () => {
    const sub = await mkdtemp(join(dir, 'atomic-'));
    const path = join(sub, 'model.safetensors');
    const m1 = wt.nn.mlp({ sizes: [2, 3, 2], seed: 1, backend });
    const m2 = wt.nn.mlp({ sizes: [2, 3, 2], seed: 2, backend });
    await wt.io.save(path, { model: m1, step: 1 });
    await wt.io.save(path, { model: m1, step: 2 }); // over an existing file
    expect(await readdir(sub)).toEqual(['model.safetensors']);

    // The same FileHandle class io.save gets from node:fs/promises: its second write (the data) fails.
    const probe = await open(path, 'r');
    const proto = Object.getPrototypeOf(probe) as { write: (...args: unknown[]) => Promise<unknown> };
    await probe.close();
    const realWrite = proto.write;
    let calls = 0;
    const spy = vi.spyOn(proto, 'write').mockImplementation(function (this: unknown, ...args: unknown[]) {
      if (++calls === 2) return Promise.reject(new Error('ENOSPC: no space left on device (simulated)'));
      return realWrite.apply(this, args);
    });
    try {
      await expect(wt.io.save(path, { model: m2, step: 3 })).rejects.toThrow(
        /io.save: writing '.*model.safetensors' failed, the previous file \(if any\) is unchanged: ENOSPC: no space left on device \(simulated\)/);
    } finally {
      spy.mockRestore();
    }
    expect(calls).toBe(2);
    expect(await readdir(sub)).toEqual(['model.safetensors']);
    const back = wt.nn.mlp({ sizes: [2, 3, 2], seed: 9, backend });
    expect((await wt.io.load(path, { model: back })).step).toBe(2);
    for (const [k, t] of m1.stateDict()) expect(Array.from(await back.stateDict().get(k)!.data())).toEqual(Array.from(await t.data()));

    await expect(wt.io.save(join(sub, 'no-such-dir', 'x.safetensors'), { model: m1 })).rejects.toThrow(/io.save: writing '.*x.safetensors' failed.*ENOENT/);
    expect(await readdir(sub)).toEqual(['model.safetensors']);
    for (const m of [m1, m2, back]) m.dispose();
  });

  test('browser paths: a FileSystemFileHandle, a Blob, bytes; bad options are named', async () => {
    const model = wt.nn.mlp({ sizes: [2, 3, 2], seed: 1, backend });
    const chunks: Uint8Array[] = [];
    let closed = false;
    const handle = {
      createWritable: async () => ({
        write: async (c: Uint8Array) => { chunks.push(c.slice()); },
        close: async () => { closed = true; },
        abort: async () => {},
      }),
    } as unknown as FileSystemFileHandle;
    await wt.io.save(handle, { model, step: 5, meta: { where: 'opfs' } });
    expect(closed).toBe(true);
    const bytes = concatBytes(...chunks);
    const readHandle = { getFile: async () => new Blob([bytes as Uint8Array<ArrayBuffer>]) } as unknown as FileSystemFileHandle;
    const back = wt.nn.mlp({ sizes: [2, 3, 2], seed: 2, backend });
    expect(await wt.io.load(readHandle, { model: back })).toMatchObject({ step: 5, meta: { where: 'opfs' } });
    expect((await wt.io.load(await wt.io.toBlob({ model, step: 6 }), { model: back })).step).toBe(6);
    expect((await wt.io.load(bytes.slice().buffer, { model: back })).step).toBe(5);

    await expect(wt.io.save(42 as unknown as string, { model })).rejects.toThrow(/io.save: the target must be a file path or a FileSystemFileHandle, got 42/);
    await expect(wt.io.toBytes({ model, epoch: 3 } as never)).rejects.toThrow(/io.save: unknown option 'epoch' \(known: model, optimizer, step, rng, meta\)/);
    await expect(wt.io.toBytes({ model, step: -1 })).rejects.toThrow(/step must be a non-negative integer, got -1/);
    await expect(wt.io.toBytes({ meta: [1] as never })).rejects.toThrow(/io.save: meta must be a JSON object, got an array/);
    await expect(wt.io.toBytes({ meta: { big: 1n } })).rejects.toThrow(/io.save: meta is not JSON-serializable/);
    await expect(wt.io.load(bytes, { model, optimiser: null } as never)).rejects.toThrow(/io.load: unknown option 'optimiser' \(known: model, optimizer, strict\)/);
    await expect(wt.io.load({} as never)).rejects.toThrow(/io.load: the source must be a file path, a FileSystemFileHandle, a Blob or bytes/);
    model.dispose();
    back.dispose();
  });
});
