//! include common/index
// RMSprop (torch.optim.RMSprop) over a flat parameter arena, one thread per 4 elements (vec4s):
//   d = g·scale + weightDecay·w;  sq = α·sq + (1 − α)·d²
//   CENTERED: ga = ga + (1 − α)(d − ga);  avg = sqrt(sq − ga²) + eps;  else avg = sqrt(sq) + eps
//   MOMENTUM: buf = momentum·buf + d / avg;  w = w − lr·buf;  else w = w − lr·d / avg
// Bindings: 0 Params, 1 w (rw), 2 g, 3 sq (rw), 4 ga (CENTERED), 5 buf (MOMENTUM), 6 scale (CLIP).
// Defines: CENTERED, MOMENTUM, CLIP.  Dispatch: one thread per 4 elements, 256-thread workgroups, 2-D grid.

struct Params {
  n: u32,
  lr: f32,
  alpha: f32,
  eps: f32,
  weightDecay: f32,
  momentum: f32,
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read_write> w: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> g: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> sq: array<vec4<f32>>;
#if CENTERED
@group(0) @binding(4) var<storage, read_write> ga: array<vec4<f32>>;
#endif
#if MOMENTUM
@group(0) @binding(5) var<storage, read_write> buf: array<vec4<f32>>;
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
  let wi = w[i];
  var d = g[i];
#if CLIP
  d = d * scale[0];
#endif
  d = d + u.weightDecay * wi;
  let s = u.alpha * sq[i] + (1.0 - u.alpha) * d * d;
  sq[i] = s;
#if CENTERED
  let gai = ga[i] + (1.0 - u.alpha) * (d - ga[i]);
  ga[i] = gai;
  let avg = sqrt(s - gai * gai) + u.eps;
#else
  let avg = sqrt(s) + u.eps;
#endif
#if MOMENTUM
  let b = u.momentum * buf[i] + d / avg;
  buf[i] = b;
  w[i] = wi - u.lr * b;
#else
  w[i] = wi - u.lr * d / avg;
#endif
}
