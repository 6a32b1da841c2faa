enable subgroups;
// Experiment (bench/matmul-subgroup-wide.mjs): C[M,N] = A[M,K] · B[K,N], f32, row-major, with no
// workgroup memory and no barriers, written for any subgroup size S (a power of two, 4..128).
//
// Each subgroup computes R rows x (S * TN) columns of C. Lane l owns the TN / 4 vec4 columns
// l + S j (j < TN / 4): interleaved rather than TN consecutive columns, so that each vec4 load of a
// row of B (and each store of C) covers S consecutive vec4s, one contiguous segment per instruction.
// A lane keeps R x TN accumulators. A reaches every lane in one of two ways (AMODE):
//   SHUFFLE: per chunk of S k's, lane l loads A[row, k0 + l] for the R rows (coalesced along k)
//            and subgroupShuffle(a, kk) hands every lane the value for k0 + kk (kk uniform).
//   BCAST:   every lane loads the same A[row, k .. k + 3] (one vec4 when K % 4 == 0), the cache
//            broadcasting it: the control, to see whether the shuffles are what limits speed.
// Several subgroups per workgroup take consecutive row blocks of the same columns, so the B rows
// they read at about the same time are shared in L1.
//
// Template (expanded by the script): {{R}} rows per subgroup, {{TNV}} vec4 columns per lane;
// #if AMODE_SHUFFLE / AMODE_BCAST; PREFETCH (BCAST: B one step ahead); VEC_B (N % 4 == 0: B and C bound as vec4s; otherwise scalar
// loads and stores with per-column bounds); VEC_A (BCAST with K % 4 == 0: A bound as vec4s).
// Overrides: WG invocations per workgroup (subgroups per workgroup x the largest subgroup size, so
// no subgroup is partial); GROUP tile rows per band of the tile order; SG_FIXED: if nonzero and
// equal to the subgroup size at run time, the K loop is instantiated with that constant chunk
// length, so the driver can unroll it (still correct for any other size).
//
// M, N, K >= 1. Dispatch: any number of workgroups (x, y); workgroup w takes tiles w, w + count, ... of
// ceil(M / WM) x ceil(N / WN) tiles, WM = num_subgroups R, WN = S TN, so the result does not depend
// on which subgroup size the device picks at run time.

struct Params {
  M: u32,
  N: u32,
  K: u32,
  pad: u32,
}

const R = {{R}}u; // rows of C per subgroup
const TNV = {{TNV}}u; // vec4 columns of C per lane (TN = 4 TNV columns)
override WG: u32 = 128u;
override GROUP: u32 = 8u;
override SG_FIXED: u32 = 0u;

@group(0) @binding(0) var<uniform> p: Params;
#if VEC_A
@group(0) @binding(1) var<storage, read> A: array<vec4<f32>>;
#else
@group(0) @binding(1) var<storage, read> A: array<f32>;
#endif
#if VEC_B
@group(0) @binding(2) var<storage, read> B: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> C: array<vec4<f32>>;
#else
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
#endif

// acc[i * TNV + j]: row i of the subgroup's block, the lane's vec4 column j.
var<private> acc: array<vec4<f32>, R * TNV>;
#if VEC_B
var<private> bCol: array<u32, TNV>; // the lane's vec4 columns, clamped to the last one (loads only)
#else
var<private> bCol: array<vec4<u32>, TNV>; // the lane's columns, clamped to N - 1 (loads only)
#endif

// Row k of B at the lane's vec4 column j.
fn loadB(k: u32, j: u32) -> vec4<f32> {
#if VEC_B
  return B[k * (p.N / 4u) + bCol[j]];
#else
  let c = bCol[j] + vec4<u32>(k * p.N);
  return vec4<f32>(B[c.x], B[c.y], B[c.z], B[c.w]);
#endif
}

// One k: acc += a ⊗ B[k, lane's columns], with a the R rows' A values at k (the same in all lanes).
fn madK(a: array<f32, R>, k: u32) {
  var b: array<vec4<f32>, TNV>;
  for (var j = 0u; j < TNV; j++) {
    b[j] = loadB(k, j);
  }
  for (var i = 0u; i < R; i++) {
    let ai = vec4<f32>(a[i]);
    for (var j = 0u; j < TNV; j++) {
      acc[i * TNV + j] = fma(ai, b[j], acc[i * TNV + j]);
    }
  }
}

#if AMODE_SHUFFLE
// The A values lane kk of the subgroup loaded: A[row, k0 + kk] for the R rows.
fn shuffled(av: array<f32, R>, kk: u32) -> array<f32, R> {
  var a: array<f32, R>;
  for (var i = 0u; i < R; i++) {
    a[i] = subgroupShuffle(av[i], kk);
  }
  return a;
}

// The K loop for subgroup size S (a constant when called with SG_FIXED). aRow[i]: element offset
// of the block's row i in A (rows past M clamped to the last one: loaded, never stored).
fn kLoop(aRow: array<u32, R>, S: u32, lane: u32) {
  let kFull = p.K - p.K % S;
  var av: array<f32, R>;
  for (var k0 = 0u; k0 < kFull; k0 += S) {
    for (var i = 0u; i < R; i++) {
      av[i] = A[aRow[i] + k0 + lane];
    }
    // S is a multiple of 4: unrolled by 4 whatever S is.
    for (var kk = 0u; kk < S; kk += 4u) {
      madK(shuffled(av, kk), k0 + kk);
      madK(shuffled(av, kk + 1u), k0 + kk + 1u);
      madK(shuffled(av, kk + 2u), k0 + kk + 2u);
      madK(shuffled(av, kk + 3u), k0 + kk + 3u);
    }
  }
  // The last, partial chunk: lanes past K load a valid element that no lane uses.
  if (kFull < p.K) {
    let k = min(kFull + lane, p.K - 1u);
    for (var i = 0u; i < R; i++) {
      av[i] = A[aRow[i] + k];
    }
    for (var kk = 0u; kk < p.K - kFull; kk++) {
      madK(shuffled(av, kk), kFull + kk);
    }
  }
}
#endif

#if AMODE_BCAST
fn loadA4(base: u32, k: u32) -> vec4<f32> {
#if VEC_A
  return A[(base + k) / 4u]; // base and k are multiples of 4 (K % 4 == 0)
#else
  let e = base + k;
  return vec4<f32>(A[e], A[e + 1u], A[e + 2u], A[e + 3u]);
#endif
}

// Rows k .. k + 3 of B at the lane's columns: b[q * TNV + j] is row k + q, vec4 column j (rows past
// K read the last row: only the prefetch past the end does, and it is never used).
fn loadB4(k: u32) -> array<vec4<f32>, 4u * TNV> {
  var b: array<vec4<f32>, 4u * TNV>;
  for (var q = 0u; q < 4u; q++) {
    for (var j = 0u; j < TNV; j++) {
      b[q * TNV + j] = loadB(min(k + q, p.K - 1u), j);
    }
  }
  return b;
}

// Per 4 k: the lane's B values for the 4 k's, then row by row one vec4 of A (4 k's), the same
// address in every lane (one broadcast transaction), used at once: 4 TN + 4 registers besides the
// accumulators, not 4 R. PREFETCH: the next 4 rows of B are loaded before this step's
// multiply-adds, so their latency overlaps them (4 TN more registers).
fn kLoop(aRow: array<u32, R>, S: u32, lane: u32) {
  let k4 = p.K & ~3u;
#if PREFETCH
  var bNext = loadB4(0u);
#endif
  for (var k = 0u; k < k4; k += 4u) {
#if PREFETCH
    var b = bNext;
    bNext = loadB4(k + 4u);
#else
    var b = loadB4(k);
#endif
    for (var i = 0u; i < R; i++) {
      let a = loadA4(aRow[i], k);
      for (var j = 0u; j < TNV; j++) {
        let c = fma(vec4<f32>(a.x), b[j], acc[i * TNV + j]);
        let d = fma(vec4<f32>(a.y), b[TNV + j], c);
        let e = fma(vec4<f32>(a.z), b[2u * TNV + j], d);
        acc[i * TNV + j] = fma(vec4<f32>(a.w), b[3u * TNV + j], e);
      }
    }
  }
  for (var k = k4; k < p.K; k++) {
    var a: array<f32, R>;
    for (var i = 0u; i < R; i++) {
#if VEC_A
      a[i] = A[(aRow[i] + k) / 4u][k % 4u];
#else
      a[i] = A[aRow[i] + k];
#endif
    }
    madK(a, k);
  }
}
#endif

// One subgroup's block: rows row0 .. row0 + R - 1, the lane's vec4 columns cv0 + S j.
fn block(row0: u32, cv0: u32, S: u32, lane: u32) {
  let n4 = (p.N + 3u) / 4u; // vec4 columns of C (the last one ragged when N % 4 != 0)
  for (var q = 0u; q < R * TNV; q++) {
    acc[q] = vec4<f32>(0.0);
  }
  // Columns and rows past the edge load the last valid one (no bounds checks in the K loop).
  for (var j = 0u; j < TNV; j++) {
#if VEC_B
    bCol[j] = min(cv0 + S * j, n4 - 1u);
#else
    bCol[j] = min(vec4<u32>((cv0 + S * j) * 4u) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(p.N - 1u));
#endif
  }
  var aRow: array<u32, R>;
  for (var i = 0u; i < R; i++) {
    aRow[i] = min(row0 + i, p.M - 1u) * p.K;
  }
  if (SG_FIXED != 0u && S == SG_FIXED) {
    kLoop(aRow, SG_FIXED, lane); // constant chunk length: unrollable
  } else {
    kLoop(aRow, S, lane);
  }
  for (var i = 0u; i < R; i++) {
    let row = row0 + i;
    if (row >= p.M) {
      break;
    }
    for (var j = 0u; j < TNV; j++) {
      let cv = cv0 + S * j;
#if VEC_B
      if (cv < n4) {
        C[row * n4 + cv] = acc[i * TNV + j];
      }
#else
      for (var q = 0u; q < 4u; q++) {
        let c = cv * 4u + q;
        if (c < p.N) {
          C[row * p.N + c] = acc[i * TNV + j][q];
        }
      }
#endif
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(subgroup_id) sid: u32, @builtin(num_subgroups) nsg: u32,
        @builtin(subgroup_size) S: u32, @builtin(subgroup_invocation_id) lane: u32) {
  let WM = nsg * R; // rows per tile
  let WN = S * TNV; // vec4 columns per tile
  let tilesM = (p.M + WM - 1u) / WM;
  let tilesN = ((p.N + 3u) / 4u + WN - 1u) / WN;
  let tiles = tilesM * tilesN;
  let count = groups.x * groups.y;
  // Tile order: bands of GROUP tile rows, column by column within a band, so that the workgroups
  // running at the same time share both A rows and B columns in L2. t is workgroup-uniform: every
  // subgroup runs the loop (and its shuffles) the same number of times.
  for (var t = wg.y * groups.x + wg.x; t < tiles; t += count) {
    let first = (t / (GROUP * tilesN)) * GROUP;
    let rows = min(GROUP, tilesM - first);
    let inBand = t - first * tilesN;
    let tileRow = first + inBand % rows;
    let tileCol = inBand / rows;
    block(tileRow * WM + sid * R, tileCol * WN + lane, S, lane);
  }
}
