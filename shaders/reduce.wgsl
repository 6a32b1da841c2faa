//! include common/index
//! include common/special
#if SUBGROUPS
enable subgroups;
#endif
// Reduction of the `red` dims of x for each combination of the `kept` dims (sum, max, min, argmax;
// mean = sum * scale). Offsets come from the kept/reduced shapes and x's strides.
// Bindings: 0 Params, 1 out (OUT_T), 2 x (T).
// Defines: T, OUT_T, SUM | MAX | MIN (ARGMAX: with MAX, writes the index of the first maximum;
//          MEAN: with SUM, scales by 1/n), LOWEST / HIGHEST (T's extremes, the max/min start values),
//          FLOAT (T is f32: max/min/argmax let NaN win, as PyTorch does; tested by its bits),
//          PER_THREAD (one thread per output, for short reductions) or a workgroup of 256 per output;
//          COMPENSATED (PER_THREAD f32 sums: Kahan summation); SUBGROUPS (the workgroup path of a
//          sum: subgroupAdd within each subgroup, then the subgroups' sums in subgroup_id order,
//          instead of an 8-level tree with a barrier per level).
// Dispatch: PER_THREAD: ceil(outN / 64) workgroups in 2-D; else one workgroup per output (2-D grid).

struct Params {
  outN: u32,
  redN: u32,
  keptRank: u32,
  redRank: u32,
  scale: f32,
  // 1.0, as a value the compiler cannot see: Kahan's compensation below is scaled by it.
  one: f32,
  keptShape: array<vec4<u32>, 2>,
  keptStrides: array<vec4<u32>, 2>,
  redShape: array<vec4<u32>, 2>,
  redStrides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<{{OUT_T}}>;
@group(0) @binding(2) var<storage, read> x: array<{{T}}>;

// One dimension (the host merges what it can): no div/mod per element.
fn keptOffset(o: u32) -> u32 {
  if (p.keptRank == 1u) {
    return o * p.keptStrides[0].x;
  }
  return offsetOf(o, p.keptRank, p.keptShape, p.keptStrides);
}

fn redOffset(r: u32) -> u32 {
  if (p.redRank == 1u) {
    return r * p.redStrides[0].x;
  }
  return offsetOf(r, p.redRank, p.redShape, p.redStrides);
}

// Accumulator, in the input's type T: a value and (for argmax) the reduced index it came from.
alias T = {{T}};

struct Acc {
  v: T,
  i: u32,
}

fn initial() -> Acc {
#if SUM
  return Acc(T(0), 0u);
#elif MAX
  return Acc({{LOWEST}}, 0u);
#else
  return Acc({{HIGHEST}}, 0u);
#endif
}

// NaN wins over numbers (the first NaN by index), as in PyTorch; never on integer types.
fn nanWinner(a: Acc, b: Acc, winner: ptr<function, Acc>) -> bool {
#if FLOAT
  let an = isNan(f32(a.v));
  let bn = isNan(f32(b.v));
  if (an || bn) {
    *winner = b;
    if (an && (!bn || a.i < b.i)) {
      *winner = a;
    }
    return true;
  }
#endif
  return false;
}

// Combines two partial results; on ties the smaller index wins (argmax returns the first maximum).
fn combine(a: Acc, b: Acc) -> Acc {
#if SUM
  return Acc(a.v + b.v, 0u);
#else
  var nan: Acc;
  if (nanWinner(a, b, &nan)) {
    return nan;
  }
  let tieButEarlier = b.v == a.v && b.i < a.i;
#if MAX
  let bWins = b.v > a.v || tieButEarlier;
#else
  let bWins = b.v < a.v || tieButEarlier;
#endif
  if (bWins) {
    return b;
  }
  return a;
#endif
}

fn finish(o: u32, acc: Acc) {
#if ARGMAX
  out[o] = {{OUT_T}}(acc.i);
#elif MEAN
  out[o] = {{OUT_T}}(f32(acc.v) * p.scale);
#else
  out[o] = {{OUT_T}}(acc.v);
#endif
}

// Thread li's share of a workgroup's output (its reduced elements from `base`): every 256th element.
fn threadShare(base: u32, li: u32) -> Acc {
  var acc = initial();
  for (var r = li; r < p.redN; r += 256u) {
    acc = combine(acc, Acc(x[base + redOffset(r)], r));
  }
  return acc;
}

#if PER_THREAD
#if COMPENSATED
// A compensated running sum: the total and the low-order part the last addition lost.
struct Kahan {
  total: T,
  lost: T,
}

fn kahanAdd(s: Kahan, v: T) -> Kahan {
  let y = v - s.lost;
  let t = s.total + y;
  // (t - total) - y is 0 in exact arithmetic, and a compiler that reassociates floats (NVIDIA's
  // Vulkan driver does) drops it, leaving a plain running sum. Scaling t by p.one, a 1.0 known
  // only at run time, keeps the rounding error computed; the product is exact.
  return Kahan(t, (t * p.one - s.total) - y);
}
#endif

// 64 threads per workgroup: a software adapter runs a workgroup on one core, and a bias gradient
// has only a few hundred outputs.
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let o = (wg.x + wg.y * nwg.x) * 64u + li;
  if (o >= p.outN) {
    return;
  }
  let base = keptOffset(o);
  var acc = initial();
#if COMPENSATED
  // Kahan summation: one thread may sum millions of values (software adapters use this path for
  // long reductions too), and a plain running f32 sum would lose ~n·ε of them.
  var sum = Kahan(T(0), T(0));
  if (p.redRank == 1u) {
    // One reduced dimension (a bias gradient, a row sum): a running index instead of a redOffset
    // call per element, which SwiftShader runs at ~5x the cost of the whole loop body.
    let step = p.redStrides[0].x;
    for (var r = 0u; r < p.redN; r++) {
      sum = kahanAdd(sum, x[base + r * step]);
    }
  } else if (p.redRank == 2u) {
    // Two (a convolution's bias gradient, over images and pixels): two loops, in the same order.
    for (var r0 = 0u; r0 < p.redShape[0].x; r0++) {
      let row = base + r0 * p.redStrides[0].x;
      for (var r1 = 0u; r1 < p.redShape[0].y; r1++) {
        sum = kahanAdd(sum, x[row + r1 * p.redStrides[0].y]);
      }
    }
  } else {
    for (var r = 0u; r < p.redN; r++) {
      sum = kahanAdd(sum, x[base + redOffset(r)]);
    }
  }
  acc.v = sum.total;
#else
  for (var r = 0u; r < p.redN; r++) {
    acc = combine(acc, Acc(x[base + redOffset(r)], r));
  }
#endif
  finish(o, acc);
}
#elif SUBGROUPS
// One sum per subgroup (at most 256 subgroups of one invocation).
var<workgroup> partial: array<T, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32, @builtin(subgroup_id) sid: u32,
        @builtin(num_subgroups) subgroups: u32, @builtin(subgroup_invocation_id) lane: u32) {
  let o = wg.x + wg.y * nwg.x;
  if (o >= p.outN) {
    return;
  }
  let acc = threadShare(keptOffset(o), li);
  // Which invocations share a subgroup is the adapter's choice; subgroup_id fixes where each
  // subgroup's sum goes, so the final order (and the result) is the same on every run.
  let s = subgroupAdd(acc.v);
  if (lane == 0u) {
    partial[sid] = s;
  }
  workgroupBarrier();
  if (li == 0u) {
    var total = T(0);
    for (var i = 0u; i < subgroups; i++) {
      total += partial[i];
    }
    finish(o, Acc(total, 0u));
  }
}
#else
var<workgroup> partial: array<Acc, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let o = wg.x + wg.y * nwg.x;
  if (o >= p.outN) {
    return;
  }
  // Each thread folds a strided share of the reduced elements, then a tree merges the 256 partials.
  partial[li] = threadShare(keptOffset(o), li);
  workgroupBarrier();
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (li < s) {
      partial[li] = combine(partial[li], partial[li + s]);
    }
    workgroupBarrier();
  }
  if (li == 0u) {
    finish(o, partial[0]);
  }
}
#endif
