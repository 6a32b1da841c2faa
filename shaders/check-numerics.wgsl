//! include common/index
// Counts the NaN, +Inf and -Inf elements of an f32 tensor (wt.debug.checkNumerics).
// NOTE: WGSL lets implementations assume floats are finite, so `x != x` or a comparison with an
// infinity may be folded away on some adapters: the tensor is read as raw u32 words and the
// IEEE-754 bits tested instead (exponent all ones: Inf when the mantissa is zero, else NaN).
// Bindings: 0 Params, 1 x (the tensor's words, as u32), 2 counts (atomic u32, [NaN, +Inf, -Inf] per slot).
// Dispatch: one thread per element, workgroups of 256 in a 2-D grid. Finite elements (the usual
// case) touch no atomic, so the check costs one read of the tensor.

struct Params {
  n: u32,
  slot: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> counts: array<atomic<u32>>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = threadIndex(wg, nwg, li);
  if (i >= p.n) {
    return;
  }
  let bits = x[i];
  let magnitude = bits & 0x7fffffffu;
  if (magnitude < 0x7f800000u) {
    return;
  }
  // 0: NaN (a non-zero mantissa), 1: +Inf, 2: -Inf (the sign bit set).
  var kind = 0u;
  if (magnitude == 0x7f800000u) {
    kind = select(1u, 2u, bits >= 0x80000000u);
  }
  atomicAdd(&counts[p.slot * 3u + kind], 1u);
}
