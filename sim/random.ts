/**
 * Seeded randomness: one seed derives any number of independent named
 * streams (one per device, workload, fault source). A stream's sequence
 * depends only on the seed and its name, not on which other streams exist
 * or how often they were drawn from.
 */
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import type { JumpableRandomGenerator } from 'pure-rand/types/JumpableRandomGenerator';
import { hashString32 } from '../src/hash.js';
import type { RandomSource, RandomStream } from '../src/world/random-stream.js';

const TWO_TO_32 = 0x1_0000_0000;
const TWO_TO_53 = 2 ** 53;

/** Hex digits of a git commit hash, which works as a seed as in TigerBeetle. */
const COMMIT_HASH_DIGITS = 40;

/**
 * Parses a seed as the CLI accepts it: a decimal integer from 0 to 2^53 − 1,
 * the same range in hex with a `0x` prefix, or a 40-digit git commit hash
 * (as in TigerBeetle), of which the first 52 bits are kept. Anything else,
 * including bare hex such as `abc` and any number past 2^53 − 1, is a
 * RangeError: a seed that does not fit is refused, never folded onto
 * another seed.
 */
export function parseSeed(text: string): number {
  if (/^\d{1,16}$/.test(text) && Number.isSafeInteger(Number(text))) return Number(text);
  if (/^0x[0-9a-fA-F]{1,14}$/.test(text) && Number.isSafeInteger(Number(text))) {
    return Number(text);
  }
  if (text.length === COMMIT_HASH_DIGITS && /^[0-9a-fA-F]+$/.test(text)) {
    return Number.parseInt(text.slice(0, 13), 16);
  }
  const shown = text.length > 50 ? `${text.slice(0, 50)}…` : text;
  throw new RangeError(
    `Seed ${JSON.stringify(shown)} is not valid: expected a decimal integer from 0 to 2^53-1 (9007199254740991), 0x and up to 14 hex digits in that range, or a 40-digit git commit hash`,
  );
}

class SeededStream implements RandomStream {
  constructor(
    readonly name: string,
    private readonly generator: JumpableRandomGenerator,
  ) {}

  nextUint32(): number {
    return this.generator.next() >>> 0;
  }

  nextFloat(): number {
    const high = this.nextUint32() >>> 11; // 21 bits
    const low = this.nextUint32(); // 32 bits
    return (high * TWO_TO_32 + low) / TWO_TO_53;
  }

  nextInt(minInclusive: number, maxInclusive: number): number {
    if (!Number.isSafeInteger(minInclusive) || !Number.isSafeInteger(maxInclusive)) {
      throw new RangeError(
        `Random range [${minInclusive}, ${maxInclusive}] is not of safe integers`,
      );
    }
    if (minInclusive > maxInclusive) {
      throw new RangeError(`Random range [${minInclusive}, ${maxInclusive}] is empty`);
    }
    return uniformInt(this.generator, minInclusive, maxInclusive);
  }

  nextBoolean(probability: number): boolean {
    if (!(probability >= 0 && probability <= 1)) {
      throw new RangeError(`Probability ${probability} is not in [0, 1]`);
    }
    if (probability === 0) return false;
    if (probability === 1) return true;
    return this.nextFloat() < probability;
  }
}

/** All randomness of one run, derived from one seed. */
export class SeededRandom implements RandomSource {
  private readonly streams = new Map<string, SeededStream>();

  constructor(readonly seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new RangeError(`Seed ${seed} is not a non-negative safe integer`);
    }
  }

  stream(name: string): RandomStream {
    let stream = this.streams.get(name);
    if (stream === undefined) {
      stream = new SeededStream(name, xoroshiro128plusFromState(this.deriveState(name)));
      this.streams.set(name, stream);
    }
    return stream;
  }

  /** A fresh, independent stream that is not cached (for one-off derivations). */
  freshStream(name: string): RandomStream {
    return new SeededStream(name, xoroshiro128plusFromState(this.deriveState(name)));
  }

  private deriveState(name: string): number[] {
    // Four state words from splitmix32 over (seed low, seed high, two independent name hashes):
    // every (seed, name) pair starts from its own 128-bit state, so streams do not collide
    // across seeds or names.
    const seedLow = this.seed % TWO_TO_32;
    const seedHigh = Math.floor(this.seed / TWO_TO_32);
    const inputs = [seedLow, seedHigh, hashString32(name), hashString32(`${name}\u0000mirrorsim`)];
    const words: number[] = [];
    let state = 0x6a09e667;
    for (const input of inputs) {
      state = (state ^ input) | 0;
      state = (state + 0x9e3779b9) | 0;
      let mixed = state;
      mixed = Math.imul(mixed ^ (mixed >>> 16), 0x21f0aaad);
      mixed = Math.imul(mixed ^ (mixed >>> 15), 0x735a2d97);
      mixed = (mixed ^ (mixed >>> 15)) | 0;
      words.push(mixed ^ input);
      state = mixed;
    }
    // xoroshiro128+ must not start from the all-zero state.
    if ((words[0]! | words[1]! | words[2]! | words[3]!) === 0) words[0] = 1;
    return words;
  }
}
