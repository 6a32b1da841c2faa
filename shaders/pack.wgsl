// Packs up to 6 contiguous sources, each in its own buffer, into one destination in one dispatch:
// dst[seg_j.z + e] = src_j[seg_j.y + e] for e < seg_j.w (ADD_F32: += as f32). A backward writes every
// parameter's gradient into its optimizer's arena this way, one dispatch for up to 6 parameters
// instead of one each (a small model's eager step is host-bound: every dispatch costs).
// Bindings: 0 Params, 1 dst (read_write), 2..7 src0..src5 (unused ones repeat src0, with no elements).
// Dispatch: ceil(length_j / 256) workgroups per source (VEC4: lengths in vec4s), in a 2-D grid.

struct Params {
  // Per source j: x = its first workgroup (0xffffffff when unused), y = element offset in src_j,
  // z = element offset in dst, w = length. Each source has workgroups of its own, so the choice of
  // binding is uniform across a workgroup.
  seg: array<vec4<u32>, 6>,
}

@group(0) @binding(0) var<uniform> p: Params;
// VEC4: every length and offset is a multiple of 4 and is given in vec4s; each element is a vec4.
#if VEC4
alias Word = vec4<u32>;
alias Float = vec4<f32>;
#else
alias Word = u32;
alias Float = f32;
#endif
@group(0) @binding(1) var<storage, read_write> dst: array<Word>;
@group(0) @binding(2) var<storage, read> src0: array<Word>;
@group(0) @binding(3) var<storage, read> src1: array<Word>;
@group(0) @binding(4) var<storage, read> src2: array<Word>;
@group(0) @binding(5) var<storage, read> src3: array<Word>;
@group(0) @binding(6) var<storage, read> src4: array<Word>;
@group(0) @binding(7) var<storage, read> src5: array<Word>;

fn load(j: u32, e: u32) -> Word {
  switch j {
    case 0u: { return src0[e]; }
    case 1u: { return src1[e]; }
    case 2u: { return src2[e]; }
    case 3u: { return src3[e]; }
    case 4u: { return src4[e]; }
    default: { return src5[e]; }
  }
}

fn put(t: u32, v: Word) {
#if ADD_F32
  dst[t] = bitcast<Word>(bitcast<Float>(dst[t]) + bitcast<Float>(v));
#else
  dst[t] = v;
#endif
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let w = wg.x + wg.y * nwg.x;
  // The source of this workgroup: constant indices only (SwiftShader indexes uniform arrays
  // dynamically many times slower).
  var j = 0u;
  var seg = p.seg[0];
  if (w >= p.seg[1].x) { j = 1u; seg = p.seg[1]; }
  if (w >= p.seg[2].x) { j = 2u; seg = p.seg[2]; }
  if (w >= p.seg[3].x) { j = 3u; seg = p.seg[3]; }
  if (w >= p.seg[4].x) { j = 4u; seg = p.seg[4]; }
  if (w >= p.seg[5].x) { j = 5u; seg = p.seg[5]; }
  let e = (w - seg.x) * 256u + li;
  if (e < seg.w) {
    put(seg.z + e, load(j, seg.y + e));
  }
}
