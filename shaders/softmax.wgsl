//! include common/rows
// softmax / logSoftmax along one axis of x viewed as [outer, n, inner]: rows are (outer, inner)
// pairs, elements of row r at (r / inner) * n * inner + r % inner + k * inner.
// Stable: m = max_k x_k; y_k = exp(x_k - m) / Σ exp(x_j - m), or (x_k - m) - log Σ exp(x_j - m).
// Bindings: 0 Params, 1 out, 2 x.  Defines: T, LOG, PER_THREAD / SUBGROUPS (common/rows: a thread
// or a workgroup per row, and its dispatch).

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

@compute @workgroup_size(ROW_WORKGROUP)
fn main(rg: RowGroup, rl: RowLane) {
  let r = rowOf(rg, rl);
  if (r >= p.rows) {
    return;
  }
  let lane = laneOf(rl);
  let base = rowBase(r);
  var m = -3.4028234663852886e38;
  for (var k = lane; k < p.n; k += LANES) {
    m = max(m, x[base + k * p.inner]);
  }
  m = rowMax(m, rg, rl);
  var s = 0.0;
  for (var k = lane; k < p.n; k += LANES) {
    s += exp(x[base + k * p.inner] - m);
  }
  s = rowSum(vec4<f32>(s, 0.0, 0.0, 0.0), rg, rl).x;
  for (var k = lane; k < p.n; k += LANES) {
    let i = base + k * p.inner;
    out[i] = result(x[i], m, s);
  }
}
