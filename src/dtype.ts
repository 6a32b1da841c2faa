/**
 * Element types. `f32` and `i32` exist on every backend; `f64` only on the CPU reference backend
 * (WGSL has no f64), where it is used for finite-difference gradient checks.
 */
export type DType = 'f32' | 'i32' | 'f64';

export type TypedArray = Float32Array | Int32Array | Float64Array;

export function bytesPerElement(dtype: DType): number {
  return dtype === 'f64' ? 8 : 4;
}

export function toTypedArray(dtype: DType, values: ArrayLike<number>): TypedArray {
  switch (dtype) {
    case 'f32': return Float32Array.from(values);
    case 'i32': return Int32Array.from(values, (v) => Math.trunc(v));
    case 'f64': return Float64Array.from(values);
  }
}
