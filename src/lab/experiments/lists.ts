/** Settings that are lists: comma-separated numbers in a string (the demo renders a text field). */
import { WebtrainError } from '../../errors';

/**
 * The numbers of a comma-separated setting, each checked by `ok` (described by `what`, e.g.
 * 'positive integers'); throws a WebtrainError naming the experiment and the setting.
 */
export function parseNumberList(id: string, key: string, s: string, ok: (v: number) => boolean, what: string): number[] {
  const v = s.split(',').map((x) => (x.trim() === '' ? NaN : Number(x.trim())));
  if (v.length === 0 || !v.every((x) => Number.isFinite(x) && ok(x))) {
    throw new WebtrainError(`lab.${id}: setting '${key}' must be comma-separated ${what}, got ${JSON.stringify(s)}`);
  }
  return v;
}

/** Positive integers (widths, counts). */
export function parseWidthList(id: string, key: string, s: string): number[] {
  return parseNumberList(id, key, s, (x) => Number.isInteger(x) && x >= 1, 'positive integers');
}
