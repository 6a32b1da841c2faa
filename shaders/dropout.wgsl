//! include common/index
//! include common/philox
// Inverted dropout: out[i] = x[i] * (keep ? scale : 0), keep = uniformAt(i, seed, offset) >= p,
// scale = 1 / (1 - p) (0 when p = 1). The mask comes from the same Philox stream as the random op
// (src/random/philox.ts), so it is the CPU backend's mask bit for bit, and backward recomputes it
// from (seed, offset) instead of storing it. x * 0 keeps NaN as NaN, as PyTorch's x * mask * scale.
// NOTE: p arrives rounded up to the 2^-24 grid of uniformAt (exact in f32), so `u >= p` decides
// exactly as the CPU's float64 comparison does.
// Bindings: 0 Params, 1 out, 2 x.  Defines: none.
// Dispatch: one thread per element, workgroups of 256 in a 2-D grid.

struct Params {
  n: u32,
  seedLo: u32,
  seedHi: u32,
  offsetLo: u32,
  offsetHi: u32,
  p: f32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = threadIndex(wg, nwg, li);
  if (i >= params.n) {
    return;
  }
  let u = uniformAt(i, vec2<u32>(params.seedLo, params.seedHi), vec2<u32>(params.offsetLo, params.offsetHi));
  out[i] = x[i] * select(0.0, params.scale, u >= params.p);
}
