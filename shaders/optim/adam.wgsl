//! include common/index
// Adam / AdamW (torch.optim.Adam, AdamW) over a flat parameter arena, one thread per 4 elements (vec4s):
//   d = g·scale;  DECOUPLED (AdamW): w = w·(1 − lr·weightDecay), else d = d + weightDecay·w
//   m = m + (1 − β1)(d − m);  v = β2·v + (1 − β2)·d²
//   AMSGRAD: vmax = max(vmax, v) stands in for v below
//   w = w − stepSize · m / (sqrt(v) / bc2Sqrt + eps),  stepSize = lr / (1 − β1^t), bc2Sqrt = sqrt(1 − β2^t)
// Bindings: 0 Params, 1 w (rw), 2 g, 3 m (rw), 4 v (rw), 5 vmax (AMSGRAD), 6 scale (CLIP).
// Defines: DECOUPLED, AMSGRAD, CLIP.  Dispatch: one thread per 4 elements, 256-thread workgroups, 2-D grid.

struct Params {
  n: u32,
  lr: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  weightDecay: f32,
  stepSize: f32,
  bc2Sqrt: f32,
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read_write> w: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> g: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> m: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> v: array<vec4<f32>>;
#if AMSGRAD
@group(0) @binding(5) var<storage, read_write> vmax: array<vec4<f32>>;
#endif
#if CLIP
@group(0) @binding(6) var<storage, read> scale: array<f32>;
#endif

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = threadIndex(wg, nwg, li); // elements 4i .. 4i + 3 (the arena's size is a multiple of 4)
  if (i >= u.n / 4u) {
    return;
  }
  var wi = w[i];
  var d = g[i];
#if CLIP
  d = d * scale[0];
#endif
#if DECOUPLED
  wi = wi * (1.0 - u.lr * u.weightDecay);
#else
  d = d + u.weightDecay * wi;
#endif
  let mi = m[i] + (1.0 - u.beta1) * (d - m[i]);
  let vi = u.beta2 * v[i] + (1.0 - u.beta2) * d * d;
  m[i] = mi;
  v[i] = vi;
#if AMSGRAD
  let vm = max(vmax[i], vi);
  vmax[i] = vm;
  let denom = sqrt(vm) / u.bc2Sqrt + u.eps;
#else
  let denom = sqrt(vi) / u.bc2Sqrt + u.eps;
#endif
  w[i] = wi - u.stepSize * mi / denom;
}
