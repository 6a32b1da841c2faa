/** Random streams for nn: draws without their own seed take the next counters of the global generator. */
import { rngState, setRngState } from '../create';

/**
 * Reserves `n` counters of the global generator (wt.seed) for one draw and returns its Philox
 * (seed, offset), exactly as wt.rand does: successive draws get fresh numbers, and re-seeding
 * replays them.
 */
export function nextRandomStream(n: number): { seed: number; offset: number } {
  const s = rngState();
  setRngState({ seed: s.seed, offset: s.offset + n });
  return s;
}
