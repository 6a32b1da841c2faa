//! include common/index
//! include common/special
// Batched C[b] = op(A[b]) · op(B[b]); op is an optional transpose (TRANS_A / TRANS_B: the operand is
// stored transposed), so backward needs no transposes. Batch dims broadcast: A and B batch strides
// are 0 along broadcast dims.
// TILED (GPUs): a workgroup computes a 64x64 block of C; K advances in slabs of 16, each slab of
// op(A) [64x16] and op(B) [16x64] staged in workgroup memory with coalesced loads; each thread keeps
// a 4x4 block of outputs in registers (rows ty + 16i, columns tx + 16j: conflict-free reads), so a
// workgroup-memory read feeds 4 multiply-adds instead of 1. Otherwise (software adapters, which
// emulate barriers at a high cost) each thread walks K straight from global memory for one output.
// The fused Linear layer (src/ops/linear.ts) is C = ACT(A · Bᵀ + bias) with TRANS_B: HAS_BIAS adds
// Bias[col] and ACT (the name of one of the act* functions below) is applied in the write-back, so
// matmul + bias + activation is one kernel.
// Bindings: 0 Params, 1 C [batch, M, N], 2 A, 3 B, 4 Bias [N] (HAS_BIAS only).
// Defines: T, TRANS_A, TRANS_B, TILED, HAS_BIAS, ACT (actNone | actRelu | actTanh | actSigmoid).
// Dispatch: (ceil(N / T), ceil(M / T), batch count), workgroups of 16x16 threads; T = 64 with TILED
// (4x4 outputs per thread), else 16 (one output per thread).

struct Params {
  M: u32,
  N: u32,
  K: u32,
  batchRank: u32,
  batchShape: array<vec4<u32>, 2>,
  aBatchStrides: array<vec4<u32>, 2>,
  bBatchStrides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> C: array<{{T}}>;
@group(0) @binding(2) var<storage, read> A: array<{{T}}>;
@group(0) @binding(3) var<storage, read> B: array<{{T}}>;
#if HAS_BIAS
@group(0) @binding(4) var<storage, read> Bias: array<{{T}}>;
#endif

#if TILED
// K-major slabs: tileA[k][row], tileB[k][col].
var<workgroup> tileA: array<array<{{T}}, 64>, 16>;
var<workgroup> tileB: array<array<{{T}}, 64>, 16>;
#endif

// op(A)[r, k] and op(B)[k, c], zero outside the matrix (ragged edge tiles).
fn loadA(base: u32, r: u32, k: u32) -> {{T}} {
  if (r >= p.M || k >= p.K) {
    return 0.0;
  }
#if TRANS_A
  return A[base + k * p.M + r];
#else
  return A[base + r * p.K + k];
#endif
}

fn loadB(base: u32, k: u32, c: u32) -> {{T}} {
  if (k >= p.K || c >= p.N) {
    return 0.0;
  }
#if TRANS_B
  return B[base + c * p.K + k];
#else
  return B[base + k * p.N + c];
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

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  // Batch offsets of A and B for batch index wg.z.
  let aBase = offsetOf(wg.z, p.batchRank, p.batchShape, p.aBatchStrides);
  let bBase = offsetOf(wg.z, p.batchRank, p.batchShape, p.bBatchStrides);
#if TILED
  let row0 = wg.y * 64u;
  let col0 = wg.x * 64u;
  var acc: array<array<{{T}}, 4>, 4>;
  for (var k0 = 0u; k0 < p.K; k0 += 16u) {
    // 1024 elements per slab, 4 per thread; consecutive threads read consecutive addresses.
    for (var l = 0u; l < 4u; l++) {
      let e = li + 256u * l;
#if TRANS_A
      let ar = e % 64u;
      let ak = e / 64u;
#else
      let ar = e / 16u;
      let ak = e % 16u;
#endif
      tileA[ak][ar] = loadA(aBase, row0 + ar, k0 + ak);
#if TRANS_B
      let bc = e / 16u;
      let bk = e % 16u;
#else
      let bc = e % 64u;
      let bk = e / 64u;
#endif
      tileB[bk][bc] = loadB(bBase, k0 + bk, col0 + bc);
    }
    workgroupBarrier();
    for (var k = 0u; k < 16u; k++) {
      var a: array<{{T}}, 4>;
      var b: array<{{T}}, 4>;
      for (var i = 0u; i < 4u; i++) {
        a[i] = tileA[k][lid.y + 16u * i];
        b[i] = tileB[k][lid.x + 16u * i];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
          acc[i][j] += a[i] * b[j];
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    for (var j = 0u; j < 4u; j++) {
      store(wg.z, row0 + lid.y + 16u * i, col0 + lid.x + 16u * j, acc[i][j]);
    }
  }
#else
  let row = wg.y * 16u + lid.y;
  let col = wg.x * 16u + lid.x;
  var acc: {{T}} = 0.0;
  if (row < p.M && col < p.N) {
    for (var k = 0u; k < p.K; k++) {
      acc += loadA(aBase, row, k) * loadB(bBase, k, col);
    }
  }
  store(wg.z, row, col, acc);
#endif
}
