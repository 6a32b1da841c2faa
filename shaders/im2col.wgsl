//! include common/index
// The patch matrices of a convolution's GEMM form on WebGPU (src/ops/conv2d.ts, groups of 1): one
// [CK, P] matrix per image in a [N, CK, P] buffer, CK = C·KH·KW rows (c, kh, kw), P = OH·OW columns
// (i, j). Input x [N, C, H, W]; the input row that output row i reads at kernel row kh is
// i·sh + kh·dh - ph (likewise columns), zero outside the input.
//   IM2COL:   cols[n, (c, kh, kw), (i, j)] = x[n, c, i·sh + kh·dh - ph, j·sw + kw·dw - pw]
//   COL2IM:   gx[n, c, r, s] = Σ_{kh, kw} cols[n, (c, kh, kw), (i, j)] over the (i, j) whose window
//             reads (r, s) at (kh, kw): i = (r + ph - kh·dh) / sh where that divides and i < OH
//             (likewise j); a gather, so no two threads add into one element.
//   ADD_BIAS: y[n, o, p] += bias[o] for y [N, OC, P], in place.
// Bindings: 0 Params, 1 out (IM2COL: cols; COL2IM: gx; ADD_BIAS: y, read-write), 2 in (x, cols, bias).
// Dispatch: one thread per element of out (`count`).

struct Params {
  count: u32,
  C: u32,
  H: u32,
  W: u32,
  OH: u32,
  OW: u32,
  KH: u32,
  KW: u32,
  sh: u32,
  sw: u32,
  ph: u32,
  pw: u32,
  dh: u32,
  dw: u32,
  OC: u32,
}

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
  let P = p.OH * p.OW;
  let taps = p.KH * p.KW;
#if IM2COL
  let col = e % P;
  let row = (e / P) % (p.C * taps);
  let n = e / (P * p.C * taps);
  let c = row / taps;
  let kh = (row % taps) / p.KW;
  let kw = row % p.KW;
  let ih = i32((col / p.OW) * p.sh + kh * p.dh) - i32(p.ph);
  let iw = i32((col % p.OW) * p.sw + kw * p.dw) - i32(p.pw);
  var v = 0.0;
  if (ih >= 0 && ih < i32(p.H) && iw >= 0 && iw < i32(p.W)) {
    v = src[((n * p.C + c) * p.H + u32(ih)) * p.W + u32(iw)];
  }
  out[e] = v;
#elif COL2IM
  let s = e % p.W;
  let r = (e / p.W) % p.H;
  let nc = e / (p.W * p.H); // n·C + c
  let base = nc * taps * P; // cols[n, (c, 0, 0), 0], since (n·C + c)·taps = n·CK + c·taps
  var acc = 0.0;
  for (var kh = 0u; kh < p.KH; kh++) {
    let ir = i32(r + p.ph) - i32(kh * p.dh);
    if (ir < 0 || u32(ir) % p.sh != 0u || u32(ir) / p.sh >= p.OH) {
      continue;
    }
    let i = u32(ir) / p.sh;
    for (var kw = 0u; kw < p.KW; kw++) {
      let is = i32(s + p.pw) - i32(kw * p.dw);
      if (is < 0 || u32(is) % p.sw != 0u || u32(is) / p.sw >= p.OW) {
        continue;
      }
      acc += src[base + (kh * p.KW + kw) * P + i * p.OW + u32(is) / p.sw];
    }
  }
  out[e] = acc;
#else
  out[e] += src[(e / P) % p.OC];
#endif
}
