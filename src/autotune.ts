/**
 * Per-adapter tuning of the tiled matmul kernel: times each candidate tile configuration on square
 * products of a few sizes and keeps the fastest per size class. Tile sizes do not carry across GPUs
 * (shared/PERFORMANCE-NOTES.md), so the built-in shape heuristic (pickMatmulTile, chosen on an
 * H100) is only a default. The result is plain JSON: browsers (and Deno) keep it in localStorage
 * per adapter; elsewhere save it and set `wt.tuning().matmulTable` at start-up.
 */
import { WebtrainError } from './errors';
import { MATMUL_TILES, type MatmulTable, type MatmulTile } from './ops/matmul';
import { getBackend, hasBackend, tidy } from './runtime';
import { randn } from './create';
import type { WebGPUBackend } from './backend/webgpu/webgpu-backend';

export interface AutotuneOptions {
  /** Square sizes timed, one per size class (default [256, 512, 1024, 2048, 4096]). */
  sizes?: number[];
  /** Tile configurations tried (default: every MATMUL_TILES entry). */
  candidates?: MatmulTile[];
  /** Time each candidate for at least this long per timed block (default 10 ms). */
  minBlockMs?: number;
  /** Re-time even when a stored result for this adapter exists (default false). */
  force?: boolean;
}

export interface AutotuneResult {
  /** The adapter it was measured on. */
  adapter: string;
  /** The table now in `wt.tuning().matmulTable`. */
  table: MatmulTable;
  /** Milliseconds per product, per size and candidate (empty when read from storage). */
  timings: { size: number; ms: number[] }[];
  /** Where the table came from. */
  source: 'measured' | 'stored';
}

const STORAGE_PREFIX = 'webtrain:matmul-table:';

/**
 * Times the matmul tile candidates on this adapter and installs the fastest per output size in
 * `wt.tuning().matmulTable` (a stored result is reused unless `force`). A software adapter runs
 * the untiled or subgroup kernel, which have no tiles: there is nothing to tune and this throws.
 */
export async function autotuneMatmul(opts: AutotuneOptions = {}): Promise<AutotuneResult> {
  if (!hasBackend('webgpu')) throw new WebtrainError('autotuneMatmul: no WebGPU backend (call `await wt.init()` on a machine with WebGPU first)');
  const gpu = getBackend('webgpu') as WebGPUBackend;
  if (gpu.tuning.matmulKernel !== 'tiled') {
    throw new WebtrainError(`autotuneMatmul: this adapter uses the ${gpu.tuning.matmulKernel} matmul kernel (a software adapter), which has no tiles to tune`);
  }
  const sizes = [...(opts.sizes ?? [256, 512, 1024, 2048, 4096])].sort((a, b) => a - b);
  const candidates = opts.candidates ?? Object.values(MATMUL_TILES);
  if (!sizes.length || !candidates.length || sizes.some((s) => !Number.isInteger(s) || s < 1)) {
    throw new WebtrainError(`autotuneMatmul: expected positive integer sizes and at least one candidate, got sizes [${sizes}] and ${candidates.length} candidates`);
  }
  const info = gpu.info().adapter ?? {};
  const adapter = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' / ');
  const storage = (globalThis as { localStorage?: Storage }).localStorage;
  const key = STORAGE_PREFIX + adapter + '|' + JSON.stringify({ sizes, candidates });
  if (!opts.force && storage) {
    const stored = storage.getItem(key);
    const table = stored === null ? null : fromJson(stored);
    if (table) {
      gpu.tuning.matmulTable = table;
      return { adapter, table, timings: [], source: 'stored' };
    }
  }
  const before = { tile: gpu.tuning.matmulTile, table: gpu.tuning.matmulTable };
  const timings: { size: number; ms: number[] }[] = [];
  const table: MatmulTable = [];
  try {
    for (const [i, size] of sizes.entries()) {
      const ms: number[] = [];
      for (const tile of candidates) {
        gpu.tuning.matmulTile = tile;
        ms.push(await timeProduct(size, opts.minBlockMs ?? 10));
      }
      timings.push({ size, ms });
      const best = candidates[ms.indexOf(Math.min(...ms))];
      // A class spans output sizes up to the geometric middle between this size² and the next.
      const upTo = i + 1 < sizes.length ? size * sizes[i + 1] : null;
      table.push({ upTo, tile: best });
    }
  } finally {
    gpu.tuning.matmulTile = before.tile;
  }
  gpu.tuning.matmulTable = table;
  storage?.setItem(key, JSON.stringify(table));
  return { adapter, table, timings, source: 'measured' };
}

/** The best of five timed blocks of size³ products, in ms per product (after a warm-up). */
async function timeProduct(size: number, minBlockMs: number): Promise<number> {
  const a = randn([size, size], { seed: 1 });
  const b = randn([size, size], { seed: 2 });
  // n products, then a one-element read of the last (the read waits for all of them).
  const run = async (n: number) => {
    const t0 = performance.now();
    for (let i = 1; i < n; i++) a.matmul(b).dispose();
    const one = tidy(() => a.matmul(b).reshape([size * size]).slice([0], [1]));
    await one.data();
    one.dispose();
    return performance.now() - t0;
  };
  try {
    await run(2);
    const once = Math.max(await run(1), 1e-3);
    const n = Math.max(1, Math.min(200, Math.ceil(minBlockMs / once)));
    let best = Infinity;
    for (let r = 0; r < 5; r++) best = Math.min(best, (await run(n)) / n);
    return best;
  } finally {
    a.dispose();
    b.dispose();
  }
}

/** A stored table, or null when it is not one (then it is measured again). */
function fromJson(text: string): MatmulTable | null {
  try {
    const table = JSON.parse(text) as MatmulTable;
    const ok = Array.isArray(table) && table.length > 0 && table.every((c) => c && typeof c.tile === 'object' && (c.upTo === null || typeof c.upTo === 'number'));
    return ok ? table : null;
  } catch {
    return null;
  }
}
