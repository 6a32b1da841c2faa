//! include common/index
// GATHER: out[i] = x[i with its `axis` coordinate replaced by index[i]] (out has index's shape).
//   Indices are clamped into range: the GPU cannot raise an error (the CPU backend does).
// SCATTER (scatterAdd, gather's adjoint): out[j] = Σ_k g[..k..] over positions k along `axis` of the
//   index tensor whose other coordinates equal j's and whose index equals j[axis]; out has `shape`.
// Bindings: 0 Params, 1 out, 2 x (GATHER) or g (SCATTER), 3 index (i32).  Defines: T, SCATTER.
// Dispatch: one thread per output element, workgroups of 256 in a 2-D grid.

struct Params {
  n: u32,
  rank: u32,
  axis: u32,
  pad: u32,
  shape: array<vec4<u32>, 2>,
  strides: array<vec4<u32>, 2>,
  indexShape: array<vec4<u32>, 2>,
  indexStrides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<{{T}}>;
@group(0) @binding(2) var<storage, read> src: array<{{T}}>;
@group(0) @binding(3) var<storage, read> index: array<i32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = threadIndex(wg, nwg, li);
  if (i >= p.n) {
    return;
  }
#if SCATTER
  // i indexes `shape`; walk the index tensor's positions along `axis` that share i's other coordinates.
  var rest = i;
  var base = 0u;
  var wanted = 0u;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let u = u32(d);
    let k = rest % at8(p.shape, u);
    rest = rest / at8(p.shape, u);
    if (u == p.axis) {
      wanted = k;
    } else {
      if (k >= at8(p.indexShape, u)) {
        out[i] = {{T}}(0);
        return;
      }
      base += k * at8(p.indexStrides, u);
    }
  }
  var acc = {{T}}(0);
  let len = at8(p.indexShape, p.axis);
  let step = at8(p.indexStrides, p.axis);
  for (var k = 0u; k < len; k++) {
    let at = base + k * step;
    if (u32(index[at]) == wanted) {
      acc += src[at];
    }
  }
  out[i] = acc;
#else
  // i indexes the index tensor's shape.
  var rest = i;
  var off = 0u;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let u = u32(d);
    var k = rest % at8(p.indexShape, u);
    rest = rest / at8(p.indexShape, u);
    if (u == p.axis) {
      k = u32(clamp(index[i], 0, i32(at8(p.shape, u)) - 1));
    }
    off += k * at8(p.strides, u);
  }
  out[i] = src[off];
#endif
}
