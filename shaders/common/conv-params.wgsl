// The uniforms of the convolution kernels (conv2d.wgsl, im2col.wgsl), written by convUniforms in
// src/ops/conv2d.ts: the thread count, then the geometry of input [batch, inC, inH, inW], weight
// [outC, cpg, kH, kW] and output [batch, outC, outH, outW], and (conv2d.wgsl) its channel blocks.
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
