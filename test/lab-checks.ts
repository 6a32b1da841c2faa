/**
 * Checks shared by the wt.lab tests (lab, lab2, lab3): no leaked tensors, and well-formed results.
 */
import { expect } from 'vitest';
import * as wt from '../src/index';
import { setTensorObserver } from '../src/runtime';
import type { Tensor } from '../src/tensor';
import type { ExperimentId, LabResult } from '../src/lab/types';

/**
 * Tensors fn created and did not dispose. The observer holds every new tensor strongly, so a leaked
 * tensor cannot be garbage collected (and silently freed by the FinalizationRegistry) before it is
 * counted. 0-d uploads are left out: they are the library's scalar-constant cache (LRU, shared).
 */
export async function leaksOf(fn: () => Promise<unknown>): Promise<string[]> {
  const live = new Map<Tensor, string>();
  setTensorObserver({ created: (t, op) => live.set(t, op), disposed: (t) => live.delete(t) });
  try {
    await fn();
  } finally {
    setTensorObserver(null);
  }
  return [...live].filter(([t, op]) => !(op === 'tensor' && t.rank === 0) && !t.isDisposed).map(([t, op]) => `${op} [${t.shape}]`);
}

/** Every number finite, every series as long as its x, heatmaps of xs × ys values, table rows as wide as the columns. */
export function expectWellFormed(r: LabResult, id: ExperimentId): void {
  expect(r.id).toBe(id);
  expect(r.title).toBe(wt.lab.experiments[id].title);
  expect(r.plots.length).toBeGreaterThan(0);
  for (const p of r.plots) {
    expect(p.series.length).toBeGreaterThan(0);
    for (const s of p.series) {
      expect(s.x.length, `${p.title} / ${s.label}`).toBeGreaterThan(0);
      expect(s.y).toHaveLength(s.x.length);
      expect([...s.x, ...s.y].every(Number.isFinite), `${p.title} / ${s.label}: ${s.y}`).toBe(true);
      if (p.logY) expect(s.y.every((v) => v > 0)).toBe(true);
    }
    for (const m of p.markers ?? []) expect(Number.isFinite(m.x) && Number.isFinite(m.y)).toBe(true);
  }
  for (const h of r.heatmaps ?? []) {
    expect(h.values).toHaveLength(h.xs.length * h.ys.length);
    expect([...h.xs, ...h.ys, ...h.values].every(Number.isFinite)).toBe(true);
    for (const path of h.paths ?? []) {
      expect(path.points.length).toBeGreaterThan(0);
      expect(path.points.flat().every(Number.isFinite)).toBe(true);
    }
  }
  if (r.table) {
    expect(r.table.rows.length).toBeGreaterThan(0);
    for (const row of r.table.rows) {
      expect(row).toHaveLength(r.table.columns.length);
      for (const v of row) if (typeof v === 'number') expect(Number.isFinite(v)).toBe(true);
    }
  }
  expect(Object.keys(r.summary).length).toBeGreaterThan(0);
  for (const v of Object.values(r.summary)) expect(typeof v === 'string' || Number.isFinite(v)).toBe(true);
  // Plain data (no tensors): it goes through JSON unchanged.
  const json = JSON.stringify(r);
  expect(JSON.stringify(JSON.parse(json))).toBe(json);
}

/**
 * Runs an experiment under the leak check, recording its progress: no leaked tensors, a well-formed
 * result, progress in [0, 1], monotone and ending at 1 (with at least `minReports` reports).
 */
export async function runChecked(id: ExperimentId, settings: Record<string, unknown>, minReports = 1): Promise<LabResult> {
  const progress: number[] = [];
  let result!: LabResult;
  const leaks = await leaksOf(async () => {
    result = await wt.lab.experiments[id].run({ ...settings, onProgress: (f: number) => { progress.push(f); } } as never);
  });
  expect(leaks).toEqual([]);
  expectWellFormed(result, id);
  expect(progress.length).toBeGreaterThanOrEqual(minReports);
  progress.forEach((f, i) => {
    expect(f).toBeGreaterThanOrEqual(0);
    expect(f).toBeLessThanOrEqual(1);
    if (i > 0) expect(f).toBeGreaterThanOrEqual(progress[i - 1] - 1e-12);
  });
  expect(progress.at(-1)).toBe(1);
  return result;
}

/** A getter over the results of the run tests: a clear error when a later test needs one that failed. */
export function resultOf<K>(results: Map<K, LabResult>): (id: K) => LabResult {
  return (id) => {
    const r = results.get(id);
    if (!r) throw new Error(`${String(id)} did not run (see its test above)`);
    return r;
  };
}
