//! include common/index
//! include common/conv-params
// 2-D convolution on NCHW tensors and its two gradients (src/ops/conv2d.ts), as implicit GEMM: no
// patch matrix is built, each thread walks its own window. Input x [N, inC, inH, inW], weight
// [outC, cpg, kH, kW] (cpg = inC / groups, opg = outC / groups), output [N, outC, outH, outW];
// input row of output row i and kernel row kh: i * strideH + kh * dilH - padH (likewise columns),
// zero outside the input.
//   FORWARD          y[n, o, i, j] = bias[o] + Σ_{c < cpg, kh, kw} x[n, g·cpg + c, row, col] · w[o, c, kh, kw],
//                    g = o / opg. One thread per output pixel and block of output channels.
//   BACKWARD_INPUT   gx[n, c, r, s] = Σ over the outputs (o in c's group, i, j) whose window reads
//                    (r, s) at kernel position (kh, kw): gy[n, o, i, j] · w[o, c % cpg, kh, kw].
//                    One thread per input pixel and block of input channels.
//   BACKWARD_WEIGHT  gw[o, c, kh, kw] = Σ_{n, i, j} gy[n, o, i, j] · x[n, g·cpg + c, row, col], one
//                    sum per kernel tap (c, kh, kw) and block of output channels: PER_THREAD, one
//                    thread each; else one workgroup of 256 each, every thread a strided share of the
//                    terms, tree-reduced.
// Channel blocks (BLOCK): a thread computes BLOCK_SIZE = 4 consecutive channels of one group in an
// ACC = vec4<f32>, so each x (FORWARD, BACKWARD_WEIGHT) or gy (BACKWARD_INPUT) value it loads feeds 4
// multiply-adds; the last block of a group may be partial (`valid` channels). Without BLOCK,
// BLOCK_SIZE = 1 and ACC = f32 (for groups of fewer than 4 channels: depthwise).
// `blocks` is the number of channel blocks per group: ceil(opg / BLOCK_SIZE) (BACKWARD_INPUT: cpg).
// Bindings: 0 Params, 1 out, then FORWARD: x, w, bias (HAS_BIAS) · BACKWARD_INPUT: gy, w ·
//   BACKWARD_WEIGHT: x, gy.
// Defines: FORWARD | BACKWARD_INPUT | BACKWARD_WEIGHT, HAS_BIAS, PER_THREAD, BLOCK, BLOCK_SIZE, ACC.
// Dispatch: one thread per (pixel, channel block) (`count` threads, 256-thread workgroups in a 2-D
//   grid); BACKWARD_WEIGHT without PER_THREAD: one workgroup per (tap, channel block) (2-D grid).

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
#if FORWARD
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
#if HAS_BIAS
@group(0) @binding(4) var<storage, read> bias: array<f32>;
#endif
#elif BACKWARD_INPUT
@group(0) @binding(2) var<storage, read> gy: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
#else
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> gy: array<f32>;
#endif

// A block of channels: the first one (`first`, a global channel index), how many are real (`valid`),
// and its group. `blk` counts blocks over all groups, `perGroup` channels per group.
struct Block {
  first: u32,
  valid: u32,
  group: u32,
}

fn blockOf(blk: u32, perGroup: u32) -> Block {
  let g = blk / p.blocks;
  let first = g * perGroup + (blk % p.blocks) * {{BLOCK_SIZE}}u;
  return Block(first, min({{BLOCK_SIZE}}u, (g + 1u) * perGroup - first), g);
}

// Values at `base + k * stride` for the block's channels k (clamped to the last real one, so a
// partial block reads in bounds; its extra lanes are never stored).
#if !BACKWARD_WEIGHT
fn weights(base: u32, stride: u32, valid: u32) -> {{ACC}} {
#if BLOCK
  let last = valid - 1u;
  return vec4<f32>(weight[base], weight[base + min(1u, last) * stride], weight[base + min(2u, last) * stride],
                   weight[base + min(3u, last) * stride]);
#else
  return weight[base];
#endif
}
#endif

// Stores acc's real lanes at `base + k * stride`.
fn store(acc: {{ACC}}, base: u32, stride: u32, valid: u32) {
#if BLOCK
  for (var k = 0u; k < valid; k++) {
    out[base + k * stride] = acc[k];
  }
#else
  out[base] = acc;
#endif
}

#if FORWARD
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let idx = threadIndex(wg, nwg, li);
  if (idx >= p.count) {
    return;
  }
  let plane = p.outH * p.outW;
  let j = idx % p.outW;
  let i = (idx / p.outW) % p.outH;
  let blocksAll = p.groups * p.blocks;
  let b = blockOf((idx / plane) % blocksAll, p.opg);
  let n = idx / (plane * blocksAll);
  let tapsPerChannel = p.cpg * p.kH * p.kW; // weight stride between output channels
  var acc = {{ACC}}(0.0);
  for (var c = 0u; c < p.cpg; c++) {
    let xPlane = (n * p.inC + b.group * p.cpg + c) * p.inH * p.inW;
    let wBase = (b.first * p.cpg + c) * p.kH * p.kW;
    for (var kh = 0u; kh < p.kH; kh++) {
      let r = i32(i * p.strideH + kh * p.dilH) - i32(p.padH);
      if (r < 0 || r >= i32(p.inH)) {
        continue;
      }
      for (var kw = 0u; kw < p.kW; kw++) {
        let s = i32(j * p.strideW + kw * p.dilW) - i32(p.padW);
        if (s < 0 || s >= i32(p.inW)) {
          continue;
        }
        acc += x[xPlane + u32(r) * p.inW + u32(s)] * weights(wBase + kh * p.kW + kw, tapsPerChannel, b.valid);
      }
    }
  }
#if HAS_BIAS
#if BLOCK
  let last = b.valid - 1u;
  acc += vec4<f32>(bias[b.first], bias[b.first + min(1u, last)], bias[b.first + min(2u, last)], bias[b.first + min(3u, last)]);
#else
  acc += bias[b.first];
#endif
#endif
  store(acc, ((n * p.outC + b.first) * p.outH + i) * p.outW + j, plane, b.valid);
}
#elif BACKWARD_INPUT
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let idx = threadIndex(wg, nwg, li);
  if (idx >= p.count) {
    return;
  }
  let plane = p.inH * p.inW;
  let s = idx % p.inW;
  let r = (idx / p.inW) % p.inH;
  let blocksAll = p.groups * p.blocks;
  let b = blockOf((idx / plane) % blocksAll, p.cpg);
  let n = idx / (plane * blocksAll);
  let cl = b.first - b.group * p.cpg; // the block's first channel within its group
  let taps = p.kH * p.kW; // weight stride between input channels
  var acc = {{ACC}}(0.0);
  for (var ol = 0u; ol < p.opg; ol++) {
    let o = b.group * p.opg + ol;
    let gyPlane = (n * p.outC + o) * p.outH * p.outW;
    let wBase = (o * p.cpg + cl) * taps;
    for (var kh = 0u; kh < p.kH; kh++) {
      let i = sourceOf(r, kh, p.dilH, p.padH, p.strideH, p.outH);
      if (i < 0) {
        continue;
      }
      for (var kw = 0u; kw < p.kW; kw++) {
        let j = sourceOf(s, kw, p.dilW, p.padW, p.strideW, p.outW);
        if (j < 0) {
          continue;
        }
        acc += gy[gyPlane + u32(i) * p.outW + u32(j)] * weights(wBase + kh * p.kW + kw, taps, b.valid);
      }
    }
  }
  store(acc, ((n * p.inC + b.first) * p.inH + r) * p.inW + s, plane, b.valid);
}
#else
// The (tap, channel block) of weight-gradient sum e: e = ((blk · cpg + c) · kH + kh) · kW + kw.
struct Tap {
  b: Block,
  c: u32,
  kh: u32,
  kw: u32,
}

fn tapOf(e: u32) -> Tap {
  return Tap(blockOf(e / (p.cpg * p.kH * p.kW), p.opg), (e / (p.kH * p.kW)) % p.cpg, (e / p.kW) % p.kH, e % p.kW);
}

// Term q of the tap's sum, q over (n, i, j) of the batch and the output plane: x at the pixel the
// tap reads times gy of the block's channels.
fn weightTerm(t: Tap, q: u32) -> {{ACC}} {
  let plane = p.outH * p.outW;
  let n = q / plane;
  let i = (q % plane) / p.outW;
  let j = q % p.outW;
  let r = i32(i * p.strideH + t.kh * p.dilH) - i32(p.padH);
  let s = i32(j * p.strideW + t.kw * p.dilW) - i32(p.padW);
  if (r < 0 || r >= i32(p.inH) || s < 0 || s >= i32(p.inW)) {
    return {{ACC}}(0.0);
  }
  let xv = x[((n * p.inC + t.b.group * p.cpg + t.c) * p.inH + u32(r)) * p.inW + u32(s)];
  let g0 = (n * p.outC + t.b.first) * plane + q % plane;
#if BLOCK
  let last = t.b.valid - 1u;
  return xv * vec4<f32>(gy[g0], gy[g0 + min(1u, last) * plane], gy[g0 + min(2u, last) * plane], gy[g0 + min(3u, last) * plane]);
#else
  return xv * gy[g0];
#endif
}

// Where the tap's block of gw elements starts, and the stride between its channels.
fn storeTap(t: Tap, acc: {{ACC}}) {
  let taps = p.kH * p.kW;
  store(acc, (t.b.first * p.cpg + t.c) * taps + t.kh * p.kW + t.kw, p.cpg * taps, t.b.valid);
}

#if PER_THREAD
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let e = threadIndex(wg, nwg, li);
  if (e >= p.count) {
    return;
  }
  let t = tapOf(e);
  var acc = {{ACC}}(0.0);
  let terms = p.batch * p.outH * p.outW;
  for (var q = 0u; q < terms; q++) {
    acc += weightTerm(t, q);
  }
  storeTap(t, acc);
}
#else
var<workgroup> partial: array<{{ACC}}, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let e = wg.x + wg.y * nwg.x;
  // Every thread takes part in the barriers below; only in-range workgroups compute and write.
  var acc = {{ACC}}(0.0);
  if (e < p.count) {
    let t = tapOf(e);
    let terms = p.batch * p.outH * p.outW;
    for (var q = li; q < terms; q += 256u) {
      acc += weightTerm(t, q);
    }
  }
  partial[li] = acc;
  workgroupBarrier();
  for (var half = 128u; half > 0u; half = half >> 1u) {
    if (li < half) {
      partial[li] = partial[li] + partial[li + half];
    }
    workgroupBarrier();
  }
  if (li == 0u && e < p.count) {
    storeTap(tapOf(e), partial[0]);
  }
}
#endif
#endif
