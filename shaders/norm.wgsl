//! include common/index
//! include common/rows
// Normalization (BatchNorm, LayerNorm, GroupNorm, InstanceNorm) over groups of x viewed as [A, G, B]:
// group g holds x[a * G * B + g * B + b] for a < A, b < B (n = A * B elements). BatchNorm: A = N,
// G = C, B = spatial; Layer/Group/InstanceNorm: A = 1 (each group is contiguous).
// Statistics: mean = Σ x / n, var = Σ (x - mean)^2 / n (biased, two passes: no cancellation),
// r = 1 / sqrt(var + eps), x̂ = (x - mean) r. weight/bias of element at offset o: [(o / affInner) % affCount].
// Modes (one per variant):
//   STATS:   out[g] = (mean, var)                                   out: [G, 2]
//   FORWARD: y = x̂ · weight + bias                                  out: x's shape
//   GRAD:    gx = r (ĝ - mean(ĝ) - x̂ mean(ĝ x̂)), ĝ = gy · weight   out: x's shape
//   EVAL:    y = (x - mean[c]) / sqrt(var[c] + eps) · weight[c] + bias[c], given per-channel
//            statistics (c = (o / affInner) % affCount); one thread per element.
//   RUNNING: in place, one workgroup: count = numBatchesTracked + 1; f = momentum (or 1 / count
//            when CUMULATIVE); for each channel c, mean/var averaged over the R stat rows r * C + c
//            of stats [R * C, 2], var scaled by `unbias` = n / (n - 1):
//            runningMean[c] = (1 - f) runningMean[c] + f mean; the same for runningVar.
// Bindings: 0 Params, 1 out (RUNNING: runningMean, rw), 2 x (RUNNING: runningVar, rw), then
//   FORWARD: weight (HAS_WEIGHT), bias (HAS_BIAS) · GRAD: gy, weight (HAS_WEIGHT) ·
//   EVAL: mean, var, weight (HAS_WEIGHT), bias (HAS_BIAS) · RUNNING: stats, numBatchesTracked (HAS_COUNT, i32, rw).
//   Optional bindings are numbered by the WEIGHT_BINDING / BIAS_BINDING defines.
// Defines: STATS | FORWARD | GRAD | EVAL | RUNNING, HAS_WEIGHT, HAS_BIAS, HAS_COUNT, CUMULATIVE,
//          PER_THREAD / SUBGROUPS (common/rows: a thread or a workgroup per group, and its dispatch).
// Dispatch: STATS, FORWARD, GRAD: common/rows; EVAL: one thread per element; RUNNING: one workgroup.

struct Params {
  groups: u32,
  n: u32,
  B: u32,
  GB: u32,
  affInner: u32,
  affCount: u32,
  eps: f32,
  // RUNNING: momentum, stat rows per channel, the unbiasing factor.
  momentum: f32,
  rowsPerChannel: u32,
  unbias: f32,
}

@group(0) @binding(0) var<uniform> p: Params;

#if RUNNING
@group(0) @binding(1) var<storage, read_write> runningMean: array<f32>;
@group(0) @binding(2) var<storage, read_write> runningVar: array<f32>;
@group(0) @binding(3) var<storage, read> stats: array<f32>;
#if HAS_COUNT
@group(0) @binding(4) var<storage, read_write> numBatchesTracked: array<i32>;
#endif

var<workgroup> count: i32;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) li: u32) {
  // Every lane reads the old count before lane 0 writes the new one (one workgroup: no race).
  if (li == 0u) {
#if HAS_COUNT
    count = numBatchesTracked[0] + 1;
#else
    count = 1;
#endif
  }
  workgroupBarrier();
  let c0 = count;
#if CUMULATIVE
  let f = 1.0 / f32(c0);
#else
  let f = p.momentum;
#endif
  let channels = p.groups;
  for (var c = li; c < channels; c += 256u) {
    var m = 0.0;
    var v = 0.0;
    for (var r = 0u; r < p.rowsPerChannel; r++) {
      let s = 2u * (r * channels + c);
      m += stats[s];
      v += stats[s + 1u];
    }
    let rows = f32(p.rowsPerChannel);
    runningMean[c] = (1.0 - f) * runningMean[c] + f * (m / rows);
    runningVar[c] = (1.0 - f) * runningVar[c] + f * (v / rows * p.unbias);
  }
#if HAS_COUNT
  if (li == 0u) {
    numBatchesTracked[0] = c0;
  }
#endif
}
#else

@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
#if GRAD
@group(0) @binding(3) var<storage, read> gy: array<f32>;
#endif
#if EVAL
@group(0) @binding(3) var<storage, read> evalMean: array<f32>;
@group(0) @binding(4) var<storage, read> evalVar: array<f32>;
#endif
#if HAS_WEIGHT
@group(0) @binding({{WEIGHT_BINDING}}) var<storage, read> weight: array<f32>;
#endif
#if HAS_BIAS
@group(0) @binding({{BIAS_BINDING}}) var<storage, read> bias: array<f32>;
#endif

fn channelOf(o: u32) -> u32 {
  return (o / p.affInner) % p.affCount;
}

fn affine(v: f32, o: u32) -> f32 {
  var y = v;
#if HAS_WEIGHT
  y = y * weight[channelOf(o)];
#endif
#if HAS_BIAS
  y = y + bias[channelOf(o)];
#endif
  return y;
}

#if EVAL
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = threadIndex(wg, nwg, li);
  if (i >= p.n) {
    return;
  }
  let c = channelOf(i);
  out[i] = affine((x[i] - evalMean[c]) * inverseSqrt(evalVar[c] + p.eps), i);
}
#else

// The offset of element j of group g.
fn offsetIn(g: u32, j: u32) -> u32 {
  return (j / p.B) * p.GB + g * p.B + j % p.B;
}

@compute @workgroup_size(ROW_WORKGROUP)
fn main(rg: RowGroup, rl: RowLane) {
  let g = rowOf(rg, rl);
  if (g >= p.groups) {
    return;
  }
  let lane = laneOf(rl);
  let count = f32(p.n);
  var s = 0.0;
  for (var j = lane; j < p.n; j += LANES) {
    s += x[offsetIn(g, j)];
  }
  let mean = rowSum(vec4<f32>(s, 0.0, 0.0, 0.0), rg, rl).x / count;
  var q = 0.0;
  for (var j = lane; j < p.n; j += LANES) {
    let d = x[offsetIn(g, j)] - mean;
    q += d * d;
  }
  let variance = rowSum(vec4<f32>(q, 0.0, 0.0, 0.0), rg, rl).x / count;

#if STATS
  if (lane == 0u) {
    out[2u * g] = mean;
    out[2u * g + 1u] = variance;
  }
#else
  let r = inverseSqrt(variance + p.eps);
#if FORWARD
  for (var j = lane; j < p.n; j += LANES) {
    let o = offsetIn(g, j);
    out[o] = affine((x[o] - mean) * r, o);
  }
#endif
#if GRAD
  // mean(ĝ) and mean(ĝ x̂) over the group, then gx = r (ĝ - mean(ĝ) - x̂ mean(ĝ x̂)).
  var acc = vec2<f32>(0.0);
  for (var j = lane; j < p.n; j += LANES) {
    let o = offsetIn(g, j);
    let gh = affine(gy[o], o);
    acc += vec2<f32>(gh, gh * (x[o] - mean) * r);
  }
  let means = rowSum(vec4<f32>(acc, 0.0, 0.0), rg, rl).xy / count;
  for (var j = lane; j < p.n; j += LANES) {
    let o = offsetIn(g, j);
    let gh = affine(gy[o], o);
    out[o] = r * (gh - means.x - (x[o] - mean) * r * means.y);
  }
#endif
#endif
}
#endif
#endif
