// Index helpers. Shapes and strides travel in uniforms as array<vec4<u32>, 2> (up to 8 dimensions,
// 16-byte aligned as the uniform layout requires).

fn at8(v: array<vec4<u32>, 2>, d: u32) -> u32 {
  // Selects, not v[d / 4u][d % 4u]: SwiftShader lacks dynamic indexing of uniform arrays and runs
  // it many times slower (e.g. a broadcast add), while selects cost a few instructions anywhere.
  let q = select(v[0], v[1], d >= 4u);
  let r = d & 3u;
  return select(select(q.x, q.y, r == 1u), select(q.z, q.w, r == 3u), r >= 2u);
}

// The global index of a thread in a 2-D grid of 256-thread workgroups (x + y * num_workgroups.x):
// grids wider than 65535 workgroups wrap into y.
fn threadIndex(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
  return (wg.x + wg.y * nwg.x) * 256u + li;
}

// Row and column of row-major index i in [rows, cols] (two merged dimensions): one division and no
// loop over dimensions, which runs ~10x slower on SwiftShader (a transpose, a 2-D slice, a bias add).
fn rowCol(i: u32, cols: u32) -> vec2<u32> {
  let row = i / cols;
  return vec2<u32>(row, i - row * cols);
}

// The element offset of [row, col] through the strides in strides.xy.
fn offset2(rc: vec2<u32>, strides: vec4<u32>) -> u32 {
  return rc.x * strides.x + rc.y * strides.y;
}

// The element offset of row-major index i of `shape`, read through `strides`.
fn offsetOf(i: u32, rank: u32, shape: array<vec4<u32>, 2>, strides: array<vec4<u32>, 2>) -> u32 {
  var rest = i;
  var off = 0u;
  for (var d = i32(rank) - 1; d >= 0; d--) {
    let size = at8(shape, u32(d));
    off += (rest % size) * at8(strides, u32(d));
    rest = rest / size;
  }
  return off;
}
