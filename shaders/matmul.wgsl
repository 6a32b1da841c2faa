//! include common/index
//! include common/special
#if SUBGROUP
enable subgroups;
// Subgroup operations in control flow that depends on subgroup_id: uniform within each subgroup,
// which is all subgroupBroadcast needs.
diagnostic(off, subgroup_uniformity);
#endif
// Batched C[b] = op(A[b]) · op(B[b]); op is an optional transpose (TRANS_A / TRANS_B: the operand is
// stored transposed), so backward needs no transposes. Batch dims broadcast: A and B batch strides
// are 0 along broadcast dims.
// TILED (GPUs): a workgroup of WX x WY threads computes a BM x BN block of C (BM = WY * TM,
// BN = WX * TN); K advances in slabs of BK, each slab of op(A) [BM x BK] and op(B) [BK x BN] staged
// in workgroup memory (K-major, as vec4s along M and N) with coalesced loads; each thread keeps a
// TM x TN block of outputs in registers as vec4s, so one vec4 read from workgroup memory feeds 4 (A)
// or TM (B) multiply-adds. A thread's vec4 columns are tx + WX j and its vec4 rows ty + WY i, so
// neighbouring threads read neighbouring vec4s (no bank conflicts) and store neighbouring columns.
// The tile sizes are defines chosen per shape and adapter (src/ops/matmul.ts, matmulPlan).
// SUBGROUP (CPU adapters with 4-wide subgroups: SwiftShader runs each subgroup as one 4-lane SIMD
// group, where a global load costs ~10x a multiply-add and barriers are emulated): no workgroup
// memory; each subgroup computes a 16 x 32 block of C, each lane 16 rows x 8 columns (columns
// lane + 4j) in registers. Per 4 k, a lane loads op(A) at its own k (k0 + lane) for the 16 rows and
// subgroupBroadcast hands every lane the other lanes' k: 4 A loads per k instead of 16. The block of
// a subgroup comes from subgroup_id, so which invocations form a subgroup does not matter.
// Otherwise (software adapters without such subgroups) each thread walks K straight from global
// memory for a 4x4 block of a 64x64 workgroup block.
// The fused Linear layer (src/ops/linear.ts) is C = ACT(A · Bᵀ + bias) with TRANS_B: HAS_BIAS adds
// Bias[col] and ACT (the name of one of the act* functions below) is applied in the write-back, so
// matmul + bias + activation is one kernel.
// Bindings: 0 Params, 1 C [batch, M, N], 2 A, 3 B, 4 Bias [N] (HAS_BIAS only).
// Defines: T, TRANS_A, TRANS_B, TILED (with TM, TN, WX, WY, BK, PREFETCH, SPLIT_K); SUBGROUP; the untiled vec4 variants
// DOT4 (A · Bᵀ with K % 4 == 0) and OUTER4 (Aᵀ · B with M, N % 4 == 0), where A and B are bound as
// vec4s; HAS_BIAS, ACT (actNone | actRelu | actTanh | actSigmoid).
// Dispatch: (ceil(N / BN), ceil(M / BM), batch count); the untiled variants use BM = BN = 64 with
// 16x16 threads. SUBGROUP: workgroups of 16 invocations (4 subgroups), block b = (y · groups.x + x)
// · subgroups + subgroup_id over ceil(M / 16) x ceil(N / 32) blocks (x, y wrap past the 65535 limit),
// z the batch index.

struct Params {
  M: u32,
  N: u32,
  K: u32,
  batchRank: u32,
  batchShape: array<vec4<u32>, 2>,
  aBatchStrides: array<vec4<u32>, 2>,
  bBatchStrides: array<vec4<u32>, 2>,
  kChunk: u32, // SPLIT_K: the K range of split z is [z kChunk, (z + 1) kChunk)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> C: array<{{T}}>;
#if DOT4
@group(0) @binding(2) var<storage, read> A: array<vec4<{{T}}>>;
@group(0) @binding(3) var<storage, read> B: array<vec4<{{T}}>>;
#elif OUTER4
@group(0) @binding(2) var<storage, read> A: array<vec4<{{T}}>>;
@group(0) @binding(3) var<storage, read> B: array<vec4<{{T}}>>;
#else
@group(0) @binding(2) var<storage, read> A: array<{{T}}>;
@group(0) @binding(3) var<storage, read> B: array<{{T}}>;

// op(A)[r, k] and op(B)[k, c] of batch matrices at A[base], B[base] (no bounds checks).
fn opA(base: u32, r: u32, k: u32) -> {{T}} {
#if TRANS_A
  return A[base + k * p.M + r];
#else
  return A[base + r * p.K + k];
#endif
}

fn opB(base: u32, k: u32, c: u32) -> {{T}} {
#if TRANS_B
  return B[base + c * p.K + k];
#else
  return B[base + k * p.N + c];
#endif
}
#endif
#if HAS_BIAS
@group(0) @binding(4) var<storage, read> Bias: array<{{T}}>;
#endif

const TM = {{TM}}u; // rows of C per thread (a multiple of 4)
const TN = {{TN}}u; // columns of C per thread (a multiple of 4)
const WX = {{WX}}u; // threads along N
const WY = {{WY}}u; // threads along M
const BK = {{BK}}u; // K per slab
const BM = WY * TM;
const BN = WX * TN;
const THREADS = WX * WY;

#if TILED
// K-major slabs as vec4s: tileA[k * SA + r / 4][r % 4] = op(A)[row0 + r, k0 + k], likewise tileB.
// Rows are one vec4 longer than the block (SA, SB) so that the threads storing one column of the
// slab (different k, same r) hit different memory banks.
const SA = BM / 4u + 1u;
const SB = BN / 4u + 1u;
var<workgroup> tileA: array<vec4<{{T}}>, BK * SA>;
var<workgroup> tileB: array<vec4<{{T}}>, BK * SB>;
// A thread's share of the next slab, loaded from global memory into registers (with PREFETCH,
// while the current slab is multiplied), then stored to the tiles.
const LA = BM * BK / THREADS;
const LB = BN * BK / THREADS;
var<private> nextA: array<{{T}}, LA>;
var<private> nextB: array<{{T}}, LB>;
// End of the K range this workgroup sums (p.K, or its split's end with SPLIT_K).
var<private> kLimit: u32;
#endif

#if TILED
// op(A)[r, k] and op(B)[k, c], zero outside the matrix (ragged edge tiles).
fn loadA(base: u32, r: u32, k: u32) -> {{T}} {
  if (r >= p.M || k >= kLimit) {
    return 0.0;
  }
  return opA(base, r, k);
}

fn loadB(base: u32, k: u32, c: u32) -> {{T}} {
  if (k >= kLimit || c >= p.N) {
    return 0.0;
  }
  return opB(base, k, c);
}

// Where the thread's element e of a slab lies: (row r or column c, k). Consecutive threads read
// consecutive addresses of the operand as stored.
fn slabA(e: u32) -> vec2<u32> {
#if TRANS_A
  return vec2<u32>(e % BM, e / BM);
#else
  return vec2<u32>(e / BK, e % BK);
#endif
}

fn slabB(e: u32) -> vec2<u32> {
#if TRANS_B
  return vec2<u32>(e / BK, e % BK);
#else
  return vec2<u32>(e % BN, e / BN);
#endif
}

// Loads the thread's share of the slab at k0 into registers.
fn fetchSlab(aBase: u32, bBase: u32, row0: u32, col0: u32, k0: u32, li: u32) {
  for (var l = 0u; l < LA; l++) {
    let q = slabA(li + THREADS * l);
    nextA[l] = loadA(aBase, row0 + q.x, k0 + q.y);
  }
  for (var l = 0u; l < LB; l++) {
    let q = slabB(li + THREADS * l);
    nextB[l] = loadB(bBase, k0 + q.y, col0 + q.x);
  }
}

// Stores the registers' slab into the tiles.
fn stashSlab(li: u32) {
  for (var l = 0u; l < LA; l++) {
    let q = slabA(li + THREADS * l);
    tileA[q.y * SA + q.x / 4u][q.x % 4u] = nextA[l];
  }
  for (var l = 0u; l < LB; l++) {
    let q = slabB(li + THREADS * l);
    tileB[q.y * SB + q.x / 4u][q.x % 4u] = nextB[l];
  }
}
#endif

// Element strides of op(A) (per row, per k) and op(B) (per column, per k).
fn strideA() -> vec2<u32> {
#if TRANS_A
  return vec2<u32>(1u, p.M);
#else
  return vec2<u32>(p.K, 1u);
#endif
}

fn strideB() -> vec2<u32> {
#if TRANS_B
  return vec2<u32>(p.K, 1u);
#else
  return vec2<u32>(1u, p.N);
#endif
}

// The write-back activations: the same expressions as the relu, tanh and sigmoid ops, so a fused
// Linear + activation equals the unfused pair.
fn actNone(v: {{T}}) -> {{T}} {
  return v;
}

fn actRelu(v: {{T}}) -> {{T}} {
  return select(max(v, 0.0), v, isNan(v)); // NaN stays NaN, as in PyTorch
}

fn actTanh(v: {{T}}) -> {{T}} {
  return tanhSafe(v);
}

fn actSigmoid(v: {{T}}) -> {{T}} {
  return select(exp(v) / (1.0 + exp(v)), 1.0 / (1.0 + exp(-v)), v >= 0.0); // exp never overflows into inf/inf
}

// The write-back of one output: bias, activation, bounds.
fn store(batch: u32, row: u32, col: u32, v: {{T}}) {
  if (row < p.M && col < p.N) {
    var acc = v;
#if HAS_BIAS
    acc += Bias[col];
#endif
    C[batch * p.M * p.N + row * p.N + col] = {{ACT}}(acc);
  }
}

#if SUBGROUP
// Four rows of op(A) at k, and four columns of op(B) at k.
fn columnA(base: u32, rows: vec4<u32>, k: u32) -> vec4<{{T}}> {
  return vec4<{{T}}>(opA(base, rows.x, k), opA(base, rows.y, k), opA(base, rows.z, k), opA(base, rows.w, k));
}

fn rowB(base: u32, k: u32, cols: vec4<u32>) -> vec4<{{T}}> {
  return vec4<{{T}}>(opB(base, k, cols.x), opB(base, k, cols.y), opB(base, k, cols.z), opB(base, k, cols.w));
}

// A lane's 16 x 8 outputs: m{g}{v}[i][j] is row 4g + i, column group v's column j.
struct Block {
  m00: mat4x4<{{T}}>, m01: mat4x4<{{T}}>, m10: mat4x4<{{T}}>, m11: mat4x4<{{T}}>,
  m20: mat4x4<{{T}}>, m21: mat4x4<{{T}}>, m30: mat4x4<{{T}}>, m31: mat4x4<{{T}}>,
}

// m + a ⊗ b: four rows a (one k) times four columns b.
fn outer(m: mat4x4<{{T}}>, a: vec4<{{T}}>, b: vec4<{{T}}>) -> mat4x4<{{T}}> {
  return mat4x4<{{T}}>(fma(vec4<{{T}}>(a.x), b, m[0]), fma(vec4<{{T}}>(a.y), b, m[1]),
                       fma(vec4<{{T}}>(a.z), b, m[2]), fma(vec4<{{T}}>(a.w), b, m[3]));
}

// One k: the block's 16 rows a0..a3 times the lane's 8 columns b0, b1.
fn mac(m: Block, a0: vec4<{{T}}>, a1: vec4<{{T}}>, a2: vec4<{{T}}>, a3: vec4<{{T}}>, b0: vec4<{{T}}>, b1: vec4<{{T}}>) -> Block {
  return Block(outer(m.m00, a0, b0), outer(m.m01, a0, b1), outer(m.m10, a1, b0), outer(m.m11, a1, b1),
               outer(m.m20, a2, b0), outer(m.m21, a2, b1), outer(m.m30, a3, b0), outer(m.m31, a3, b1));
}

fn storeBlock(batch: u32, rows: vec4<u32>, cols: vec4<u32>, m: mat4x4<{{T}}>) {
  for (var i = 0u; i < 4u; i++) {
    for (var j = 0u; j < 4u; j++) {
      store(batch, rows[i], cols[j], m[i][j]);
    }
  }
}

@compute @workgroup_size(16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(subgroup_id) sid: u32, @builtin(num_subgroups) subgroups: u32,
        @builtin(subgroup_invocation_id) lane: u32) {
  let colBlocks = (p.N + 31u) / 32u;
  let blockCount = ((p.M + 15u) / 16u) * colBlocks;
  let b = (wg.y * groups.x + wg.x) * subgroups + sid; // this subgroup's block
  if (b >= blockCount) {
    return;
  }
  let aBase = offsetOf(wg.z, p.batchRank, p.batchShape, p.aBatchStrides);
  let bBase = offsetOf(wg.z, p.batchRank, p.batchShape, p.bBatchStrides);
  let rows0 = vec4<u32>((b / colBlocks) * 16u) + vec4<u32>(0u, 1u, 2u, 3u);
  let rows1 = rows0 + 4u;
  let rows2 = rows0 + 8u;
  let rows3 = rows0 + 12u;
  let cols0 = vec4<u32>((b % colBlocks) * 32u + lane) + vec4<u32>(0u, 4u, 8u, 12u);
  let cols1 = cols0 + 16u;
  // Loads read the last row or column for those past the edge (never stored): no bounds checks in the K loop.
  let lastRow = vec4<u32>(p.M - 1u);
  let lastCol = vec4<u32>(p.N - 1u);
  let r0 = min(rows0, lastRow);
  let r1 = min(rows1, lastRow);
  let r2 = min(rows2, lastRow);
  let r3 = min(rows3, lastRow);
  let c0 = min(cols0, lastCol);
  let c1 = min(cols1, lastCol);
  var m: Block;
  let k4 = p.K & ~3u;
  for (var k0 = 0u; k0 < k4; k0 += 4u) {
    let a0 = columnA(aBase, r0, k0 + lane);
    let a1 = columnA(aBase, r1, k0 + lane);
    let a2 = columnA(aBase, r2, k0 + lane);
    let a3 = columnA(aBase, r3, k0 + lane);
    m = mac(m, subgroupBroadcast(a0, 0u), subgroupBroadcast(a1, 0u), subgroupBroadcast(a2, 0u), subgroupBroadcast(a3, 0u),
            rowB(bBase, k0, c0), rowB(bBase, k0, c1));
    m = mac(m, subgroupBroadcast(a0, 1u), subgroupBroadcast(a1, 1u), subgroupBroadcast(a2, 1u), subgroupBroadcast(a3, 1u),
            rowB(bBase, k0 + 1u, c0), rowB(bBase, k0 + 1u, c1));
    m = mac(m, subgroupBroadcast(a0, 2u), subgroupBroadcast(a1, 2u), subgroupBroadcast(a2, 2u), subgroupBroadcast(a3, 2u),
            rowB(bBase, k0 + 2u, c0), rowB(bBase, k0 + 2u, c1));
    m = mac(m, subgroupBroadcast(a0, 3u), subgroupBroadcast(a1, 3u), subgroupBroadcast(a2, 3u), subgroupBroadcast(a3, 3u),
            rowB(bBase, k0 + 3u, c0), rowB(bBase, k0 + 3u, c1));
  }
  for (var k = k4; k < p.K; k++) {
    m = mac(m, columnA(aBase, r0, k), columnA(aBase, r1, k), columnA(aBase, r2, k), columnA(aBase, r3, k),
            rowB(bBase, k, c0), rowB(bBase, k, c1));
  }
  storeBlock(wg.z, rows0, cols0, m.m00);
  storeBlock(wg.z, rows0, cols1, m.m01);
  storeBlock(wg.z, rows1, cols0, m.m10);
  storeBlock(wg.z, rows1, cols1, m.m11);
  storeBlock(wg.z, rows2, cols0, m.m20);
  storeBlock(wg.z, rows2, cols1, m.m21);
  storeBlock(wg.z, rows3, cols0, m.m30);
  storeBlock(wg.z, rows3, cols1, m.m31);
}
#else
@compute @workgroup_size(WX, WY)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  // Batch offsets of A and B for batch index wg.z.
  let aBase = offsetOf(wg.z, p.batchRank, p.batchShape, p.aBatchStrides);
  let bBase = offsetOf(wg.z, p.batchRank, p.batchShape, p.bBatchStrides);
#if TILED
  let row0 = wg.y * BM;
  let col0 = wg.x * BN;
  var acc: array<vec4<{{T}}>, TM * TN / 4u>; // acc[i * TN / 4 + j]: row (ty + WY (i / 4)) 4 + i % 4, vec4 column tx + WX j
#if SPLIT_K
  // Split-K (one matrix): workgroup z sums its own K range into slice z of C, the partial sums
  // that a reduction over z then adds up.
  let kStart = wg.z * p.kChunk;
  let kEnd = min(p.K, kStart + p.kChunk);
#else
  let kStart = 0u;
  let kEnd = p.K;
#endif
  kLimit = kEnd; // for the loads; the loop tests the let (uniform control flow around the barriers)
  fetchSlab(aBase, bBase, row0, col0, kStart, li);
  for (var k0 = kStart; k0 < kEnd; k0 += BK) {
    stashSlab(li);
    workgroupBarrier();
#if PREFETCH
    // The next slab's global loads are in flight while this one is multiplied.
    fetchSlab(aBase, bBase, row0, col0, k0 + BK, li);
#endif
    for (var k = 0u; k < BK; k++) {
      var a: array<vec4<{{T}}>, TM / 4u>;
      var b: array<vec4<{{T}}>, TN / 4u>;
      for (var i = 0u; i < TM / 4u; i++) {
        a[i] = tileA[k * SA + lid.y + WY * i];
      }
      for (var j = 0u; j < TN / 4u; j++) {
        b[j] = tileB[k * SB + lid.x + WX * j];
      }
      for (var i = 0u; i < TM; i++) {
        let ai = vec4<{{T}}>(a[i / 4u][i % 4u]);
        for (var j = 0u; j < TN / 4u; j++) {
          acc[i * (TN / 4u) + j] = fma(ai, b[j], acc[i * (TN / 4u) + j]);
        }
      }
    }
    workgroupBarrier();
#if !PREFETCH
    fetchSlab(aBase, bBase, row0, col0, k0 + BK, li);
#endif
  }
  for (var i = 0u; i < TM; i++) {
    let row = row0 + (lid.y + WY * (i / 4u)) * 4u + i % 4u;
    for (var j = 0u; j < TN / 4u; j++) {
      let col = col0 + (lid.x + WX * j) * 4u;
      let v = acc[i * (TN / 4u) + j];
      store(wg.z, row, col, v.x);
      store(wg.z, row, col + 1u, v.y);
      store(wg.z, row, col + 2u, v.z);
      store(wg.z, row, col + 3u, v.w);
    }
  }
#elif DOT4
  // A · Bᵀ with K % 4 == 0: rows of A and of Bᵀ are both contiguous along K, so each load is a vec4
  // of 4 consecutive k (4x fewer loads than the scalar loop below; the sum order within a vec4
  // differs from the plain loop's, by f32 rounding only). Same 4x4 block per thread.
  let row0 = wg.y * 64u + lid.y;
  let col0 = wg.x * 64u + lid.x * 4u;
  let k4 = p.K / 4u;
  var ai = vec4<u32>(aBase / 4u) + min(vec4<u32>(row0) + vec4<u32>(0u, 16u, 32u, 48u), vec4<u32>(p.M - 1u)) * k4;
  var bi = vec4<u32>(bBase / 4u) + min(vec4<u32>(col0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(p.N - 1u)) * k4;
  var acc0 = vec4<{{T}}>(0.0);
  var acc1 = vec4<{{T}}>(0.0);
  var acc2 = vec4<{{T}}>(0.0);
  var acc3 = vec4<{{T}}>(0.0);
  for (var k = 0u; k < k4; k++) {
    let b0 = B[bi.x];
    let b1 = B[bi.y];
    let b2 = B[bi.z];
    let b3 = B[bi.w];
    let a0 = A[ai.x];
    let a1 = A[ai.y];
    let a2 = A[ai.z];
    let a3 = A[ai.w];
    acc0 += vec4<{{T}}>(dot(a0, b0), dot(a0, b1), dot(a0, b2), dot(a0, b3));
    acc1 += vec4<{{T}}>(dot(a1, b0), dot(a1, b1), dot(a1, b2), dot(a1, b3));
    acc2 += vec4<{{T}}>(dot(a2, b0), dot(a2, b1), dot(a2, b2), dot(a2, b3));
    acc3 += vec4<{{T}}>(dot(a3, b0), dot(a3, b1), dot(a3, b2), dot(a3, b3));
    ai += vec4<u32>(1u);
    bi += vec4<u32>(1u);
  }
  for (var j = 0u; j < 4u; j++) {
    store(wg.z, row0, col0 + j, acc0[j]);
    store(wg.z, row0 + 16u, col0 + j, acc1[j]);
    store(wg.z, row0 + 32u, col0 + j, acc2[j]);
    store(wg.z, row0 + 48u, col0 + j, acc3[j]);
  }
#elif OUTER4
  // Aᵀ · B with M % 4 == 0 and N % 4 == 0: at each k, 4 consecutive rows of op(A) and 4 consecutive
  // columns of B are one vec4 each, and the 4x4 block is their outer product. Here a thread's rows
  // are consecutive too (4ty .. 4ty + 3); a block starting past the edge reads the last valid vec4.
  let row0 = wg.y * 64u + lid.y * 4u;
  let col0 = wg.x * 64u + lid.x * 4u;
  var ai = (aBase + min(row0, p.M - 4u)) / 4u;
  var bi = (bBase + min(col0, p.N - 4u)) / 4u;
  var acc0 = vec4<{{T}}>(0.0);
  var acc1 = vec4<{{T}}>(0.0);
  var acc2 = vec4<{{T}}>(0.0);
  var acc3 = vec4<{{T}}>(0.0);
  let aStep = p.M / 4u;
  let bStep = p.N / 4u;
  // K unrolled by 4, then the remainder. Each step's index is computed from the iteration's base
  // (one increment per iteration): four `ai += aStep` in a row were miscompiled on an NVIDIA
  // adapter (Dawn/Vulkan, driver 580), which then read the k + 1 operands for k + 2 and k + 3.
  let k4 = p.K & ~3u;
  for (var k = 0u; k < k4; k += 4u) {
    let a0 = A[ai];
    let b0 = B[bi];
    let a1 = A[ai + aStep];
    let b1 = B[bi + bStep];
    let a2 = A[ai + 2u * aStep];
    let b2 = B[bi + 2u * bStep];
    let a3 = A[ai + 3u * aStep];
    let b3 = B[bi + 3u * bStep];
    acc0 += a0.x * b0 + a1.x * b1 + a2.x * b2 + a3.x * b3;
    acc1 += a0.y * b0 + a1.y * b1 + a2.y * b2 + a3.y * b3;
    acc2 += a0.z * b0 + a1.z * b1 + a2.z * b2 + a3.z * b3;
    acc3 += a0.w * b0 + a1.w * b1 + a2.w * b2 + a3.w * b3;
    ai += 4u * aStep;
    bi += 4u * bStep;
  }
  for (var k = k4; k < p.K; k++) {
    let a = A[ai];
    let b = B[bi];
    acc0 += a.x * b;
    acc1 += a.y * b;
    acc2 += a.z * b;
    acc3 += a.w * b;
    ai += aStep;
    bi += bStep;
  }
  for (var j = 0u; j < 4u; j++) {
    store(wg.z, row0, col0 + j, acc0[j]);
    store(wg.z, row0 + 1u, col0 + j, acc1[j]);
    store(wg.z, row0 + 2u, col0 + j, acc2[j]);
    store(wg.z, row0 + 3u, col0 + j, acc3[j]);
  }
#else
  // Each thread computes a 4x4 block of C (rows ty + 16i, columns 4tx .. 4tx + 3) straight from
  // global memory, accumulating in four vec4s. Rows and columns past the edge read the last valid
  // one (never stored), so the K loop has no bounds checks.
  let row0 = wg.y * 64u + lid.y;
  let col0 = wg.x * 64u + lid.x * 4u;
  let aStride = strideA(); // (per row, per k)
  let bStride = strideB(); // (per column, per k)
  var ai = vec4<u32>(aBase) + min(vec4<u32>(row0) + vec4<u32>(0u, 16u, 32u, 48u), vec4<u32>(p.M - 1u)) * aStride.x;
  var bi = vec4<u32>(bBase) + min(vec4<u32>(col0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(p.N - 1u)) * bStride.x;
  var acc0 = vec4<{{T}}>(0.0);
  var acc1 = vec4<{{T}}>(0.0);
  var acc2 = vec4<{{T}}>(0.0);
  var acc3 = vec4<{{T}}>(0.0);
  // K unrolled by 4 (SwiftShader runs the loop's bookkeeping per iteration), then the remainder.
  let k4 = p.K & ~3u;
  for (var k = 0u; k < k4; k += 4u) {
    var b = vec4<{{T}}>(B[bi.x], B[bi.y], B[bi.z], B[bi.w]);
    acc0 += A[ai.x] * b;
    acc1 += A[ai.y] * b;
    acc2 += A[ai.z] * b;
    acc3 += A[ai.w] * b;
    ai += vec4<u32>(aStride.y);
    bi += vec4<u32>(bStride.y);
    b = vec4<{{T}}>(B[bi.x], B[bi.y], B[bi.z], B[bi.w]);
    acc0 += A[ai.x] * b;
    acc1 += A[ai.y] * b;
    acc2 += A[ai.z] * b;
    acc3 += A[ai.w] * b;
    ai += vec4<u32>(aStride.y);
    bi += vec4<u32>(bStride.y);
    b = vec4<{{T}}>(B[bi.x], B[bi.y], B[bi.z], B[bi.w]);
    acc0 += A[ai.x] * b;
    acc1 += A[ai.y] * b;
    acc2 += A[ai.z] * b;
    acc3 += A[ai.w] * b;
    ai += vec4<u32>(aStride.y);
    bi += vec4<u32>(bStride.y);
    b = vec4<{{T}}>(B[bi.x], B[bi.y], B[bi.z], B[bi.w]);
    acc0 += A[ai.x] * b;
    acc1 += A[ai.y] * b;
    acc2 += A[ai.z] * b;
    acc3 += A[ai.w] * b;
    ai += vec4<u32>(aStride.y);
    bi += vec4<u32>(bStride.y);
  }
  for (var k = k4; k < p.K; k++) {
    let b = vec4<{{T}}>(B[bi.x], B[bi.y], B[bi.z], B[bi.w]);
    acc0 += A[ai.x] * b;
    acc1 += A[ai.y] * b;
    acc2 += A[ai.z] * b;
    acc3 += A[ai.w] * b;
    ai += vec4<u32>(aStride.y);
    bi += vec4<u32>(bStride.y);
  }
  for (var j = 0u; j < 4u; j++) {
    store(wg.z, row0, col0 + j, acc0[j]);
    store(wg.z, row0 + 16u, col0 + j, acc1[j]);
    store(wg.z, row0 + 32u, col0 + j, acc2[j]);
    store(wg.z, row0 + 48u, col0 + j, acc3[j]);
  }
#endif
}
#endif
