/**
 * Small seeded pseudo-random generators. One `--seed` fixes every random choice of a run: derive a stream per
 * purpose with {@link deriveSeed} (e.g. `deriveSeed(seed, "fleet", workerIndex)`) so that adding a consumer never
 * shifts another consumer's sequence.
 */

/** A 32-bit integer mix (the finaliser of MurmurHash3): equal inputs give equal outputs, nearby inputs spread. */
export function mix32(value: number): number {
  let h = value | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85eb_ca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2_ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hashes a seed with labels (strings or integers) into a new 32-bit seed, deterministically. */
export function deriveSeed(seed: number, ...labels: (string | number)[]): number {
  let h = mix32(seed ^ 0x9e37_79b9);
  for (const label of labels) {
    if (typeof label === "number") {
      h = mix32(h ^ mix32(label + 0x632b_e5ab));
    } else {
      for (let i = 0; i < label.length; i++) h = mix32(h ^ Math.imul(label.charCodeAt(i) + 1, 0x0100_0193));
      h = mix32(h ^ label.length);
    }
  }
  return h >>> 0;
}

/** A stateless uniform number in [0, 1) for `(seed, ...labels)`: no state to keep per consumer. */
export function hashUnit(seed: number, ...labels: (string | number)[]): number {
  return deriveSeed(seed, ...labels) / 4_294_967_296;
}

/** A mulberry32 generator: tiny state (one 32-bit integer), fast, good enough for test schedules. */
export class SeededRandom {
  #state: number;

  /** @param seed any integer; equal seeds give equal sequences. */
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** Next uniform number in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b_79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Uniform integer in [min, max]. */
  intBetween(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  /** Uniform element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("pick() needs a non-empty array");
    return items[this.int(items.length)] as T;
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A copy of `items` in a seeded random order (Fisher-Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }

  /** Lowercase hex string of `length` characters. */
  hex(length: number): string {
    let out = "";
    while (out.length < length) out += Math.floor(this.next() * 65_536).toString(16).padStart(4, "0");
    return out.slice(0, length);
  }

  /** A new independent generator derived from this one's seed sequence and a label. */
  fork(label: string | number): SeededRandom {
    return new SeededRandom(deriveSeed(Math.floor(this.next() * 4_294_967_296), label));
  }
}
