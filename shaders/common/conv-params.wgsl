// The uniforms of the convolution kernels (conv2d.wgsl, im2col.wgsl), written by convUniforms in
// src/ops/conv2d.ts: the thread count, then the geometry of input [batch, inC, inH, inW], weight
// [outC, cpg, kH, kW] and output [batch, outC, outH, outW], and (conv2d.wgsl) its channel blocks.
// Also the input gradient's gather that both kernels use (sourceOf).
struct Params {
  count: u32,
  batch: u32,
  inC: u32,
  inH: u32,
  inW: u32,
  outC: u32,
  outH: u32,
  outW: u32,
  kH: u32,
  kW: u32,
  strideH: u32,
  strideW: u32,
  padH: u32,
  padW: u32,
  dilH: u32,
  dilW: u32,
  cpg: u32,
  opg: u32,
  groups: u32,
  blocks: u32,
}

// The output coordinate whose window reads input coordinate `at` at kernel offset `k * dil`, or -1
// when none does (between strides, or outside the output): the input gradient's gather.
fn sourceOf(at: u32, k: u32, dil: u32, pad: u32, stride: u32, size: u32) -> i32 {
  let t = i32(at + pad) - i32(k * dil);
  if (t < 0 || u32(t) % stride != 0u || u32(t) / stride >= size) {
    return -1;
  }
  return t / i32(stride);
}
