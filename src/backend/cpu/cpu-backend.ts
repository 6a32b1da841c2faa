/** The CPU reference backend: plain TypeScript loops (in each op's row) over ArrayBuffers, in f32, i32 and f64. */
import type { Backend, BackendInfo, Storage } from '../backend';
import type { DType, TypedArray } from '../../dtype';

export class CpuBackend implements Backend {
  readonly name = 'cpu' as const;
  readonly dtypes: readonly DType[] = ['f32', 'i32', 'f64'];

  info(): BackendInfo {
    return { name: 'cpu', adapter: null, isFallback: true, limits: {}, features: ['f64'] };
  }

  alloc(byteLength: number): Storage {
    return { backend: this, byteLength, refs: 1, version: 0, handle: new ArrayBuffer(byteLength) };
  }

  upload(data: TypedArray): Storage {
    const s = this.alloc(data.byteLength);
    new Uint8Array(s.handle as ArrayBuffer).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return s;
  }

  free(): void {
    // ArrayBuffers are garbage collected.
  }

  async read({ storage, byteOffset }: { storage: Storage; byteOffset: number }, dtype: DType, length: number): Promise<TypedArray> {
    const buf = (storage.handle as ArrayBuffer).slice(byteOffset, byteOffset + length * (dtype === 'f64' ? 8 : 4));
    return dtype === 'f32' ? new Float32Array(buf) : dtype === 'i32' ? new Int32Array(buf) : new Float64Array(buf);
  }

  flush(): void {}
  pooledBytes(): number { return 0; }
  destroy(): void {}
}
