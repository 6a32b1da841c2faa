/**
 * Row builders for elementwise ops: `unary({...})` and `binary({...})` turn a WGSL expression and a
 * CPU function into a full op row. One broadcasting kernel (shaders/elementwise.wgsl) and one CPU
 * loop serve every elementwise op.
 */
import type { DType, TypedArray } from '../dtype';
import { fail, fmtShape } from '../errors';
import { asRowsCols, broadcastShapes, broadcastStrides, mergeDims, numel, shapesEqual } from '../shape';
import type { Tensor } from '../tensor';
import { Uniforms } from '../backend/webgpu/uniforms';
import type { CpuKernelArgs, GpuKernelArgs, OpDef, Sample, TensorMeta, VjpArgs } from './op-def';

export interface ElementwiseAttrs {
  /** Scalar parameter of the op (leakyRelu's slope, cast's target dtype is in `dtype`). */
  alpha?: number;
  dtype?: DType;
}

interface UnarySpec {
  name: string;
  /** WGSL expression of `a` (and `alpha`), in the input's type `T`. */
  wgsl: string;
  cpu: (a: number, alpha: number) => number;
  vjp?: (args: VjpArgs<ElementwiseAttrs> & { x: Tensor }, gy: Tensor) => Tensor | null;
  save?: OpDef['save'];
  /** Accepts i32 inputs too (default: floats only). */
  ints?: boolean;
  samples: Sample<ElementwiseAttrs>[];
  tolerance?: OpDef['tolerance'];
}

export function unary(spec: UnarySpec): OpDef<ElementwiseAttrs> {
  return {
    name: spec.name,
    infer: ([x]) => {
      checkDtype(spec.name, x, spec.ints ?? false);
      return { shape: [...x.shape], dtype: x.dtype };
    },
    cpu: cpuUnary(spec.name, spec.cpu),
    webgpu: (args) => elementwiseGpu(spec.name, args, spec.wgsl),
    shaderVariants: elementwiseVariants(spec.wgsl, spec.ints ? [['f32'], ['i32']] : [['f32']]),
    vjp: spec.vjp && ((args, gy) => [spec.vjp!({ ...args, x: args.inputs[0] }, gy)]),
    save: spec.save,
    samples: spec.samples,
    tolerance: spec.tolerance,
  };
}

interface BinarySpec {
  name: string;
  /** WGSL expression of `a` and `b` in type `T`. */
  wgsl: string;
  cpu: (a: number, b: number) => number;
  /** Gradients w.r.t. a and b at the broadcast output shape; reduced to the input shapes here. */
  vjp?: (args: VjpArgs<ElementwiseAttrs> & { a: Tensor; b: Tensor }, gy: Tensor) => [Tensor | null, Tensor | null];
  save?: OpDef['save'];
  ints?: boolean;
  samples: Sample<ElementwiseAttrs>[];
  tolerance?: OpDef['tolerance'];
}

export function binary(spec: BinarySpec): OpDef<ElementwiseAttrs> {
  return {
    name: spec.name,
    infer: ([a, b]) => {
      checkDtype(spec.name, a, spec.ints ?? false);
      checkSameDtype(spec.name, a, b);
      return { shape: broadcastShapes(spec.name, a.shape, b.shape), dtype: a.dtype };
    },
    cpu: cpuBinary(spec.name, spec.cpu),
    webgpu: (args) => elementwiseGpu(spec.name, args, spec.wgsl),
    shaderVariants: elementwiseVariants(spec.wgsl, spec.ints ? [['f32', 'f32'], ['i32', 'i32']] : [['f32', 'f32']]),
    vjp: spec.vjp && ((args, gy) => {
      const [a, b] = args.inputs;
      const [ga, gb] = spec.vjp!({ ...args, a, b }, gy);
      return [ga && unbroadcast(ga, a.shape), gb && unbroadcast(gb, b.shape)];
    }),
    save: spec.save,
    samples: spec.samples,
    tolerance: spec.tolerance,
  };
}

/** Sums a gradient computed at a broadcast shape back down to `shape` (the vjp of broadcasting). */
export function unbroadcast(g: Tensor, shape: readonly number[]): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let d = 0; d < g.rank; d++) {
    if (d < lead || (shape[d - lead] === 1 && g.shape[d] !== 1)) axes.push(d);
  }
  const summed = axes.length ? g.sum(axes, true) : g;
  return summed.reshape([...shape]);
}

export function checkDtype(op: string, x: TensorMeta, intsOk: boolean): void {
  if (x.dtype === 'i32' && !intsOk) fail(op, `expected a float tensor (f32 or f64), got ${x.dtype} of shape ${fmtShape(x.shape)}`);
}

export function checkSameDtype(op: string, ...xs: TensorMeta[]): void {
  if (xs.some((x) => x.dtype !== xs[0].dtype)) {
    fail(op, `inputs must have the same dtype, got ${xs.map((x) => `${x.dtype} ${fmtShape(x.shape)}`).join(' and ')}; use .cast()`);
  }
}

// ---------------------------------------------------------------------------------------------
// Shared kernels

/** CPU loop: out[i] = f(inputs at the broadcast index of i), for any number of inputs (where, cast). */
export function elementwiseCpu(args: CpuKernelArgs<unknown>, f: (v: number[]) => number): void {
  const { inputs, out } = args;
  const n = out.data.length;
  const v = new Array<number>(inputs.length).fill(0);
  const o = out.data;
  if (inputs.length === 1 || inputs.every((x) => x.data.length === n)) {
    // Every input has the output's layout (a broadcast input with as many elements as the output has it).
    const data = inputs.map((x) => x.data);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < data.length; k++) v[k] = data[k][i];
      o[i] = f(v);
    }
    return;
  }
  const { shape, strides } = mergedLayout(out.shape, inputs.map((x) => x.shape));
  const data = inputs.map((x) => x.data);
  const offs = new Array<number>(inputs.length).fill(0);
  forEachRun(shape, strides, n, (oo, len) => {
    for (let j = 0; j < len; j++) {
      for (let k = 0; k < data.length; k++) v[k] = data[k][offs[k] + j * strides[k][shape.length - 1]];
      o[oo + j] = f(v);
    }
  }, offs);
}

// ---------------------------------------------------------------------------------------------
// CPU fast paths
//
// A generic loop calling the op's scalar function `spec.cpu` per element is slow in V8: the call
// site sees every op (megamorphic), so nothing is inlined and every argument and result is boxed.
// The common ops therefore have their own tight loops below, one function literal each (so each
// gets its own type feedback and inlines its expression). A loop is used only if it gives the op's
// `cpu` function's results bit for bit on a set of probe values (NaN, ±0, ±Inf, ...), checked at
// the op's first CPU call; otherwise, and for the other ops, the generic loop calls `cpu`.
// All arithmetic stays float64 with one rounding at the store, as the generic loop does.

/** o[oo + j] = op(x[xo + j*xs], y[yo + j*ys]) for j < len (xs, ys are 0 or 1: broadcast or contiguous). */
type BinaryLoop = (o: TypedArray, oo: number, x: TypedArray, xo: number, xs: number, y: TypedArray, yo: number, ys: number, len: number) => void;
/** o[j] = op(x[j], alpha) for j < len. */
type UnaryLoop = (o: TypedArray, x: TypedArray, len: number, alpha: number) => void;

const BINARY_LOOPS: Record<string, BinaryLoop> = {
  add: (o, oo, x, xo, xs, y, yo, ys, len) => { for (let j = 0; j < len; j++, xo += xs, yo += ys) o[oo + j] = x[xo] + y[yo]; },
  sub: (o, oo, x, xo, xs, y, yo, ys, len) => { for (let j = 0; j < len; j++, xo += xs, yo += ys) o[oo + j] = x[xo] - y[yo]; },
  mul: (o, oo, x, xo, xs, y, yo, ys, len) => { for (let j = 0; j < len; j++, xo += xs, yo += ys) o[oo + j] = x[xo] * y[yo]; },
  div: (o, oo, x, xo, xs, y, yo, ys, len) => { for (let j = 0; j < len; j++, xo += xs, yo += ys) o[oo + j] = x[xo] / y[yo]; },
  pow: (o, oo, x, xo, xs, y, yo, ys, len) => { for (let j = 0; j < len; j++, xo += xs, yo += ys) o[oo + j] = Math.pow(x[xo], y[yo]); },
  maximum: (o, oo, x, xo, xs, y, yo, ys, len) => { for (let j = 0; j < len; j++, xo += xs, yo += ys) o[oo + j] = Math.max(x[xo], y[yo]); },
  minimum: (o, oo, x, xo, xs, y, yo, ys, len) => { for (let j = 0; j < len; j++, xo += xs, yo += ys) o[oo + j] = Math.min(x[xo], y[yo]); },
  eq: (o, oo, x, xo, xs, y, yo, ys, len) => { for (let j = 0; j < len; j++, xo += xs, yo += ys) o[oo + j] = x[xo] === y[yo] ? 1 : 0; },
  ne: (o, oo, x, xo, xs, y, yo, ys, len) => { for (let j = 0; j < len; j++, xo += xs, yo += ys) o[oo + j] = x[xo] !== y[yo] ? 1 : 0; },
  lt: (o, oo, x, xo, xs, y, yo, ys, len) => { for (let j = 0; j < len; j++, xo += xs, yo += ys) o[oo + j] = x[xo] < y[yo] ? 1 : 0; },
  le: (o, oo, x, xo, xs, y, yo, ys, len) => { for (let j = 0; j < len; j++, xo += xs, yo += ys) o[oo + j] = x[xo] <= y[yo] ? 1 : 0; },
  gt: (o, oo, x, xo, xs, y, yo, ys, len) => { for (let j = 0; j < len; j++, xo += xs, yo += ys) o[oo + j] = x[xo] > y[yo] ? 1 : 0; },
  ge: (o, oo, x, xo, xs, y, yo, ys, len) => { for (let j = 0; j < len; j++, xo += xs, yo += ys) o[oo + j] = x[xo] >= y[yo] ? 1 : 0; },
};

const UNARY_LOOPS: Record<string, UnaryLoop> = {
  neg: (o, x, len) => { for (let j = 0; j < len; j++) o[j] = -x[j]; },
  abs: (o, x, len) => { for (let j = 0; j < len; j++) o[j] = Math.abs(x[j]); },
  sign: (o, x, len) => { for (let j = 0; j < len; j++) o[j] = Math.sign(x[j]); },
  exp: (o, x, len) => { for (let j = 0; j < len; j++) o[j] = Math.exp(x[j]); },
  log: (o, x, len) => { for (let j = 0; j < len; j++) o[j] = Math.log(x[j]); },
  sqrt: (o, x, len) => { for (let j = 0; j < len; j++) o[j] = Math.sqrt(x[j]); },
  square: (o, x, len) => { for (let j = 0; j < len; j++) { const a = x[j]; o[j] = a * a; } },
  reciprocal: (o, x, len) => { for (let j = 0; j < len; j++) o[j] = 1 / x[j]; },
  relu: (o, x, len) => { for (let j = 0; j < len; j++) { const a = x[j]; o[j] = a <= 0 ? 0 : a; } },
  leakyRelu: (o, x, len, alpha) => { for (let j = 0; j < len; j++) { const a = x[j]; o[j] = a > 0 ? a : alpha * a; } },
  sigmoid: (o, x, len) => {
    for (let j = 0; j < len; j++) {
      const a = x[j];
      o[j] = a >= 0 ? 1 / (1 + Math.exp(-a)) : Math.exp(a) / (1 + Math.exp(a));
    }
  },
  tanh: (o, x, len) => { for (let j = 0; j < len; j++) o[j] = Math.tanh(x[j]); },
  softplus: (o, x, len) => { for (let j = 0; j < len; j++) { const a = x[j]; o[j] = a > 20 ? a : Math.log1p(Math.exp(a)); } },
};

/**
 * Values the fast loops are checked on against the op's scalar function. The check runs on
 * Float32Arrays, the training dtype, so that it adds no other array type to the loops' type
 * feedback (a loop that has seen one array type is about twice as fast as one that has seen two).
 */
const PROBES = [0, -0, 1, -1, 0.5, -2.25, 3, 7, 20.5, -40, 1e-30, 2 ** 31, NaN, Infinity, -Infinity];

function binaryLoopAgrees(loop: BinaryLoop, f: (a: number, b: number) => number): boolean {
  const P = PROBES.length;
  const x = new Float32Array(P * P);
  const y = new Float32Array(P * P);
  const o = new Float32Array(P * P);
  for (let i = 0; i < P; i++) for (let j = 0; j < P; j++) { x[i * P + j] = PROBES[i]; y[i * P + j] = PROBES[j]; }
  loop(o, 0, x, 0, 1, y, 0, 1, P * P);
  return o.every((v, q) => Object.is(v, Math.fround(f(x[q], y[q]))));
}

function unaryLoopAgrees(loop: UnaryLoop, f: (a: number, alpha: number) => number): boolean {
  const x = Float32Array.from(PROBES);
  const o = new Float32Array(x.length);
  return [0, 0.1, -2].every((alpha) => {
    loop(o, x, x.length, alpha);
    return o.every((v, q) => Object.is(v, Math.fround(f(x[q], alpha))));
  });
}

/** A unary op's CPU kernel: its fast loop if it has one (and it agrees with `f`), else `f` per element. */
function cpuUnary(name: string, f: (a: number, alpha: number) => number): (args: CpuKernelArgs<ElementwiseAttrs>) => void {
  let loop: UnaryLoop | undefined;
  return ({ inputs: [x], out, attrs }) => {
    if (loop === undefined) {
      const fast = UNARY_LOOPS[name];
      loop = fast && unaryLoopAgrees(fast, f) ? fast : (o, xd, len, alpha) => { for (let j = 0; j < len; j++) o[j] = f(xd[j], alpha); };
    }
    loop(out.data, x.data, out.data.length, attrs.alpha ?? 0);
  };
}

/** A binary op's CPU kernel: its fast loop if it has one (and it agrees with `f`), else `f` per element. */
function cpuBinary(name: string, f: (a: number, b: number) => number): (args: CpuKernelArgs<ElementwiseAttrs>) => void {
  let loop: BinaryLoop | undefined;
  return ({ inputs: [x, y], out }) => {
    if (loop === undefined) {
      const fast = BINARY_LOOPS[name];
      loop = fast && binaryLoopAgrees(fast, f) ? fast : (o, oo, xd, xo, xs, yd, yo, ys, len) => {
        for (let j = 0; j < len; j++, xo += xs, yo += ys) o[oo + j] = f(xd[xo], yd[yo]);
      };
    }
    binaryCpu(x, y, out, loop);
  };
}

/** Runs a binary loop over the broadcast output: one call per contiguous run of the merged layout. */
function binaryCpu(x: CpuKernelArgs<unknown>['out'], y: CpuKernelArgs<unknown>['out'], out: CpuKernelArgs<unknown>['out'], loop: BinaryLoop): void {
  const n = out.data.length;
  const xd = x.data;
  const yd = y.data;
  const o = out.data;
  // Same layout as the output (same element count), or a single element: one run.
  const xs = xd.length === n ? 1 : xd.length === 1 ? 0 : -1;
  const ys = yd.length === n ? 1 : yd.length === 1 ? 0 : -1;
  if (xs >= 0 && ys >= 0) {
    loop(o, 0, xd, 0, xs, yd, 0, ys, n);
    return;
  }
  const { shape, strides } = mergedLayout(out.shape, [x.shape, y.shape]);
  const last = shape.length - 1;
  const sx = strides[0][last];
  const sy = strides[1][last];
  const offs = [0, 0];
  forEachRun(shape, strides, n, (oo, len) => loop(o, oo, xd, offs[0], sx, yd, offs[1], sy, len), offs);
}

/**
 * The output's dims with size-1 dims dropped and neighbours merged wherever every input's broadcast
 * strides allow it (so [128, 256] + [256] is 128 runs of 256, and same-shape inputs one run).
 */
export function mergedLayout(outShape: readonly number[], inputShapes: readonly (readonly number[])[]) {
  const full = inputShapes.map((s) => broadcastStrides(s, outShape));
  const shape: number[] = [];
  const strides: number[][] = inputShapes.map(() => []);
  for (let d = 0; d < outShape.length; d++) {
    const size = outShape[d];
    if (size === 1) continue;
    const last = shape.length - 1;
    if (last >= 0 && strides.every((s, k) => s[last] === full[k][d] * size)) {
      shape[last] *= size;
      strides.forEach((s, k) => { s[last] = full[k][d]; });
    } else {
      shape.push(size);
      strides.forEach((s, k) => s.push(full[k][d]));
    }
  }
  if (shape.length === 0) {
    shape.push(1);
    strides.forEach((s) => s.push(0));
  }
  return { shape, strides };
}

/**
 * Calls run(outOffset, length) for each contiguous run of the last merged dim, in order, with
 * offs[k] set to input k's offset at the run's start (an odometer over the outer dims).
 */
function forEachRun(shape: number[], strides: number[][], n: number, run: (oo: number, len: number) => void, offs: number[]): void {
  const r = shape.length;
  const len = shape[r - 1];
  const idx = new Array<number>(r).fill(0);
  const k = offs.length;
  for (let oo = 0; oo < n; oo += len) {
    run(oo, len);
    for (let d = r - 2; d >= 0; d--) {
      idx[d]++;
      for (let q = 0; q < k; q++) offs[q] += strides[q][d];
      if (idx[d] < shape[d]) break;
      for (let q = 0; q < k; q++) offs[q] -= strides[q][d] * shape[d];
      idx[d] = 0;
    }
  }
}

export const MAX_RANK = 8;

/**
 * WebGPU: one thread per output element; inputs read through broadcast strides. The dimensions are
 * merged first where every input's strides allow it (a bias added over [N, C, H, W] reads through 2
 * dimensions, not 4); two or fewer take an index path without the per-dimension loop, which runs
 * ~15x slower on SwiftShader (a [1024, 256] + [256] add: 96 ms against 6 for same-shape inputs).
 */
export function elementwiseGpu(op: string, args: GpuKernelArgs<ElementwiseAttrs>, expr: string): void {
  const { gpu, inputs, out, attrs } = args;
  if (out.shape.length > MAX_RANK) fail(op, `tensors of rank ${out.shape.length} exceed the WebGPU limit of ${MAX_RANK}`);
  const types = inputs.map((x) => x.dtype);
  const layouts = inputs.map((x) => layoutOf(x.shape, out.shape));
  const merged = mergeDims(out.shape, ...inputs.map((x) => broadcastStrides(x.shape, out.shape)));
  const rowsCols = asRowsCols(merged);
  const walk = rowsCols ?? merged;
  const u = new Uniforms().u32(numel(out.shape)).u32(walk.shape.length).f32(attrs.alpha ?? 0).u32(0).array(walk.shape, MAX_RANK);
  for (let k = 0; k < 3; k++) u.array(inputs[k] ? walk.strides[k] : [], MAX_RANK);
  gpu.dispatch({
    label: op,
    shader: 'elementwise',
    defines: elementwiseDefines(expr, types, out.dtype, layouts, rowsCols !== null),
    uniforms: u,
    bindings: [out.buffer, ...inputs.map((x) => x.buffer)],
    threads: numel(out.shape),
  });
}

/**
 * How an input is read: at the output's index (same shape), always at 0 (one element: a number
 * operand like x.mul(0.01)), or through broadcast strides, which costs a div/mod loop per element.
 */
type Layout = 'same' | 'single' | 'strided';

function layoutOf(shape: readonly number[], outShape: readonly number[]): Layout {
  if (shapesEqual(shape, outShape)) return 'same';
  return numel(shape) === 1 ? 'single' : 'strided';
}

/** The elementwise kernel's defines for inputs of `types` (first = a) producing `outType`. */
function elementwiseDefines(expr: string, types: DType[], outType: DType, layouts: Layout[], rank2 = false) {
  // One strided input sends every input through the strides (single ones have stride 0 there).
  const broadcast = layouts.includes('strided');
  const single = (k: number) => !broadcast && layouts[k] === 'single';
  return {
    ARITY2: types.length >= 2, ARITY3: types.length === 3, FLOAT: types[types.length - 1] === 'f32',
    BROADCAST: broadcast, BROADCAST2: broadcast && rank2, SINGLE_A: single(0), SINGLE_B: single(1), SINGLE_C: single(2),
    A_T: wgslType(types[0]), IN_T: wgslType(types[types.length - 1]), OUT_T: wgslType(outType), EXPR: expr,
  };
}

/** Every variant an elementwise op dispatches: each input-type list × every combination of layouts. */
export function elementwiseVariants(expr: string, typeLists: DType[][], outType?: DType) {
  return typeLists.flatMap((types) => layoutCombos(types.length).flatMap((layouts) =>
    (layouts.includes('strided') ? [false, true] : [false]).map((rank2) => ({
      shader: 'elementwise',
      defines: elementwiseDefines(expr, types, outType ?? types[types.length - 1], layouts, rank2),
    }))));
}

function layoutCombos(arity: number): Layout[][] {
  if (arity === 1) return [['same']]; // a unary op's input always has the output's shape
  let combos: Layout[][] = [[]];
  for (let k = 0; k < arity; k++) combos = combos.flatMap((c) => (['same', 'single', 'strided'] as const).map((l) => [...c, l]));
  return combos;
}

export function wgslType(dtype: DType): string {
  if (dtype === 'f64') throw new Error('f64 has no WGSL type (the WebGPU backend stores f32 and i32)');
  return dtype;
}
