//! include common/index
// arange: out[i] = start + i * step.  EYE: out[i] = 1 on the diagonal of an [n, m] matrix, else 0.
// Bindings: 0 Params, 1 out.  Defines: T, EYE.
// Dispatch: one thread per element, workgroups of 256 in a 2-D grid.

struct Params {
  n: u32,
  cols: u32,
  start: f32,
  step: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<{{T}}>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = threadIndex(wg, nwg, li);
  if (i >= p.n) {
    return;
  }
#if EYE
  out[i] = select({{T}}(0), {{T}}(1), i / p.cols == i % p.cols);
#else
  out[i] = {{T}}(p.start + f32(i) * p.step);
#endif
}
