/**
 * Packs a WGSL uniform struct: scalars (u32/i32/f32, 4 bytes each) followed by `array<vec4<u32>, K>`
 * fields. Arrays start on a 16-byte boundary, as WGSL's uniform layout requires, so a shader struct
 * `{ n: u32, rank: u32, alpha: f32, pad: u32, shape: array<vec4<u32>, 2> }` matches
 * `new Uniforms().u32(n).u32(rank).f32(alpha).u32(0).array(shape, 8)`.
 */
export class Uniforms {
  private words: number[] = [];
  private floatMask: boolean[] = [];

  u32(v: number): this {
    this.words.push(v >>> 0);
    this.floatMask.push(false);
    return this;
  }

  i32(v: number): this {
    return this.u32(v | 0);
  }

  f32(v: number): this {
    this.words.push(v);
    this.floatMask.push(true);
    return this;
  }

  /** `values` zero-padded to `length` words (a multiple of 4), starting 16-byte aligned. */
  array(values: readonly number[], length: number): this {
    if (values.length > length) throw new Error(`uniform array of ${values.length} values exceeds its ${length} slots`);
    while (this.words.length % 4) this.u32(0);
    for (let i = 0; i < length; i++) this.u32(values[i] ?? 0);
    return this;
  }

  /** The packed bytes, padded to a multiple of 16. */
  bytes(): ArrayBuffer {
    const n = Math.ceil(Math.max(this.words.length, 4) / 4) * 4;
    const buf = new ArrayBuffer(n * 4);
    const u = new Uint32Array(buf);
    const f = new Float32Array(buf);
    this.words.forEach((w, i) => { if (this.floatMask[i]) f[i] = w; else u[i] = w; });
    return buf;
  }
}
