// The 1-D grid of grid1d (src/gpu/device.ts): workgroups numbered along x, then y (x holds
// at most 65535 of them), WG invocations each. An entry point takes
// `g: Grid, @builtin(local_invocation_index) lid: u32` and asks for
//   workgroupIndex(g)          linear workgroup number (kernels with one workgroup per row)
//   invocationIndex(g, lid)    linear invocation number (kernels with one invocation per item)
// Grid holds only workgroup-uniform builtins, so control flow on workgroupIndex stays
// uniform (barriers allowed). The includer declares WG (the workgroup size).
struct Grid {
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
}

fn workgroupIndex(g: Grid) -> u32 { return g.wid.x + g.wid.y * g.nwg.x; }
fn invocationIndex(g: Grid, lid: u32) -> u32 { return workgroupIndex(g) * WG + lid; }
