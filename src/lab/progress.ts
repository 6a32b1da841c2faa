/**
 * Long lab computations stay polite in a browser page: they report progress, stop when asked (an
 * AbortSignal), and give the event loop a turn every few milliseconds so the page keeps painting
 * and GPU read-backs can resolve.
 */
import { WebtrainError } from '../errors';
import { macrotask } from '../train/fit';

/** Thrown by a lab computation whose AbortSignal was aborted (name 'AbortError', as DOM aborts). */
export class AbortError extends WebtrainError {
  constructor(where: string) {
    super(`${where}: aborted`);
    this.name = 'AbortError';
  }
}

/** Where a long computation reports to: the optional callback and signal of every lab function. */
export interface ProgressOptions {
  onProgress?: (fraction: number, message?: string) => void;
  signal?: AbortSignal;
}

/**
 * Progress over [from, to] of a whole run. `sub` hands a part of the range to a phase, so nested
 * phases report one monotone fraction; all parts share one pacer (the time of the last yield).
 */
export class Progress {
  private constructor(
    private readonly where: string,
    private readonly opts: ProgressOptions,
    private readonly from: number,
    private readonly to: number,
    private readonly pacer: { last: number; everyMs: number },
  ) {}

  /** A progress for a whole computation named `where` (the name goes into the AbortError). */
  static start(where: string, opts: ProgressOptions = {}, everyMs = 16): Progress {
    return new Progress(where, opts, 0, 1, { last: performance.now(), everyMs });
  }

  get signal(): AbortSignal | undefined {
    return this.opts.signal;
  }

  /** The part [a, b] (fractions of this progress's range) for a phase. */
  sub(a: number, b: number): Progress {
    const span = this.to - this.from;
    return new Progress(this.where, this.opts, this.from + a * span, this.from + b * span, this.pacer);
  }

  /** The i-th of n equal parts. */
  part(i: number, n: number): Progress {
    return this.sub(i / n, (i + 1) / n);
  }

  /**
   * This range as the progress options of another lab function (lossSurface2d, interpolate, ...):
   * its fractions land in this range; it checks the signal and yields by itself.
   */
  options(): ProgressOptions {
    const { onProgress, signal } = this.opts;
    return {
      signal,
      onProgress: onProgress && ((f, m) => onProgress(this.from + Math.min(1, Math.max(0, f)) * (this.to - this.from), m)),
    };
  }

  /** Throws AbortError when the signal was aborted. */
  check(): void {
    if (this.opts.signal?.aborted) throw new AbortError(this.where);
  }

  /**
   * A step is done: `fraction` (0..1) of this range. Checks the signal, reports, and yields to the
   * event loop when `everyMs` of work has passed since the last yield; checks again after yielding,
   * since an abort usually arrives during the yield.
   */
  async report(fraction: number, message?: string): Promise<void> {
    this.check();
    const f = this.from + Math.min(1, Math.max(0, fraction)) * (this.to - this.from);
    this.opts.onProgress?.(f, message);
    if (performance.now() - this.pacer.last >= this.pacer.everyMs) {
      await macrotask();
      this.pacer.last = performance.now();
      this.check();
    }
  }
}

/** n evenly spaced numbers from a to b, both included (numpy.linspace). */
export function linspace(a: number, b: number, n: number): number[] {
  if (!Number.isInteger(n) || n < 1) throw new WebtrainError(`linspace: the number of points must be a positive integer, got ${n}`);
  if (n === 1) return [a];
  // a + (b − a)·i/(n − 1) with the last point exactly b, so endpoints are exact.
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? b : a + ((b - a) * i) / (n - 1)));
}

