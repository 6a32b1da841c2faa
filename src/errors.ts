/** Errors thrown by webtrain. Every message names the op, the shapes/dtypes involved and what was expected. */

/** Bad input to an op: wrong shape, dtype, axis or argument. */
export class WebtrainError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebtrainError';
  }
}

/** The GPU device was lost (driver reset, `destroy()`, tab backgrounded...). Call `wt.init()` again. */
export class DeviceLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeviceLostError';
  }
}

/** A validation or out-of-memory error reported by the GPU for a given op. */
export class GpuError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuError';
  }
}

export function fail(op: string, message: string): never {
  throw new WebtrainError(`${op}: ${message}`);
}

/** `[2, 3]` as text for messages. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
