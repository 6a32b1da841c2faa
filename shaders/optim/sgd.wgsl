//! include common/index
// SGD (torch.optim.SGD) over a flat parameter arena, one thread per 4 elements (vec4s):
//   d = g·scale + weightDecay·w
//   MOMENTUM: buf = d on the first step, else momentum·buf + (1 − dampening)·d;
//             d = d + momentum·buf (NESTEROV) or buf
//   w = w − lr·d
// Bindings: 0 Params, 1 w (rw), 2 g, 3 buf (MOMENTUM), 4 scale (CLIP: the global-norm clip factor).
// Defines: MOMENTUM, NESTEROV, CLIP.  Dispatch: one thread per 4 elements, 256-thread workgroups, 2-D grid.

struct Params {
  n: u32,
  first: u32,
  lr: f32,
  momentum: f32,
  dampening: f32,
  weightDecay: f32,
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read_write> w: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> g: array<vec4<f32>>;
#if MOMENTUM
@group(0) @binding(3) var<storage, read_write> buf: array<vec4<f32>>;
#endif
#if CLIP
@group(0) @binding(4) var<storage, read> scale: array<f32>;
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
#if MOMENTUM
  var b = d;
  if (u.first == 0u) {
    b = u.momentum * buf[i] + (1.0 - u.dampening) * d;
  }
  buf[i] = b;
#if NESTEROV
  d = d + u.momentum * b;
#else
  d = b;
#endif
#endif
  w[i] = wi - u.lr * d;
}
