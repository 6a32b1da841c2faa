/** Option-object checks shared by the nn layers: a misspelled option is an error, never ignored. */
import { WebtrainError } from '../errors';

/** Throws when `opts` has a key not in `known`, naming where it was passed and the known keys. */
export function checkOptions(where: string, opts: object | undefined, known: readonly string[]): void {
  if (opts === undefined || opts === null) return;
  if (typeof opts !== 'object') throw new WebtrainError(`${where}: options must be an object, got ${typeof opts}`);
  const unknown = Object.keys(opts).filter((k) => !known.includes(k));
  if (unknown.length) {
    throw new WebtrainError(`${where}: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')} ` +
      `(known: ${known.join(', ')})`);
  }
}

/** Throws unless n is a positive integer (a layer width). */
export function checkPositiveInt(where: string, name: string, n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new WebtrainError(`${where}: ${name} must be a positive integer, got ${n}`);
}
