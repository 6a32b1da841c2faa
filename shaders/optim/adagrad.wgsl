//! include common/index
// Adagrad (torch.optim.Adagrad) over a flat parameter arena, one thread per 4 elements (vec4s):
//   d = g·scale + weightDecay·w;  sum = sum + d²;  w = w − clr · d / (sqrt(sum) + eps)
//   clr = lr / (1 + (t − 1)·lrDecay), computed on the host.
// Bindings: 0 Params, 1 w (rw), 2 g, 3 sum (rw), 4 scale (CLIP).  Defines: CLIP.
// Dispatch: one thread per 4 elements, 256-thread workgroups, 2-D grid.

struct Params {
  n: u32,
  clr: f32,
  eps: f32,
  weightDecay: f32,
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read_write> w: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> g: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> sum: array<vec4<f32>>;
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
  let s = sum[i] + d * d;
  sum[i] = s;
  w[i] = wi - u.clr * d / (sqrt(s) + u.eps);
}
