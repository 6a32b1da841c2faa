//! include common/index
// Both kernels see x as [outer, size, inner] around `axis` (outer = product of the dims before it,
// inner = product of the dims after it), so any rank is three numbers.
// SELECT (indexSelect): out[o, k, i] = src[o, index[k], i]; out is [outer, len, inner].
//   Indices are clamped into range: the GPU cannot raise an error (the CPU backend does).
// ADD (indexAdd, indexSelect's adjoint): out[o, j, i] = Σ_k src[o, k, i] over k with index[k] == j;
//   out is [outer, size, inner], src is [outer, len, inner]. Each thread loops over the whole index
//   instead of using atomics: deterministic (a fixed summation order), and WGSL has no f32 atomics.
// Bindings: 0 Params, 1 out, 2 src (x for SELECT, the gradient for ADD), 3 index (i32, `len` values).
// Defines: T (f32 | i32), ADD. Dispatch: one thread per output element, workgroups of 256 in a 2-D grid.

struct Params {
  n: u32,
  size: u32,
  len: u32,
  inner: u32,
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
  let inner = i % p.inner;
#if ADD
  let j = (i / p.inner) % p.size;
  let base = (i / (p.inner * p.size)) * p.len * p.inner + inner;
  var acc = {{T}}(0);
  for (var k = 0u; k < p.len; k++) {
    if (index[k] == i32(j)) {
      acc += src[base + k * p.inner];
    }
  }
  out[i] = acc;
#else
  let k = (i / p.inner) % p.len;
  let outer = i / (p.inner * p.len);
  let j = u32(clamp(index[k], 0, i32(p.size) - 1));
  out[i] = src[(outer * p.size + j) * p.inner + inner];
#endif
}
