/** A source of uniform random numbers in [0, 1). */
export type RandomSource = () => number;

/**
 * A small seeded PRNG (mulberry32): the same seed gives the same toxicity draws, jitter and slicer cuts, so a
 * run with `--seed N` can be replayed. Not for cryptography.
 */
export function createSeededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
