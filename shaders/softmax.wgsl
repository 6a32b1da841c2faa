//! include common/index
// softmax / logSoftmax along one axis of x viewed as [outer, n, inner]: rows are (outer, inner)
// pairs, elements of row r at (r / inner) * n * inner + r % inner + k * inner.
// Stable: m = max_k x_k; y_k = exp(x_k - m) / Σ exp(x_j - m), or (x_k - m) - log Σ exp(x_j - m).
// Bindings: 0 Params, 1 out, 2 x.  Defines: T, LOG, PER_THREAD (one thread per row, for short rows;
// else one workgroup of 256 per row with tree reductions).
// Dispatch: PER_THREAD: ceil(rows / 256) workgroups in 2-D; else one workgroup per row (2-D grid).

struct Params {
  rows: u32,
  n: u32,
  inner: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<{{T}}>;
@group(0) @binding(2) var<storage, read> x: array<{{T}}>;

fn rowBase(r: u32) -> u32 {
  return (r / p.inner) * p.n * p.inner + r % p.inner;
}

fn result(v: f32, m: f32, s: f32) -> f32 {
#if LOG
  return (v - m) - log(s);
#else
  return exp(v - m) / s;
#endif
}

#if PER_THREAD
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let r = threadIndex(wg, nwg, li);
  if (r >= p.rows) {
    return;
  }
  let base = rowBase(r);
  var m = -3.4028234663852886e38;
  for (var k = 0u; k < p.n; k++) {
    m = max(m, x[base + k * p.inner]);
  }
  var s = 0.0;
  for (var k = 0u; k < p.n; k++) {
    s += exp(x[base + k * p.inner] - m);
  }
  for (var k = 0u; k < p.n; k++) {
    let i = base + k * p.inner;
    out[i] = result(x[i], m, s);
  }
}
#else
var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let r = wg.x + wg.y * nwg.x;
  if (r >= p.rows) {
    return;
  }
  let base = rowBase(r);
  var m = -3.4028234663852886e38;
  for (var k = li; k < p.n; k += 256u) {
    m = max(m, x[base + k * p.inner]);
  }
  partial[li] = m;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (li < s) {
      partial[li] = max(partial[li], partial[li + s]);
    }
    workgroupBarrier();
  }
  m = partial[0];
  workgroupBarrier();
  var sum = 0.0;
  for (var k = li; k < p.n; k += 256u) {
    sum += exp(x[base + k * p.inner] - m);
  }
  partial[li] = sum;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (li < s) {
      partial[li] = partial[li] + partial[li + s];
    }
    workgroupBarrier();
  }
  let total = partial[0];
  for (var k = li; k < p.n; k += 256u) {
    let i = base + k * p.inner;
    out[i] = result(x[i], m, total);
  }
}
#endif
