#if SUBGROUPS
enable subgroups;
#endif
// Rows for the kernels that reduce along rows (softmax, cross-entropy, norms), chosen by the host
// (rowKernel in src/ops/reduce.ts):
//   PER_THREAD: a thread per row (short rows; every row on software adapters), workgroups of 64;
//   else: a workgroup of 256 lanes per row; lane l takes elements l, l + 256, ... and rowSum /
//   rowMax combine the lanes' partial results and give the total back to every lane. Call them
//   from uniform control flow (the whole workgroup, on its one row).
//   SUBGROUPS (with the workgroup path, where the device has subgroups): subgroupAdd / subgroupMax
//   within each subgroup, then the subgroups' results folded in subgroup_id order. The adapter
//   chooses which lanes share a subgroup; subgroup_id fixes the order, so every run gives the same
//   result. Without: an 8-level tree with a barrier per level.
// Dispatch: PER_THREAD: ceil(rows / 64) workgroups; else one workgroup per row (both wrap into y).

// The entry point's built-ins, in two structs because WGSL's uniformity analysis treats a struct
// as a whole: the workgroup's (uniform, so barriers may follow branches on them) and the lane's.
struct RowGroup {
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
#if SUBGROUPS
  @builtin(num_subgroups) subgroups: u32,
#endif
}

struct RowLane {
  @builtin(local_invocation_index) index: u32,
#if SUBGROUPS
  @builtin(subgroup_id) subgroup: u32,
  @builtin(subgroup_invocation_id) inSubgroup: u32,
#endif
}

#if PER_THREAD
const ROW_WORKGROUP = 64u;
const LANES = 1u;

fn rowOf(g: RowGroup, l: RowLane) -> u32 {
  return (g.wg.x + g.wg.y * g.nwg.x) * ROW_WORKGROUP + l.index;
}

fn laneOf(l: RowLane) -> u32 {
  return 0u;
}

fn rowSum(v: vec4<f32>, g: RowGroup, l: RowLane) -> vec4<f32> {
  return v;
}

fn rowMax(v: f32, g: RowGroup, l: RowLane) -> f32 {
  return v;
}
#else
const ROW_WORKGROUP = 256u;
const LANES = 256u;
// One partial per lane (tree) or per subgroup (at most 256 subgroups of one lane).
var<workgroup> rowPartial: array<vec4<f32>, 256>;

fn rowOf(g: RowGroup, l: RowLane) -> u32 {
  return g.wg.x + g.wg.y * g.nwg.x;
}

fn laneOf(l: RowLane) -> u32 {
  return l.index;
}

fn rowSum(v: vec4<f32>, g: RowGroup, l: RowLane) -> vec4<f32> {
#if SUBGROUPS
  let s = subgroupAdd(v);
  if (l.inSubgroup == 0u) {
    rowPartial[l.subgroup] = s;
  }
  workgroupBarrier();
  var total = rowPartial[0];
  for (var i = 1u; i < g.subgroups; i++) {
    total += rowPartial[i];
  }
#else
  rowPartial[l.index] = v;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (l.index < s) {
      rowPartial[l.index] += rowPartial[l.index + s];
    }
    workgroupBarrier();
  }
  let total = rowPartial[0];
#endif
  workgroupBarrier(); // every lane has read the partials before the next call writes them
  return total;
}

fn rowMax(v: f32, g: RowGroup, l: RowLane) -> f32 {
#if SUBGROUPS
  let s = subgroupMax(v);
  if (l.inSubgroup == 0u) {
    rowPartial[l.subgroup].x = s;
  }
  workgroupBarrier();
  var m = rowPartial[0].x;
  for (var i = 1u; i < g.subgroups; i++) {
    m = max(m, rowPartial[i].x);
  }
#else
  rowPartial[l.index].x = v;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (l.index < s) {
      rowPartial[l.index].x = max(rowPartial[l.index].x, rowPartial[l.index + s].x);
    }
    workgroupBarrier();
  }
  let m = rowPartial[0].x;
#endif
  workgroupBarrier();
  return m;
}
#endif
