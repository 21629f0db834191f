/**
 * A 64-bit hash of each 512-byte sector, as two independent 32-bit
 * murmur-style lanes: what the content oracle remembers of every sector a
 * client wrote. Two lanes make an accidental match between two different
 * contents of one sector a 2^-64 event. Runs on every written byte, so it
 * reads aligned little-endian words in place and allocates only the result.
 */
import { SECTOR_SIZE_BYTES } from '../../../src/block/sector.js';

const WORDS_PER_SECTOR = SECTOR_SIZE_BYTES / 4;
const PLATFORM_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const SCRATCH = new Uint32Array(WORDS_PER_SECTOR);
const SCRATCH_BYTES = new Uint8Array(SCRATCH.buffer);

/** Two words per sector of `data` (whole sectors): high lane, low lane. */
export function sectorHashes(data: Uint8Array): Uint32Array {
  const hashes = new Uint32Array((2 * data.length) / SECTOR_SIZE_BYTES);
  sectorHashesInto(data, hashes, 0);
  return hashes;
}

/** Writes two words per sector of `data` into `target` from word `targetOffset`. */
export function sectorHashesInto(
  data: Uint8Array,
  target: Uint32Array,
  targetOffset: number,
): void {
  const sectors = data.length / SECTOR_SIZE_BYTES;
  const aligned = PLATFORM_LITTLE_ENDIAN && data.byteOffset % 4 === 0;
  const words = aligned ? new Uint32Array(data.buffer, data.byteOffset, data.length / 4) : null;
  for (let sector = 0; sector < sectors; sector++) {
    let source: Uint32Array;
    let base: number;
    if (words !== null) {
      source = words;
      base = sector * WORDS_PER_SECTOR;
    } else {
      copyWords(data, sector * SECTOR_SIZE_BYTES);
      source = SCRATCH;
      base = 0;
    }
    let lane1 = 0x9e3779b9;
    let lane2 = 0x85ebca6b;
    for (let index = base; index < base + WORDS_PER_SECTOR; index++) {
      const word = source[index]!;
      lane1 = Math.imul(lane1 ^ word, 0xcc9e2d51);
      lane1 = (lane1 << 15) | (lane1 >>> 17);
      lane2 = Math.imul(lane2 + word, 0x1b873593);
      lane2 = (lane2 << 13) | (lane2 >>> 19);
    }
    target[targetOffset + 2 * sector] = finalMix(lane1 ^ 0x2545f491);
    target[targetOffset + 2 * sector + 1] = finalMix(lane2 ^ 0x6a09e667);
  }
}

/** Whether a 512-byte sector is all zeros. */
export function isZeroSector(bytes: Uint8Array): boolean {
  for (let index = 0; index < bytes.length; index++) if (bytes[index] !== 0) return false;
  return true;
}

function copyWords(data: Uint8Array, from: number): void {
  if (PLATFORM_LITTLE_ENDIAN) {
    SCRATCH_BYTES.set(data.subarray(from, from + SECTOR_SIZE_BYTES));
    return;
  }
  for (let word = 0; word < WORDS_PER_SECTOR; word++) {
    const at = from + 4 * word;
    SCRATCH[word] =
      (data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16) | (data[at + 3]! << 24)) >>> 0;
  }
}

function finalMix(value: number): number {
  let hash = value;
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  return (hash ^ (hash >>> 16)) >>> 0;
}
