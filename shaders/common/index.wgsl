// Index helpers for strided kernels. Shapes and strides travel in uniforms as array<vec4<u32>, 2>
// (up to 8 dimensions, 16-byte aligned as the uniform layout requires).

fn at8(v: array<vec4<u32>, 2>, d: u32) -> u32 {
  return v[d / 4u][d % 4u];
}
