//! include common/index
//! include common/special
//! include common/math
// Elementwise map over one to three inputs with NumPy broadcasting: out[i] = EXPR(a, b, c).
// Bindings: 0 Params (uniform), 1 out (read_write), 2 a, 3 b (ARITY2), 4 c (ARITY3).
// Defines: EXPR (WGSL expression of a, b, c, alpha), A_T (type of a), IN_T (type of b, c), OUT_T,
//          FLOAT (IN_T is f32: isNanT tests NaN bits; on i32 it is false),
//          BROADCAST (inputs read through strides; BROADCAST2: through 2 merged dimensions, without the
//          per-dimension loop), else SINGLE_A/B/C (that input has one element,
//          read at 0: number operands) and the others share the output's shape.
// Dispatch: one thread per output element, workgroups of 256 in a 2-D grid (x + y * num_workgroups.x).

struct Params {
  n: u32,
  rank: u32,
  alpha: f32,
  pad: u32,
  shape: array<vec4<u32>, 2>,
  aStrides: array<vec4<u32>, 2>,
  bStrides: array<vec4<u32>, 2>,
  cStrides: array<vec4<u32>, 2>,
}

// T: the value type (b, c); M: the type of a (where's mask).
alias T = {{IN_T}};
alias M = {{A_T}};

// NaN test for expressions that must propagate NaN like PyTorch (maximum, relu): WGSL's min/max
// are free to drop it, and `x != x` is unreliable, so the bits are tested.
fn isNanT(x: T) -> bool {
#if FLOAT
  return isNan(x);
#else
  return false;
#endif
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<{{OUT_T}}>;
@group(0) @binding(2) var<storage, read> A: array<{{A_T}}>;
#if ARITY2
@group(0) @binding(3) var<storage, read> B: array<{{IN_T}}>;
#endif
#if ARITY3
@group(0) @binding(4) var<storage, read> C: array<{{IN_T}}>;
#endif

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = threadIndex(wg, nwg, li);
  if (i >= p.n) {
    return;
  }
  var ia = i;
  var ib = i;
  var ic = i;
#if BROADCAST2
  // Two (merged) dimensions, [rows, cols] in shape[0].xy.
  let rc = rowCol(i, p.shape[0].y);
  ia = offset2(rc, p.aStrides[0]);
  ib = offset2(rc, p.bStrides[0]);
  ic = offset2(rc, p.cStrides[0]);
#elif BROADCAST
  ia = 0u;
  ib = 0u;
  ic = 0u;
  var rest = i;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let u = u32(d);
    let size = at8(p.shape, u);
    let k = rest % size;
    rest = rest / size;
    ia += k * at8(p.aStrides, u);
    ib += k * at8(p.bStrides, u);
    ic += k * at8(p.cStrides, u);
  }
#endif
#if SINGLE_A
  ia = 0u;
#endif
#if SINGLE_B
  ib = 0u;
#endif
#if SINGLE_C
  ic = 0u;
#endif
  let alpha = p.alpha;
  let a = A[ia];
#if ARITY2
  let b = B[ib];
#endif
#if ARITY3
  let c = C[ic];
#endif
  out[i] = {{EXPR}};
}
