//! include common/rows
// Fused softmax cross-entropy over rows of x viewed as [outer, n, inner] (class axis of n entries):
// row r holds x[(r / inner) * n * inner + r % inner + k * inner], k < n.
//   forward (loss per row):  lse = m + log Σ_k exp(x_k - m), m = max_k x_k
//     hard label l:          loss = (m - x_l) + log s         (s = Σ exp(x_k - m))
//     soft labels p:         loss = Σ_k p_k (m - x_k) + log s · Σ_k p_k   (= Σ p_k (lse - x_k))
//   GRAD (d loss / d x, times the row's gy):  out_k = (softmax_k · P - p_k) · gy,  P = Σ p (hard: 1)
// LOG_PROBS (nll): x holds log-probabilities; m = 0 and log s = 0 (no softmax term in GRAD).
// Hard labels equal to p.ignoreIndex give 0; other labels outside [0, n) give NaN (a GPU kernel
// cannot throw; the CPU backend raises an error instead).
// Bindings: 0 Params, 1 out (f32: [rows] losses, or GRAD: x's shape), 2 x (f32), 3 labels (LABEL_T:
//           i32 [rows], or SOFT: f32 like x), 4 gy (GRAD: f32 [rows]).
// Defines: GRAD, SOFT, LOG_PROBS, LABEL_T, PER_THREAD / SUBGROUPS (common/rows: a thread or a
//          workgroup per row, and its dispatch).
//
// VALID_MEAN (the 'mean' reduction over labels that count, PyTorch's divisor with ignore_index):
//   forward: out[0] = Σ_{i: label_i != ignoreIndex} src[i] / #{i: label_i != ignoreIndex}
//   GRAD:    out[i] = (label_i != ignoreIndex) · src[0] / #{...}          (src = gy, one element)
//   Bindings: 0 Params, 1 out (f32), 2 src (f32), 3 labels (i32 [rows]). One workgroup of 256 threads
//   strides over the rows (the count is exact in f32 below 2^24 rows); PER_THREAD is off.

struct Params {
  rows: u32,
  n: u32,
  inner: u32,
  ignoreIndex: i32,
}

@group(0) @binding(0) var<uniform> p: Params;

#if VALID_MEAN
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> src: array<f32>;
@group(0) @binding(3) var<storage, read> labels: array<i32>;

@compute @workgroup_size(ROW_WORKGROUP)
fn main(rg: RowGroup, rl: RowLane) {
  let li = rl.index;
  // (Σ src over counted rows, number of counted rows), per thread then over the workgroup.
  var acc = vec2<f32>(0.0);
  for (var i = li; i < p.rows; i += LANES) {
    if (labels[i] != p.ignoreIndex) {
#if GRAD
      acc.y += 1.0;
#else
      acc += vec2<f32>(src[i], 1.0);
#endif
    }
  }
  let total = rowSum(vec4<f32>(acc, 0.0, 0.0), rg, rl).xy;
#if GRAD
  let g = src[0] / total.y;
  for (var i = li; i < p.rows; i += LANES) {
    out[i] = select(0.0, g, labels[i] != p.ignoreIndex);
  }
#else
  if (li == 0u) {
    out[0] = total.x / total.y;
  }
#endif
}
#else
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> labels: array<{{LABEL_T}}>;
#if GRAD
@group(0) @binding(4) var<storage, read> gy: array<f32>;
#endif

fn nanValue() -> f32 {
  var bits = 0x7fc00000u; // a var, not a literal: constant NaN is a WGSL compile error
  return bitcast<f32>(bits);
}

@compute @workgroup_size(ROW_WORKGROUP)
fn main(rg: RowGroup, rl: RowLane) {
  let r = rowOf(rg, rl);
  if (r >= p.rows) {
    return;
  }
  let lane = laneOf(rl);
  let base = (r / p.inner) * p.n * p.inner + r % p.inner;
  _ = &x; // keeps x in the bind group layout of LOG_PROBS GRAD, which never reads it

  // The row's max and log Σ exp(x - max); with soft labels also Σ p and Σ p (m - x).
  var m = 0.0;
#if !LOG_PROBS
  m = -3.4028234663852886e38;
  for (var k = lane; k < p.n; k += LANES) {
    m = max(m, x[base + k * p.inner]);
  }
  m = rowMax(m, rg, rl);
#endif
  var acc = vec4<f32>(0.0);
  for (var k = lane; k < p.n; k += LANES) {
    let i = base + k * p.inner;
#if !LOG_PROBS
    acc.x += exp(x[i] - m);
#endif
#if SOFT
    acc.y += labels[i];
    acc.z += labels[i] * (m - x[i]);
#endif
  }
  acc = rowSum(acc, rg, rl);
  var logS = 0.0;
#if !LOG_PROBS
  logS = log(acc.x);
#endif

#if SOFT
  let total = acc.y;
  let rowOk = true;
  let ignored = false;
#else
  let label = labels[r];
  let ignored = label == p.ignoreIndex;
  let rowOk = ignored || (label >= 0 && label < i32(p.n));
  let total = select(1.0, 0.0, ignored);
#endif

#if GRAD
  let g = gy[r];
  for (var k = lane; k < p.n; k += LANES) {
    let i = base + k * p.inner;
    var sm = 0.0;
#if !LOG_PROBS
    sm = exp(x[i] - m - logS);
#endif
#if SOFT
    let pk = labels[i];
#else
    let pk = select(0.0, 1.0, !ignored && i32(k) == label);
#endif
    out[i] = select(nanValue(), (sm * total - pk) * g, rowOk);
  }
#else
  if (lane == 0u) {
#if SOFT
    out[r] = acc.z + logS * acc.y;
#else
    var loss = 0.0;
    if (!ignored) {
      loss = nanValue();
      if (rowOk) {
        loss = (m - x[base + u32(label) * p.inner]) + logS;
      }
    }
    out[r] = loss;
#endif
  }
#endif
}
#endif
