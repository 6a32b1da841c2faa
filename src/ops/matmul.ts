/**
 * Batched matrix product C = op(A) · op(B), op = identity or transpose (the `transA`/`transB` flags),
 * with broadcast batch dims. The vjp uses the transposed-operand variants of the same kernel, so no
 * transpose is ever materialized. (1-D operands are handled in functional.ts, as in torch.matmul.)
 */
import { fail, fmtShape } from '../errors';
import { broadcastShapes, broadcastStrides, contiguousStrides, numel } from '../shape';
import { Uniforms } from '../backend/webgpu/uniforms';
import { checkDtype, checkSameDtype, MAX_RANK, unbroadcast } from './elementwise';
import type { OpDef, TensorMeta } from './op-def';
import type { Tensor } from '../tensor';
import { matmulRaw as matmulT } from './functional';

export interface MatmulAttrs {
  transA?: boolean;
  transB?: boolean;
}

/** Rows, inner size and columns of op(A)·op(B). */
function dims(a: TensorMeta, b: TensorMeta, { transA, transB }: MatmulAttrs) {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const [m, ka] = transA ? [a.shape[ra - 1], a.shape[ra - 2]] : [a.shape[ra - 2], a.shape[ra - 1]];
  const [kb, n] = transB ? [b.shape[rb - 1], b.shape[rb - 2]] : [b.shape[rb - 2], b.shape[rb - 1]];
  return { m, ka, kb, n };
}

function batchShapes(a: TensorMeta, b: TensorMeta) {
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const batch = broadcastShapes('matmul', aBatch, bBatch);
  return { aBatch, bBatch, batch };
}

/** The kernel's tile: workgroups of TILE x TILE threads, one output each. */
export const MATMUL_TILE = 16;
const TILE = MATMUL_TILE;

/**
 * The matmul kernel's defines. The fused Linear op (linear.ts) adds a bias and an activation in the
 * write-back; plain matmul uses neither (and then shares its pipeline with a bias-free Linear).
 */
export const matmulDefines = (TRANS_A: boolean, TRANS_B: boolean, TILED: boolean, HAS_BIAS = false, ACT = 'actNone') =>
  ({ T: 'f32', TRANS_A, TRANS_B, TILED, HAS_BIAS, ACT });
const flags = [false, true];

export const matmul: OpDef<MatmulAttrs> = {
  name: 'matmul',
  infer: ([a, b], attrs) => {
    checkDtype('matmul', a, false);
    checkSameDtype('matmul', a, b);
    if (a.shape.length < 2 || b.shape.length < 2) {
      fail('matmul', `kernel operands must have rank >= 2, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
    }
    const { m, ka, kb, n } = dims(a, b, attrs);
    if (ka !== kb) {
      fail('matmul', `inner dimensions differ: ${fmtShape(a.shape)}${attrs.transA ? 'ᵀ' : ''} · ${fmtShape(b.shape)}${attrs.transB ? 'ᵀ' : ''} ` +
        `has ${ka} columns on the left and ${kb} rows on the right (expected equal)`);
    }
    return { shape: [...batchShapes(a, b).batch, m, n], dtype: a.dtype };
  },
  cpu: ({ inputs: [a, b], out, attrs }) => {
    const { m, ka: k, n } = dims(a, b, attrs);
    const { aBatch, bBatch, batch } = batchShapes(a, b);
    const aStr = broadcastStrides(aBatch, batch).map((s) => s * m * k);
    const bStr = broadcastStrides(bBatch, batch).map((s) => s * k * n);
    const bStrides = contiguousStrides(batch);
    for (let bi = 0; bi < numel(batch); bi++) {
      let aOff = 0;
      let bOff = 0;
      batch.forEach((_, d) => {
        const idx = Math.floor(bi / bStrides[d]) % batch[d];
        aOff += idx * aStr[d];
        bOff += idx * bStr[d];
      });
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let acc = 0;
          for (let p = 0; p < k; p++) {
            const av = a.data[aOff + (attrs.transA ? p * m + i : i * k + p)];
            const bv = b.data[bOff + (attrs.transB ? j * k + p : p * n + j)];
            acc += av * bv;
          }
          out.data[bi * m * n + i * n + j] = acc;
        }
      }
    }
  },
  webgpu: ({ gpu, inputs: [a, b], out, attrs }) => {
    const { m, ka: k, n } = dims(a, b, attrs);
    const { aBatch, bBatch, batch } = batchShapes(a, b);
    if (batch.length > MAX_RANK) fail('matmul', `more than ${MAX_RANK} batch dimensions`);
    const batchCount = numel(batch);
    if (batchCount > 65535) fail('matmul', `batch of ${batchCount} matrices exceeds the WebGPU dispatch limit of 65535`);
    const u = new Uniforms().u32(m).u32(n).u32(k).u32(batch.length)
      .array(batch, MAX_RANK)
      .array(broadcastStrides(aBatch, batch).map((s) => s * m * k), MAX_RANK)
      .array(broadcastStrides(bBatch, batch).map((s) => s * k * n), MAX_RANK);
    gpu.dispatch({
      label: 'matmul',
      shader: 'matmul',
      defines: matmulDefines(!!attrs.transA, !!attrs.transB, gpu.tuning.tiledMatmul),
      uniforms: u,
      bindings: [out.buffer, a.buffer, b.buffer],
      workgroups: [Math.ceil(n / TILE), Math.ceil(m / TILE), batchCount],
    });
  },
  // C = op(A) op(B):  dA = dC op(B)ᵀ (transposed back if A was),  dB = op(A)ᵀ dC (likewise).
  vjp: ({ inputs: [a, b], attrs }, gy) => {
    const tA = !!attrs.transA;
    const tB = !!attrs.transB;
    const ga = tA ? mm(b, gy, tB, true) : mm(gy, b, false, !tB);
    const gb = tB ? mm(gy, a, true, tA) : mm(a, gy, !tA, false);
    return [unbroadcast(ga, a.shape), unbroadcast(gb, b.shape)];
  },
  save: 'inputs',
  shaderVariants: flags.flatMap((tA) => flags.flatMap((tB) => flags.map((tiled) => ({ shader: 'matmul', defines: matmulDefines(tA, tB, tiled) })))),
  samples: [
    { inputs: [{ shape: [3, 4] }, { shape: [4, 5] }] },
    { inputs: [{ shape: [4, 3] }, { shape: [4, 5] }], attrs: { transA: true } },
    { inputs: [{ shape: [3, 4] }, { shape: [5, 4] }], attrs: { transB: true } },
    { inputs: [{ shape: [4, 3] }, { shape: [5, 4] }], attrs: { transA: true, transB: true } },
    { inputs: [{ shape: [2, 3, 4] }, { shape: [4, 2] }], note: 'batched, broadcast B' },
    { inputs: [{ shape: [2, 1, 3, 4] }, { shape: [3, 4, 5] }], note: 'broadcast batch dims' },
    { inputs: [{ shape: [17, 33] }, { shape: [33, 18] }], note: 'ragged tiles' },
  ],
};

function mm(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  return matmulT(a, b, { transA, transB });
}
