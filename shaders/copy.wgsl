//! include common/index
// Strided copy of 32-bit words (any 32-bit dtype): for each multi-index i of `shape`,
// dst[dstOffset + Σ i_d dstStrides_d] = src[srcOffset + Σ i_d srcStrides_d]. Serves permute, slice,
// padSlice, concat, broadcastTo and copies. FILL instead writes one bit pattern to dst[0..n).
// ADD_F32 adds instead of copying (f32 values): dst += src, e.g. a gradient into its slot.
// Bindings: 0 Params, 1 dst (read_write), 2 src (not with FILL).  Defines: FILL, ADD_F32, and the
// index paths CONTIGUOUS (both 1-D contiguous after the host merged dimensions), SCALAR_SOURCE and
// RANK2 (two merged dimensions, padded to [rows, cols]);
// VEC4 (FILL or CONTIGUOUS, see below).
// Dispatch: one thread per element (VEC4: per 4 elements), workgroups of 256 in a 2-D grid.

#if FILL
struct Params {
  n: u32,
  bits: u32,
}
#else
struct Params {
  n: u32,
  rank: u32,
  srcOffset: u32,
  dstOffset: u32,
  shape: array<vec4<u32>, 2>,
  srcStrides: array<vec4<u32>, 2>,
  dstStrides: array<vec4<u32>, 2>,
}
#endif

@group(0) @binding(0) var<uniform> p: Params;
#if VEC4
// VEC4 (a fill, or a contiguous copy or add, of a multiple of 4 words at offsets that are multiples
// of 4): each thread moves one vec4, a quarter of the threads and workgroups (SwiftShader pays a
// fixed cost per workgroup that a one-word thread does not cover).
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<u32>>;
#if !FILL
@group(0) @binding(2) var<storage, read> src: array<vec4<u32>>;
#endif
#else
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
#if !FILL
@group(0) @binding(2) var<storage, read> src: array<u32>;
#endif
#endif

#if !FILL
// The source and target word offsets of element i: contiguous (an index linear in the thread,
// which SwiftShader vectorizes), one source word broadcast, or the general strided walk.
fn sourceAndTarget(i: u32) -> vec2<u32> {
#if CONTIGUOUS
  return vec2<u32>(p.srcOffset + i, p.dstOffset + i);
#elif SCALAR_SOURCE
  return vec2<u32>(p.srcOffset, p.dstOffset + i);
#elif RANK2
  // Two (merged) dimensions, [rows, cols] in shape[0].xy (a transpose or a 2-D slice).
  let rc = rowCol(i, p.shape[0].y);
  return vec2<u32>(p.srcOffset + offset2(rc, p.srcStrides[0]), p.dstOffset + offset2(rc, p.dstStrides[0]));
#else
  var s = p.srcOffset;
  var t = p.dstOffset;
  var rest = i;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let size = at8(p.shape, u32(d));
    let k = rest % size;
    rest = rest / size;
    s += k * at8(p.srcStrides, u32(d));
    t += k * at8(p.dstStrides, u32(d));
  }
  return vec2<u32>(s, t);
#endif
}
#endif

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = threadIndex(wg, nwg, li);
#if VEC4
  if (i >= p.n / 4u) {
    return;
  }
#if FILL
  dst[i] = vec4<u32>(p.bits);
#else
  let s = p.srcOffset / 4u + i;
  let t = p.dstOffset / 4u + i;
#if ADD_F32
  dst[t] = bitcast<vec4<u32>>(bitcast<vec4<f32>>(dst[t]) + bitcast<vec4<f32>>(src[s]));
#else
  dst[t] = src[s];
#endif
#endif
#else
  if (i >= p.n) {
    return;
  }
#if FILL
  dst[i] = p.bits;
#else
  let st = sourceAndTarget(i);
  let s = st.x;
  let t = st.y;
#if ADD_F32
  dst[t] = bitcast<u32>(bitcast<f32>(dst[t]) + bitcast<f32>(src[s]));
#else
  dst[t] = src[s];
#endif
#endif
#endif
}
