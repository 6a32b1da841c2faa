//! include common/index
//! include common/philox
// Philox4x32-10 draws (see src/random/philox.ts for the stream layout): element i of a draw with
// (seed, offset) is uniformAt / normalAt(i, seed, offset), the same numbers as the CPU backend.
// uniform: a + (b - a) * u;  NORMAL: a + b * z (mean a, standard deviation b).
// Bindings: 0 Params, 1 out (f32).  Defines: NORMAL.
// Dispatch: one thread per element, workgroups of 256 in a 2-D grid.

struct Params {
  n: u32,
  seedLo: u32,
  seedHi: u32,
  offsetLo: u32,
  offsetHi: u32,
  a: f32,
  b: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = threadIndex(wg, nwg, li);
  if (i >= p.n) {
    return;
  }
  let seed = vec2<u32>(p.seedLo, p.seedHi);
  let offset = vec2<u32>(p.offsetLo, p.offsetHi);
#if NORMAL
  out[i] = p.a + p.b * normalAt(i, seed, offset);
#else
  out[i] = p.a + (p.b - p.a) * uniformAt(i, seed, offset);
#endif
}
