//! include common/index
//! include common/conv-params
// The patch matrices of a convolution's GEMM form on WebGPU (src/ops/conv2d.ts, groups of 1): one
// [CK, P] matrix per image in a [N, CK, P] buffer, CK = C·KH·KW rows (c, kh, kw), P = OH·OW columns
// (i, j). Input x [N, C, H, W]; the input row that output row i reads at kernel row kh is
// i·sh + kh·dh - ph (likewise columns), zero outside the input.
//   IM2COL:   cols[n, (c, kh, kw), (i, j)] = x[n, c, i·sh + kh·dh - ph, j·sw + kw·dw - pw]
//   COL2IM:   gx[n, c, r, s] = Σ_{kh, kw} cols[n, (c, kh, kw), (i, j)] over the (i, j) whose window
//             reads (r, s) at (kh, kw): i = (r + ph - kh·dh) / sh where that divides and i < OH
//             (likewise j); a gather, so no two threads add into one element.
//   ADD_BIAS: y[n, o, p] += bias[o] for y [N, OC, P], in place.
// Bindings: 0 Params (common/conv-params), 1 out (IM2COL: cols; COL2IM: gx; ADD_BIAS: y, read-write), 2 in (x, cols, bias).
// Dispatch: one thread per element of out (`count`).

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> src: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let e = threadIndex(wg, nwg, li);
  if (e >= p.count) {
    return;
  }
  let P = p.outH * p.outW;
  let taps = p.kH * p.kW;
#if IM2COL
  let col = e % P;
  let row = (e / P) % (p.inC * taps);
  let n = e / (P * p.inC * taps);
  let c = row / taps;
  let kh = (row % taps) / p.kW;
  let kw = row % p.kW;
  let ih = i32((col / p.outW) * p.strideH + kh * p.dilH) - i32(p.padH);
  let iw = i32((col % p.outW) * p.strideW + kw * p.dilW) - i32(p.padW);
  var v = 0.0;
  if (ih >= 0 && ih < i32(p.inH) && iw >= 0 && iw < i32(p.inW)) {
    v = src[((n * p.inC + c) * p.inH + u32(ih)) * p.inW + u32(iw)];
  }
  out[e] = v;
#elif COL2IM
  let s = e % p.inW;
  let r = (e / p.inW) % p.inH;
  let nc = e / (p.inW * p.inH); // n·C + c
  let base = nc * taps * P; // cols[n, (c, 0, 0), 0], since (n·C + c)·taps = n·CK + c·taps
  var acc = 0.0;
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
      acc += src[base + (kh * p.kW + kw) * P + u32(i) * p.outW + u32(j)];
    }
  }
  out[e] = acc;
#else
  out[e] += src[(e / P) % p.outC];
#endif
}
