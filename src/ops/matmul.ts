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
import { reduceGpu } from './reduce';

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

/** Rows and columns of C per workgroup of the untiled kernel (16x16 threads, 4x4 outputs each). */
export const MATMUL_TILE = 64;

/**
 * A configuration of the tiled kernel: each of WX x WY threads computes TM x TN outputs (multiples
 * of 4), so a workgroup computes a (WY·TM) x (WX·TN) block of C, walking K in slabs of BK staged
 * in workgroup memory; with `prefetch`, a thread loads its share of the next slab from global memory
 * into registers while the current one is multiplied.
 */
export interface MatmulTile {
  tm: number;
  tn: number;
  wx: number;
  wy: number;
  bk: number;
  prefetch?: boolean;
}

/**
 * The tiled kernel's configurations, largest block first. Large blocks reuse each value loaded
 * from workgroup memory more often (fewer reads per multiply-add) but give fewer workgroups, which
 * leaves a GPU's cores idle on small outputs; pickMatmulTile chooses by output size. Chosen from
 * `node bench/matmul-tune.mjs` on an H100 (bench/RESULTS.md): 128x128 with prefetch reached 36
 * TFLOP/s at 4096³, 64x128 with prefetch 20 TFLOP/s at 1024³; the MLP-sized products (~0.1 ms)
 * favour the plain 64x64 and 32x32 blocks.
 */
export const MATMUL_TILES: Readonly<Record<'large' | 'medium' | 'small' | 'tiny', MatmulTile>> = {
  large: { tm: 8, tn: 8, wx: 16, wy: 16, bk: 8, prefetch: true }, // 128 x 128
  medium: { tm: 8, tn: 4, wx: 32, wy: 8, bk: 16, prefetch: true }, // 64 x 128
  small: { tm: 4, tn: 4, wx: 16, wy: 16, bk: 16 }, // 64 x 64
  tiny: { tm: 4, tn: 4, wx: 8, wy: 8, bk: 16 }, // 32 x 32
};

/**
 * The matmul kernels (shaders/matmul.wgsl): 'tiled' stages K slabs in workgroup memory (GPUs);
 * 'untiled' walks K from global memory, 4x4 outputs per thread (software adapters); 'subgroup'
 * gives each lane of a 4-wide subgroup 16x8 outputs and shares op(A) loads by subgroupBroadcast
 * (software adapters with 4-lane subgroups, such as SwiftShader).
 */
export type MatmulKernel = 'tiled' | 'untiled' | 'subgroup';

export const MATMUL_KERNELS: readonly MatmulKernel[] = ['tiled', 'untiled', 'subgroup'];

/** The untiled and subgroup kernels' fixed geometry (their TM... defines only keep shader keys uniform). */
const UNTILED: MatmulTile = { tm: 4, tn: 4, wx: 16, wy: 16, bk: 16 };

/** The subgroup kernel: a 16 x 32 block of C per subgroup of 4 lanes, 4 subgroups per workgroup. */
const SUBGROUP_BLOCK = { rows: 16, cols: 32, perWorkgroup: 4 };

/** Workgroups a tile needs before it is chosen: enough to keep a large GPU's cores busy (an H100 has 132). */
const MIN_WORKGROUPS = { large: 128, medium: 128, small: 64 };

/**
 * Tiles by output size, from an autotune (src/autotune.ts): the first class whose `upTo` (output
 * elements m·n·batch; null = no bound) holds the product gives its tile.
 */
export type MatmulTable = { upTo: number | null; tile: MatmulTile }[];

/**
 * The tile for an m x n output (times batch): from the autotuned table when there is one, else the
 * largest tile that still gives enough workgroups.
 */
export function pickMatmulTile(m: number, n: number, batch: number, table?: MatmulTable): MatmulTile {
  if (table?.length) {
    const size = m * n * batch;
    return (table.find((c) => c.upTo === null || size <= c.upTo) ?? table[table.length - 1]).tile;
  }
  for (const size of ['large', 'medium', 'small'] as const) {
    const t = MATMUL_TILES[size];
    if (Math.ceil(m / (t.wy * t.tm)) * Math.ceil(n / (t.wx * t.tn)) * batch >= MIN_WORKGROUPS[size]) return t;
  }
  return MATMUL_TILES.tiny;
}

/**
 * The kernel's defines. The fused Linear op (linear.ts) adds a bias and an activation in the
 * write-back; plain matmul uses neither (and then shares its pipeline with a bias-free Linear).
 */
export const matmulDefines = (TRANS_A: boolean, TRANS_B: boolean, kernel: MatmulKernel, HAS_BIAS = false, ACT = 'actNone',
  loads: Vec4Loads = 'scalar', tile: MatmulTile = kernel === 'tiled' ? MATMUL_TILES.small : UNTILED, SPLIT_K = false) =>
  ({ T: 'f32', TRANS_A, TRANS_B, TILED: kernel === 'tiled', SUBGROUP: kernel === 'subgroup', HAS_BIAS, ACT,
    DOT4: loads === 'dot4', OUTER4: loads === 'outer4',
    TM: tile.tm, TN: tile.tn, WX: tile.wx, WY: tile.wy, BK: tile.bk, PREFETCH: !!tile.prefetch, SPLIT_K });

/** What a WebGPU backend tells the matmul kernels: its variant choices, and the kernels it can run. */
interface MatmulTuning {
  tuning: { matmulKernel: MatmulKernel; matmulTile?: MatmulTile; matmulTable?: MatmulTable; splitK?: boolean };
  matmulKernels: readonly MatmulKernel[];
  workgroupGrid(n: number): [number, number];
}

/**
 * Split-K: a product whose output gives fewer than `maxTiles` workgroups and whose K is at least
 * `minK` is summed by several workgroups per tile (each over a K range of at least `minChunk`), up
 * to `target` workgroups in all, into partial products that a sum over the splits adds up: a weight
 * gradient [10, 128] over a batch of 65536 otherwise runs on 4 workgroups, each walking all of K.
 * Shorter K (an MLP's batch of 1024) stays whole: the extra dispatch would cost more than it saves.
 */
const SPLIT_K = { maxTiles: 32, minK: 4096, minChunk: 512, target: 128, maxSplits: 32 };

/**
 * The kernel variant and grid for C = op(A) · op(B) of m x k by k x n, `batch` times: the tiled
 * kernel with the adapter's forced tile or the one chosen by shape (split over K when `allowSplit`
 * and the output is small), or the untiled kernel with vec4 loads where they apply. Shared by
 * matmul and the fused Linear (which has a bias and activation to apply once, so never splits).
 */
export function matmulPlan(op: string, gpu: MatmulTuning, transA: boolean, transB: boolean, m: number, k: number, n: number, batch: number,
  HAS_BIAS = false, ACT = 'actNone', allowSplit = false) {
  const kernel = gpu.tuning.matmulKernel;
  if (!gpu.matmulKernels.includes(kernel)) {
    fail(op, `tuning().matmulKernel is '${kernel}', which this adapter cannot run (it has ${gpu.matmulKernels.map((x) => `'${x}'`).join(', ')}; ` +
      `'subgroup' needs subgroups of exactly 4 invocations and WGSL's subgroup_id)`);
  }
  if (kernel === 'subgroup') return subgroupPlan(gpu, transA, transB, m, k, n, batch, HAS_BIAS, ACT);
  const tiled = kernel === 'tiled';
  const tile = tiled ? gpu.tuning.matmulTile ?? pickMatmulTile(m, n, batch, gpu.tuning.matmulTable) : UNTILED;
  const rows = tile.wy * tile.tm;
  const rowGroups = Math.ceil(m / rows);
  if (rowGroups > 65535) fail(op, `${m} rows exceed the WebGPU dispatch limit of ${65535 * rows}; split the batch`);
  const colGroups = Math.ceil(n / (tile.wx * tile.tn));
  let splits = 1;
  let kChunk = k;
  if (allowSplit && tiled && gpu.tuning.splitK !== false && batch === 1 && rowGroups * colGroups < SPLIT_K.maxTiles && k >= SPLIT_K.minK) {
    const want = Math.min(SPLIT_K.maxSplits, Math.ceil(SPLIT_K.target / (rowGroups * colGroups)), Math.floor(k / SPLIT_K.minChunk));
    kChunk = Math.ceil(k / want / tile.bk) * tile.bk;
    splits = Math.ceil(k / kChunk);
  }
  return {
    defines: matmulDefines(transA, transB, kernel, HAS_BIAS, ACT, vec4Loads(kernel, transA, transB, m, k, n), tile, splits > 1),
    workgroups: [colGroups, rowGroups, splits > 1 ? splits : batch] as [number, number, number],
    splits,
    kChunk: splits > 1 ? kChunk : k,
  };
}

/** The subgroup kernel's grid: its blocks' workgroups laid out in 2-D (z: the batch). */
function subgroupPlan(gpu: MatmulTuning, transA: boolean, transB: boolean, m: number, k: number, n: number, batch: number, HAS_BIAS: boolean, ACT: string) {
  const blocks = Math.ceil(m / SUBGROUP_BLOCK.rows) * Math.ceil(n / SUBGROUP_BLOCK.cols);
  const groups = Math.ceil(blocks / SUBGROUP_BLOCK.perWorkgroup);
  return {
    defines: matmulDefines(transA, transB, 'subgroup', HAS_BIAS, ACT),
    workgroups: [...gpu.workgroupGrid(groups), batch] as [number, number, number],
    splits: 1,
    kChunk: k,
  };
}

/**
 * The kernel's Params struct: sizes, the batch shape and each operand's element stride per batch
 * dim (0 where it broadcasts), and the K range of one split.
 */
export function matmulParams(m: number, n: number, k: number, batch: number[], aBatchStrides: number[], bBatchStrides: number[], kChunk = k): Uniforms {
  return new Uniforms().u32(m).u32(n).u32(k).u32(batch.length)
    .array(batch, MAX_RANK).array(aBatchStrides, MAX_RANK).array(bBatchStrides, MAX_RANK).u32(kChunk);
}

/** How the untiled kernel loads its operands: see vec4Loads. */
export type Vec4Loads = 'scalar' | 'dot4' | 'outer4';

/**
 * The untiled kernel (software adapters; the tiled one stages through workgroup memory instead)
 * loads vec4s where both operands are contiguous along the same direction and every vec4 is
 * aligned: along K for A · Bᵀ when K % 4 == 0 ('dot4'); along rows of Aᵀ and columns of B for
 * Aᵀ · B when M % 4 == 0 and N % 4 == 0 ('outer4', the weight gradient of a Linear). (The same
 * for A · B, vec4s along K of A and N of B, measured no faster on SwiftShader: not kept.)
 */
export function vec4Loads(kernel: MatmulKernel, transA: boolean, transB: boolean, m: number, k: number, n: number): Vec4Loads {
  if (kernel !== 'untiled') return 'scalar';
  if (!transA && transB && k % 4 === 0) return 'dot4';
  if (transA && !transB && m % 4 === 0 && n % 4 === 0) return 'outer4';
  return 'scalar';
}
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
    // op(A)[i][p] = a[aOff + i*aI + p*aP], op(B)[p][j] = b[bOff + p*bP + j*bJ]: the transposes are strides.
    const [aI, aP] = attrs.transA ? [1, m] : [k, 1];
    const [bP, bJ] = attrs.transB ? [1, k] : [n, 1];
    let packedA = -1;
    let packedB = -1;
    for (let bi = 0; bi < numel(batch); bi++) {
      let aOff = 0;
      let bOff = 0;
      for (let d = 0; d < batch.length; d++) {
        const idx = Math.floor(bi / bStrides[d]) % batch[d];
        aOff += idx * aStr[d];
        bOff += idx * bStr[d];
      }
      // A broadcast operand (same offset as the previous matrix) keeps its packed copy.
      if (aOff !== packedA) packCpuA(a.data, aOff, aI, aP, m, k);
      if (bOff !== packedB) packCpuB(b.data, bOff, bP, bJ, k, n);
      packedA = aOff;
      packedB = bOff;
      gemmPackedCpu(m, k, n, out.data, bi * m * n, null);
    }
    releaseCpuScratch();
  },
  webgpu: ({ gpu, inputs: [a, b], out, attrs }) => {
    const { m, ka: k, n } = dims(a, b, attrs);
    const { aBatch, bBatch, batch } = batchShapes(a, b);
    if (batch.length > MAX_RANK) fail('matmul', `more than ${MAX_RANK} batch dimensions`);
    const batchCount = numel(batch);
    if (batchCount > 65535) fail('matmul', `batch of ${batchCount} matrices exceeds the WebGPU dispatch limit of 65535`);
    const plan = matmulPlan('matmul', gpu, !!attrs.transA, !!attrs.transB, m, k, n, batchCount, false, 'actNone', true);
    const u = matmulParams(m, n, k, batch, broadcastStrides(aBatch, batch).map((s) => s * m * k),
      broadcastStrides(bBatch, batch).map((s) => s * k * n), plan.kChunk);
    if (plan.splits === 1) {
      gpu.dispatch({ label: 'matmul', shader: 'matmul', defines: plan.defines, workgroups: plan.workgroups, uniforms: u, bindings: [out.buffer, a.buffer, b.buffer] });
      return;
    }
    // Split-K: partial products [splits, m, n] in a scratch buffer, then their sum over the splits.
    const bytes = plan.splits * m * n * 4;
    const scratch = gpu.alloc(bytes, 'matmul split-K');
    const partial = { storage: scratch, byteOffset: 0, byteLength: bytes };
    gpu.dispatch({ label: 'matmul', shader: 'matmul', defines: plan.defines, workgroups: plan.workgroups, uniforms: u, bindings: [partial, a.buffer, b.buffer] });
    reduceGpu('sum', { gpu, inputs: [{ shape: [plan.splits, m * n], dtype: out.dtype, buffer: partial }], out: { shape: [m * n], dtype: out.dtype, buffer: out.buffer }, attrs: { axes: [0], keepdim: false } });
    gpu.free(scratch);
  },
  // C = op(A) op(B):  dA = dC op(B)ᵀ (transposed back if A was),  dB = op(A)ᵀ dC (likewise).
  vjp: ({ inputs: [a, b], attrs, needsGrad }, gy) => {
    const tA = !!attrs.transA;
    const tB = !!attrs.transB;
    const ga = needsGrad[0] ? unbroadcast(tA ? mm(b, gy, tB, true) : mm(gy, b, false, !tB), a.shape) : null;
    const gb = needsGrad[1] ? unbroadcast(tB ? mm(gy, a, true, tA) : mm(a, gy, !tA, false), b.shape) : null;
    return [ga, gb];
  },
  save: 'inputs',
  shaderVariants: [
    ...flags.flatMap((tA) => flags.flatMap((tB) => MATMUL_KERNELS.map((kernel) => ({ shader: 'matmul', defines: matmulDefines(tA, tB, kernel) })))),
    ...Object.values(MATMUL_TILES).flatMap((tile) => flags.flatMap((tA) => flags.map((tB) => ({ shader: 'matmul', defines: matmulDefines(tA, tB, 'tiled', false, 'actNone', 'scalar', tile) })))),
    ...Object.values(MATMUL_TILES).flatMap((tile) => flags.flatMap((tA) => flags.map((tB) => ({ shader: 'matmul', defines: matmulDefines(tA, tB, 'tiled', false, 'actNone', 'scalar', tile, true) })))),
    { shader: 'matmul', defines: matmulDefines(false, true, 'untiled', false, 'actNone', 'dot4') },
    { shader: 'matmul', defines: matmulDefines(true, false, 'untiled', false, 'actNone', 'outer4') },
  ],
  samples: [
    { inputs: [{ shape: [3, 4] }, { shape: [4, 5] }] },
    { inputs: [{ shape: [4, 3] }, { shape: [4, 5] }], attrs: { transA: true } },
    { inputs: [{ shape: [3, 4] }, { shape: [5, 4] }], attrs: { transB: true } },
    { inputs: [{ shape: [4, 3] }, { shape: [5, 4] }], attrs: { transA: true, transB: true } },
    { inputs: [{ shape: [2, 3, 4] }, { shape: [4, 2] }], note: 'batched, broadcast B' },
    { inputs: [{ shape: [2, 1, 3, 4] }, { shape: [3, 4, 5] }], note: 'broadcast batch dims' },
    { inputs: [{ shape: [17, 33] }, { shape: [33, 18] }], note: 'ragged tiles' },
    { inputs: [{ shape: [20, 70] }, { shape: [130, 20] }], attrs: { transA: true, transB: true }, note: 'several 64x64 tiles, ragged, transposed' },
    { inputs: [{ shape: [2, 140, 9] }, { shape: [9, 133] }], note: 'several 128x128 tiles, batched, ragged K slab' },
    { inputs: [{ shape: [2, 70, 8] }, { shape: [66, 8] }], attrs: { transB: true }, note: 'A · Bᵀ with K % 4 == 0 (vec4 loads untiled), batched, several tiles' },
    { inputs: [{ shape: [2, 5, 68] }, { shape: [5, 72] }], attrs: { transA: true }, note: 'Aᵀ · B with M, N % 4 == 0 (vec4 loads untiled), batched, ragged tiles' },
  ],
};

function mm(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  return matmulT(a, b, { transA, transB });
}

// ---------------------------------------------------------------------------------------------
// CPU: a packed, register-tiled GEMM
//
// op(A) is copied into panels of MR rows and op(B) into panels of NR columns, each stored
// p-major in a Float64Array (so transposes, strides and the f32 -> f64 conversion are paid once,
// in O(mk + kn), not in the O(mkn) loop). The kernel then computes one MR x NR tile of C at a time
// in local variables: per p it reads MR + NR packed values and does MR * NR multiply-adds.
// Every C[i][j] is the float64 sum over p in ascending order from 0, exactly the naive dot-product
// loop's arithmetic, so results do not depend on the tiling (f32 outputs round once, at the store).
//
// Zero skipping. Steps p where a panel's MR values of op(A) (or NR values of op(B)) are all zero
// add only products 0·b = ±0 when the other operand is finite, and adding ±0 leaves a sum unchanged
// (the sums start at +0 and x + y is -0 only when both are -0, so a sum is never -0). Such steps are
// skipped, bit for bit the same result, when they are common: input pixels (MNIST is ~80% zeros)
// and ReLU gradients. A non-finite value in the other operand (0·Inf = NaN) disables the skipping.

/** Register tile: rows of A and columns of B per kernel step (2 x 4 keeps the 8 sums + 6 operands in registers). */
const MR = 2;
const NR = 4;
/** Skip zero steps when at least this share of an operand's panel steps are all zero (a skipping step costs ~1.3 dense ones). */
const SPARSE_MIN = 0.2;

/** Packed operands, reused between calls (the CPU backend is synchronous and single-threaded). */
let packA = new Float64Array(0);
let packB = new Float64Array(0);
/** Zero-skipping copies: a panel's non-zero steps packed densely, and each step's offset into the other operand's panel. */
let sparseVals = new Float64Array(0);
let sparseIdx = new Int32Array(0);
let sparseCount = new Int32Array(0);
/** Scratch arrays longer than this (8 MB of float64) are dropped after the op instead of kept for the next call. */
const KEEP_SCRATCH = 1 << 20;
/** Geometry of the current packed operands. */
let packM = 0;
let packK = 0;
let packKB = 0;
let packN = 0;

type NumArray = { readonly length: number; [i: number]: number };

/** Lets a large matmul's scratch be garbage collected (called when an op is done with the packed operands). */
export function releaseCpuScratch(): void {
  if (packA.length > KEEP_SCRATCH) packA = new Float64Array(0);
  if (packB.length > KEEP_SCRATCH) packB = new Float64Array(0);
  if (sparseVals.length > KEEP_SCRATCH) sparseVals = new Float64Array(0);
  if (sparseIdx.length > KEEP_SCRATCH) sparseIdx = new Int32Array(0);
  if (sparseCount.length > KEEP_SCRATCH) sparseCount = new Int32Array(0);
  packM = packK = packKB = packN = -1;
}

/** Packs op(A)[i][p] = a[off + i*sI + p*sP] (m x k) into panels: packA[(ip*k + p)*MR + r], rows past m zero. */
export function packCpuA(a: NumArray, off: number, sI: number, sP: number, m: number, k: number): void {
  const panels = Math.ceil(m / MR);
  if (packA.length < panels * MR * k) packA = new Float64Array(panels * MR * k);
  const pa = packA;
  for (let ip = 0; ip < panels; ip++) {
    const i0 = ip * MR;
    const base = ip * k * MR;
    for (let r = 0; r < MR; r++) {
      let d = base + r;
      if (i0 + r >= m) {
        for (let p = 0; p < k; p++, d += MR) pa[d] = 0;
        continue;
      }
      let s = off + (i0 + r) * sI;
      for (let p = 0; p < k; p++, d += MR, s += sP) pa[d] = a[s];
    }
  }
  packM = m;
  packK = k;
}

/** Packs op(B)[p][j] = b[off + p*sP + j*sJ] (k x n) into panels: packB[(jp*k + p)*NR + s], columns past n zero. */
export function packCpuB(b: NumArray, off: number, sP: number, sJ: number, k: number, n: number): void {
  const panels = Math.ceil(n / NR);
  if (packB.length < panels * NR * k) packB = new Float64Array(panels * NR * k);
  const pb = packB;
  for (let jp = 0; jp < panels; jp++) {
    const j0 = jp * NR;
    const base = jp * k * NR;
    for (let c = 0; c < NR; c++) {
      let d = base + c;
      if (j0 + c >= n) {
        for (let p = 0; p < k; p++, d += NR) pb[d] = 0;
        continue;
      }
      let s = off + (j0 + c) * sJ;
      for (let p = 0; p < k; p++, d += NR, s += sP) pb[d] = b[s];
    }
  }
  packKB = k;
  packN = n;
}

/** The share of panel steps (groups of `w` values) that are all zero in packed[0, len). */
function zeroStepShare(packed: Float64Array, len: number, w: number): number {
  let zero = 0;
  for (let q = 0; q < len; q += w) {
    let all = true;
    for (let r = 0; r < w; r++) if (packed[q + r] !== 0) { all = false; break; }
    if (all) zero++;
  }
  return len === 0 ? 0 : (zero * w) / len;
}

function allFinite(packed: Float64Array, len: number): boolean {
  for (let q = 0; q < len; q++) if (packed[q] - packed[q] !== 0) return false; // Inf - Inf and NaN are NaN
  return true;
}

/**
 * Copies each panel's steps that are not all zero (w values each) to the front of its slot in
 * sparseVals, records in sparseIdx the offset p * wOther of each kept step in the other operand's
 * panel, and in sparseCount how many steps each panel kept.
 */
function compactPanels(packed: Float64Array, panels: number, k: number, w: number, wOther: number): void {
  if (sparseVals.length < panels * k * w) sparseVals = new Float64Array(panels * k * w);
  if (sparseIdx.length < panels * k) sparseIdx = new Int32Array(panels * k);
  if (sparseCount.length < panels) sparseCount = new Int32Array(panels);
  const vals = sparseVals;
  const idx = sparseIdx;
  for (let ip = 0; ip < panels; ip++) {
    const base = ip * k * w;
    let t = 0;
    for (let p = 0; p < k; p++) {
      const q = base + p * w;
      let all = true;
      for (let r = 0; r < w; r++) if (packed[q + r] !== 0) { all = false; break; }
      if (all) continue;
      for (let r = 0; r < w; r++) vals[base + t * w + r] = packed[q + r];
      idx[ip * k + t] = p * wOther;
      t++;
    }
    sparseCount[ip] = t;
  }
}

/**
 * out[off + i*n + j] = Σ_p op(A)[i][p] op(B)[p][j] (+ bias[j]) from the packed operands (packCpuA and
 * packCpuB with these m, k, n). The bias is added to the float64 sum before the store rounds it.
 */
export function gemmPackedCpu(m: number, k: number, n: number, out: NumArray, off: number, bias: NumArray | null): void {
  if (packM !== m || packK !== k || packKB !== k || packN !== n) throw new Error('gemmPackedCpu: operands packed for another shape');
  const rowPanels = Math.ceil(m / MR);
  const colPanels = Math.ceil(n / NR);
  const aLen = rowPanels * k * MR;
  const bLen = colPanels * k * NR;
  if (k >= 8) {
    const zeroA = zeroStepShare(packA, aLen, MR);
    const zeroB = zeroStepShare(packB, bLen, NR);
    if (zeroA >= SPARSE_MIN && zeroA >= zeroB && allFinite(packB, bLen)) {
      compactPanels(packA, rowPanels, k, MR, NR);
      gemmSparseA(m, k, n, out, off, bias);
      return;
    }
    if (zeroB >= SPARSE_MIN && allFinite(packA, aLen)) {
      compactPanels(packB, colPanels, k, NR, MR);
      gemmSparseB(m, k, n, out, off, bias);
      return;
    }
  }
  gemmDense(m, k, n, out, off, bias);
}

function gemmDense(m: number, k: number, n: number, out: NumArray, off: number, bias: NumArray | null): void {
  const pa = packA;
  const pb = packB;
  const rowPanels = Math.ceil(m / MR);
  const colPanels = Math.ceil(n / NR);
  for (let jp = 0; jp < colPanels; jp++) {
    const j0 = jp * NR;
    const bBase = jp * k * NR;
    for (let ip = 0; ip < rowPanels; ip++) {
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
      let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let ao = ip * k * MR;
      let bo = bBase;
      const end = ao + k * MR;
      for (; ao < end; ao += MR, bo += NR) {
        const a0 = pa[ao];
        const a1 = pa[ao + 1];
        const b0 = pb[bo];
        const b1 = pb[bo + 1];
        const b2 = pb[bo + 2];
        const b3 = pb[bo + 3];
        c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
        c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
      }
      storeTile(out, off, m, n, ip * MR, j0, bias, c00, c01, c02, c03, c10, c11, c12, c13);
    }
  }
}

/** gemmDense over A's non-zero steps only (compactPanels of A): B is read at the kept steps. */
function gemmSparseA(m: number, k: number, n: number, out: NumArray, off: number, bias: NumArray | null): void {
  const pa = sparseVals;
  const idx = sparseIdx;
  const count = sparseCount;
  const pb = packB;
  const rowPanels = Math.ceil(m / MR);
  const colPanels = Math.ceil(n / NR);
  for (let jp = 0; jp < colPanels; jp++) {
    const j0 = jp * NR;
    const bBase = jp * k * NR;
    for (let ip = 0; ip < rowPanels; ip++) {
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
      let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let ao = ip * k * MR;
      let t = ip * k;
      const end = ao + count[ip] * MR;
      for (; ao < end; ao += MR, t++) {
        const bo = bBase + idx[t];
        const a0 = pa[ao];
        const a1 = pa[ao + 1];
        const b0 = pb[bo];
        const b1 = pb[bo + 1];
        const b2 = pb[bo + 2];
        const b3 = pb[bo + 3];
        c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
        c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
      }
      storeTile(out, off, m, n, ip * MR, j0, bias, c00, c01, c02, c03, c10, c11, c12, c13);
    }
  }
}

/** gemmDense over B's non-zero steps only (compactPanels of B): A is read at the kept steps. */
function gemmSparseB(m: number, k: number, n: number, out: NumArray, off: number, bias: NumArray | null): void {
  const pa = packA;
  const pb = sparseVals;
  const idx = sparseIdx;
  const count = sparseCount;
  const rowPanels = Math.ceil(m / MR);
  const colPanels = Math.ceil(n / NR);
  for (let jp = 0; jp < colPanels; jp++) {
    const j0 = jp * NR;
    const bBase = jp * k * NR;
    const bEnd = bBase + count[jp] * NR;
    for (let ip = 0; ip < rowPanels; ip++) {
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
      let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      const aBase = ip * k * MR;
      let t = jp * k;
      for (let bo = bBase; bo < bEnd; bo += NR, t++) {
        const ao = aBase + idx[t];
        const a0 = pa[ao];
        const a1 = pa[ao + 1];
        const b0 = pb[bo];
        const b1 = pb[bo + 1];
        const b2 = pb[bo + 2];
        const b3 = pb[bo + 3];
        c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
        c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
      }
      storeTile(out, off, m, n, ip * MR, j0, bias, c00, c01, c02, c03, c10, c11, c12, c13);
    }
  }
}

/** Stores one MR x NR tile at row i0, column j0 (clipped to m x n), adding bias[j] first if given. */
function storeTile(out: NumArray, off: number, m: number, n: number, i0: number, j0: number, bias: NumArray | null,
  c00: number, c01: number, c02: number, c03: number, c10: number, c11: number, c12: number, c13: number): void {
  const cols = n - j0;
  if (bias) {
    const z0 = bias[j0];
    const z1 = cols > 1 ? bias[j0 + 1] : 0;
    const z2 = cols > 2 ? bias[j0 + 2] : 0;
    const z3 = cols > 3 ? bias[j0 + 3] : 0;
    c00 += z0; c01 += z1; c02 += z2; c03 += z3;
    c10 += z0; c11 += z1; c12 += z2; c13 += z3;
  }
  const o = off + i0 * n + j0;
  if (cols >= NR && i0 + 1 < m) {
    out[o] = c00; out[o + 1] = c01; out[o + 2] = c02; out[o + 3] = c03;
    out[o + n] = c10; out[o + n + 1] = c11; out[o + n + 2] = c12; out[o + n + 3] = c13;
    return;
  }
  storeRow(out, o, cols, c00, c01, c02, c03);
  if (i0 + 1 < m) storeRow(out, o + n, cols, c10, c11, c12, c13);
}

/** Stores the first `count` (up to 4) of a partial tile row. */
function storeRow(out: NumArray, o: number, count: number, v0: number, v1: number, v2: number, v3: number): void {
  out[o] = v0;
  if (count > 1) out[o + 1] = v1;
  if (count > 2) out[o + 2] = v2;
  if (count > 3) out[o + 3] = v3;
}
