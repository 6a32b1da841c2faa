//! include common/index
//! include common/special
// 2-D max and average pooling on NCHW tensors and their gradients (src/ops/pool2d.ts). The input is
// N·C planes of inH x inW, the output planes are outH x outW; output (i, j) pools the kH x kW window
// with top-left corner (i * strideH - padH, j * strideW - padW), clipped to the input (padding is
// at most half the kernel, so a window always holds an input element).
//   MAX           out = the window's maximum: the first one in row-major order (strict >), and a
//                 NaN always takes the window (the last NaN wins, as in PyTorch).
//   MAX_INDEX     out (i32) = that maximum's flat index r * inW + s in its plane.
//   MAX_BACKWARD  gx[r, s] = Σ gy over the windows whose argmax is (r, s).
//   AVG           out = Σ window / (kH * kW) (padding counts as zeros).
//   AVG_BACKWARD  gx[r, s] = Σ gy / (kH * kW) over the windows that cover (r, s).
// Bindings: 0 Params, 1 out, then MAX / MAX_INDEX / AVG: x · MAX_BACKWARD: x, gy · AVG_BACKWARD: gy.
// Defines: MAX | MAX_INDEX | MAX_BACKWARD | AVG | AVG_BACKWARD, and ARGMAX (one of the three MAX
//   passes) and BACKWARD (one of the two backward passes).
// Dispatch: one thread per output element (MAX, MAX_INDEX, AVG) or per input element (the
//   backward passes, which visit the windows covering their element: nothing is scattered),
//   `count` threads in 256-thread workgroups on a 2-D grid.

struct Params {
  count: u32,
  inH: u32,
  inW: u32,
  outH: u32,
  outW: u32,
  kH: u32,
  kW: u32,
  strideH: u32,
  strideW: u32,
  padH: u32,
  padW: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
#if MAX_INDEX
@group(0) @binding(1) var<storage, read_write> out: array<i32>;
#else
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
#endif
#if AVG_BACKWARD
@group(0) @binding(2) var<storage, read> gy: array<f32>;
#else
@group(0) @binding(2) var<storage, read> x: array<f32>;
#endif
#if MAX_BACKWARD
@group(0) @binding(3) var<storage, read> gy: array<f32>;
#endif

// The window of output (i, j) inside the input: rows [lo.x, hi.x), columns [lo.y, hi.y).
struct Window {
  lo: vec2<u32>,
  hi: vec2<u32>,
}

fn windowOf(i: u32, j: u32) -> Window {
  let top = i32(i * p.strideH) - i32(p.padH);
  let left = i32(j * p.strideW) - i32(p.padW);
  let lo = vec2<u32>(u32(max(top, 0)), u32(max(left, 0)));
  let hi = vec2<u32>(u32(min(top + i32(p.kH), i32(p.inH))), u32(min(left + i32(p.kW), i32(p.inW))));
  return Window(lo, hi);
}

// The outputs whose windows cover input coordinate `at` along one axis: [first, last], empty when first > last.
fn coveringRange(at: u32, k: u32, stride: u32, pad: u32, size: u32) -> vec2<i32> {
  let reach = i32(at + pad) - i32(k) + 1; // the first window start (in padded coordinates) that still covers `at`
  let first = select(0, (reach + i32(stride) - 1) / i32(stride), reach > 0);
  let last = min(i32((at + pad) / stride), i32(size) - 1);
  return vec2<i32>(first, last);
}

#if ARGMAX
// Flat in-plane index of the window's maximum (see the header for ties and NaN).
fn windowArgmax(plane: u32, win: Window) -> u32 {
  var best = win.lo.x * p.inW + win.lo.y;
  var bestV = x[plane + best];
  for (var r = win.lo.x; r < win.hi.x; r++) {
    for (var s = win.lo.y; s < win.hi.y; s++) {
      let k = r * p.inW + s;
      let v = x[plane + k];
      // NaN is tested by its bits; `v > bestV` is false once bestV is NaN, also where the compiler assumes no NaN.
      if (isNan(v) || (!isNan(bestV) && v > bestV)) {
        best = k;
        bestV = v;
      }
    }
  }
  return best;
}
#endif

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let idx = threadIndex(wg, nwg, li);
  if (idx >= p.count) {
    return;
  }
#if BACKWARD
  // One input element (r, s) of plane `pl`: visit the windows that cover it.
  let s = idx % p.inW;
  let r = (idx / p.inW) % p.inH;
  let pl = idx / (p.inW * p.inH);
  let rows = coveringRange(r, p.kH, p.strideH, p.padH, p.outH);
  let cols = coveringRange(s, p.kW, p.strideW, p.padW, p.outW);
  var acc = 0.0;
  for (var i = rows.x; i <= rows.y; i++) {
    for (var j = cols.x; j <= cols.y; j++) {
      let o = (pl * p.outH + u32(i)) * p.outW + u32(j);
#if MAX_BACKWARD
      if (windowArgmax(pl * p.inH * p.inW, windowOf(u32(i), u32(j))) == r * p.inW + s) {
        acc += gy[o];
      }
#else
      acc += gy[o];
#endif
    }
  }
#if AVG_BACKWARD
  acc = acc / f32(p.kH * p.kW);
#endif
  out[idx] = acc;
#else
  // One output element (i, j) of plane `pl`.
  let j = idx % p.outW;
  let i = (idx / p.outW) % p.outH;
  let pl = idx / (p.outW * p.outH);
  let plane = pl * p.inH * p.inW;
  let win = windowOf(i, j);
#if MAX
  out[idx] = x[plane + windowArgmax(plane, win)];
#elif MAX_INDEX
  out[idx] = i32(windowArgmax(plane, win));
#else
  var acc = 0.0;
  for (var r = win.lo.x; r < win.hi.x; r++) {
    for (var s = win.lo.y; s < win.hi.y; s++) {
      acc += x[plane + r * p.inW + s];
    }
  }
  out[idx] = acc / f32(p.kH * p.kW);
#endif
#endif
}
