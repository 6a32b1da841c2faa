//! include common/index
//! include common/special
// Batched C[b] = op(A[b]) · op(B[b]); op is an optional transpose (TRANS_A / TRANS_B: the operand is
// stored transposed), so backward needs no transposes. Batch dims broadcast: A and B batch strides
// are 0 along broadcast dims.
// TILED: 16x16 tiles of A and B staged in workgroup memory (GPUs). Otherwise each thread walks K
// straight from global memory: software adapters (SwiftShader) emulate barriers at a high cost.
// The fused Linear layer (src/ops/linear.ts) is C = ACT(A · Bᵀ + bias) with TRANS_B: HAS_BIAS adds
// Bias[col] and ACT (the name of one of the act* functions below) is applied in the write-back, so
// matmul + bias + activation is one kernel.
// Bindings: 0 Params, 1 C [batch, M, N], 2 A, 3 B, 4 Bias [N] (HAS_BIAS only).
// Defines: T, TRANS_A, TRANS_B, TILED, HAS_BIAS, ACT (actNone | actRelu | actTanh | actSigmoid).
// Dispatch: (ceil(N / 16), ceil(M / 16), batch count), workgroups of 16x16; one output per thread.

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
var<workgroup> tileA: array<array<{{T}}, 16>, 16>;
var<workgroup> tileB: array<array<{{T}}, 16>, 16>;
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

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row = wg.y * 16u + lid.y;
  let col = wg.x * 16u + lid.x;
  // Batch offsets of A and B for batch index wg.z.
  let aBase = offsetOf(wg.z, p.batchRank, p.batchShape, p.aBatchStrides);
  let bBase = offsetOf(wg.z, p.batchRank, p.batchShape, p.bBatchStrides);
  var acc: {{T}} = 0.0;
#if TILED
  for (var k0 = 0u; k0 < p.K; k0 += 16u) {
    tileA[lid.y][lid.x] = loadA(aBase, row, k0 + lid.x);
    tileB[lid.y][lid.x] = loadB(bBase, k0 + lid.y, col);
    workgroupBarrier();
    for (var k = 0u; k < 16u; k++) {
      acc += tileA[lid.y][k] * tileB[k][lid.x];
    }
    workgroupBarrier();
  }
#else
  if (row < p.M && col < p.N) {
    for (var k = 0u; k < p.K; k++) {
      acc += loadA(aBase, row, k) * loadB(bBase, k, col);
    }
  }
#endif
  if (row < p.M && col < p.N) {
#if HAS_BIAS
    acc += Bias[col];
#endif
    C[wg.z * p.M * p.N + row * p.N + col] = {{ACT}}(acc);
  }
}
