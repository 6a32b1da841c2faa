/**
 * Row builders for elementwise ops: `unary({...})` and `binary({...})` turn a WGSL expression and a
 * CPU function into a full op row. One broadcasting kernel (shaders/elementwise.wgsl) and one CPU
 * loop serve every elementwise op.
 */
import type { DType } from '../dtype';
import { fail, fmtShape } from '../errors';
import { broadcastShapes, broadcastStrides, numel, shapesEqual } from '../shape';
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
    cpu: (args) => elementwiseCpu(args, (v) => spec.cpu(v[0], args.attrs.alpha ?? 0)),
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
    cpu: (args) => elementwiseCpu(args, (v) => spec.cpu(v[0], v[1])),
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

/** CPU loop: out[i] = f(inputs at the broadcast index of i). */
export function elementwiseCpu(args: CpuKernelArgs<unknown>, f: (v: number[]) => number): void {
  const { inputs, out } = args;
  const n = out.data.length;
  const v = new Array<number>(inputs.length);
  if (inputs.every((x) => shapesEqual(x.shape, out.shape))) {
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < inputs.length; k++) v[k] = inputs[k].data[i];
      out.data[i] = f(v);
    }
    return;
  }
  const rank = out.shape.length;
  const strides = inputs.map((x) => broadcastStrides(x.shape, out.shape));
  const idx = new Array<number>(rank).fill(0);
  const offs = new Array<number>(inputs.length).fill(0);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < inputs.length; k++) v[k] = inputs[k].data[offs[k]];
    out.data[i] = f(v);
    // Increment the multi-index (odometer) and the input offsets with it.
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      for (let k = 0; k < inputs.length; k++) offs[k] += strides[k][d];
      if (idx[d] < out.shape[d]) break;
      for (let k = 0; k < inputs.length; k++) offs[k] -= strides[k][d] * idx[d];
      idx[d] = 0;
    }
  }
}

export const MAX_RANK = 8;

/** WebGPU: one thread per output element; inputs read through broadcast strides. */
export function elementwiseGpu(op: string, args: GpuKernelArgs<ElementwiseAttrs>, expr: string): void {
  const { gpu, inputs, out, attrs } = args;
  if (out.shape.length > MAX_RANK) fail(op, `tensors of rank ${out.shape.length} exceed the WebGPU limit of ${MAX_RANK}`);
  const types = inputs.map((x) => x.dtype);
  const layouts = inputs.map((x) => layoutOf(x.shape, out.shape));
  const u = new Uniforms().u32(numel(out.shape)).u32(out.shape.length).f32(attrs.alpha ?? 0).u32(0)
    .array(out.shape, MAX_RANK);
  for (let k = 0; k < 3; k++) u.array(inputs[k] ? broadcastStrides(inputs[k].shape, out.shape) : [], MAX_RANK);
  gpu.dispatch({
    label: op,
    shader: 'elementwise',
    defines: elementwiseDefines(expr, types, out.dtype, layouts),
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
function elementwiseDefines(expr: string, types: DType[], outType: DType, layouts: Layout[]) {
  // One strided input sends every input through the strides (single ones have stride 0 there).
  const broadcast = layouts.includes('strided');
  const single = (k: number) => !broadcast && layouts[k] === 'single';
  return {
    ARITY2: types.length >= 2, ARITY3: types.length === 3, FLOAT: types[types.length - 1] === 'f32',
    BROADCAST: broadcast, SINGLE_A: single(0), SINGLE_B: single(1), SINGLE_C: single(2),
    A_T: wgslType(types[0]), IN_T: wgslType(types[types.length - 1]), OUT_T: wgslType(outType), EXPR: expr,
  };
}

/** Every variant an elementwise op dispatches: each input-type list × every combination of layouts. */
export function elementwiseVariants(expr: string, typeLists: DType[][], outType?: DType) {
  return typeLists.flatMap((types) => layoutCombos(types.length).map((layouts) => ({
    shader: 'elementwise',
    defines: elementwiseDefines(expr, types, outType ?? types[types.length - 1], layouts),
  })));
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
