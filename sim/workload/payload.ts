/**
 * Stamped write data: every 512-byte sector a workload writes says which
 * write put it there, so the crash-consistency oracle can name the write
 * behind any sector it reads back, and can tell a sector that is neither
 * zeros nor one write's whole stamp (torn, corrupt or misdirected).
 *
 * A sector is 128 little-endian 32-bit words:
 *
 * | words  | content                                                         |
 * |--------|-----------------------------------------------------------------|
 * | 0      | {@link STAMP_MAGIC}                                              |
 * | 1, 2   | writeId, low 32 bits then high 21 bits                           |
 * | 3, 4   | the sector this copy was written to, low then high bits          |
 * | 5      | a checksum of words 0 to 4                                       |
 * | 6–127  | fill: seed + i × 0x9e3779b9 for word i, seed a hash of words 1–4 |
 *
 * The fill is a pure function of the header, so the reader checks every
 * word without a checksum pass at write time, and a sector torn between two
 * writes (one's header, the other's tail) fails the fill check.
 *
 * @example
 * ```ts
 * const data = stampWriteData(7, 2048, 8);
 * readStamp(data.subarray(512, 1024), 2049); // { kind: 'stamp', writeId: 7 }
 * ```
 */
import { assert } from '../../src/assert.js';
import { SECTOR_SIZE_BYTES } from '../../src/block/sector.js';

/** The first word of every stamped sector ("MSST" read as big-endian ASCII). */
export const STAMP_MAGIC = 0x4d535354;
/** The largest write {@link stampWriteData} builds: 1 GiB. */
export const STAMP_SECTOR_COUNT_MAX = 2 ** 21;

/** What one sector read back holds. */
export type StampReading =
  | { readonly kind: 'zero' }
  | { readonly kind: 'stamp'; readonly writeId: number }
  | { readonly kind: 'foreign'; readonly reason: string };

const WORDS_PER_SECTOR = SECTOR_SIZE_BYTES / 4;
const HEADER_WORDS = 6;
const FILL_STEP = 0x9e3779b9;
const TWO_TO_32 = 0x1_0000_0000;
const ZERO_READING: StampReading = { kind: 'zero' };

/** Whether a Uint32Array view stores words little-endian, as the stamp format wants. */
const PLATFORM_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * The data for write `writeId` of `sectorCount` sectors at `sector`: each
 * sector stamped with the write, its own sector number and the fill.
 */
export function stampWriteData(writeId: number, sector: number, sectorCount: number): Uint8Array {
  checkIdentity('writeId', writeId);
  checkIdentity('sector', sector);
  if (
    !Number.isSafeInteger(sectorCount) ||
    sectorCount < 1 ||
    sectorCount > STAMP_SECTOR_COUNT_MAX
  ) {
    throw new RangeError(
      `Stamp sector count ${sectorCount} is not valid: expected an integer from 1 to ${STAMP_SECTOR_COUNT_MAX}`,
    );
  }
  if (!Number.isSafeInteger(sector + sectorCount)) {
    throw new RangeError(`Stamp range at sector ${sector} of ${sectorCount} sectors overflows`);
  }
  const bytes = new Uint8Array(sectorCount * SECTOR_SIZE_BYTES);
  if (PLATFORM_LITTLE_ENDIAN) {
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    for (let index = 0; index < sectorCount; index++) {
      stampSector(words, index * WORDS_PER_SECTOR, writeId, sector + index);
    }
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const words = new Uint32Array(WORDS_PER_SECTOR);
    for (let index = 0; index < sectorCount; index++) {
      stampSector(words, 0, writeId, sector + index);
      for (let word = 0; word < WORDS_PER_SECTOR; word++) {
        view.setUint32((index * WORDS_PER_SECTOR + word) * 4, words[word]!, true);
      }
    }
  }
  return bytes;
}

/**
 * Reads one 512-byte sector that was read back from `expectedSector`:
 * all zeros, a valid stamp for that sector (and which write made it), or
 * foreign with the first reason found.
 */
export function readStamp(sectorBytes: Uint8Array, expectedSector: number): StampReading {
  if (sectorBytes.length !== SECTOR_SIZE_BYTES) {
    throw new RangeError(
      `Stamp reading needs exactly ${SECTOR_SIZE_BYTES} bytes, got ${sectorBytes.length}`,
    );
  }
  checkIdentity('expected sector', expectedSector);
  const words = sectorWords(sectorBytes);
  if (isAllZero(words)) return ZERO_READING;
  const magic = words[0]!;
  if (magic !== STAMP_MAGIC) {
    return foreign(`no stamp magic (first word 0x${hex(magic)}, expected 0x${hex(STAMP_MAGIC)})`);
  }
  const idLow = words[1]!;
  const idHigh = words[2]!;
  const sectorLow = words[3]!;
  const sectorHigh = words[4]!;
  const checksum = headerChecksum(idLow, idHigh, sectorLow, sectorHigh);
  if (words[5] !== checksum || idHigh >= 2 ** 21 || sectorHigh >= 2 ** 21) {
    return foreign('the stamp header is corrupt (checksum mismatch)');
  }
  const writeId = idHigh * TWO_TO_32 + idLow;
  const stampedSector = sectorHigh * TWO_TO_32 + sectorLow;
  if (stampedSector !== expectedSector) {
    return foreign(
      `misdirected: write ${writeId}'s stamp for sector ${stampedSector} read at sector ${expectedSector}`,
    );
  }
  let expected = fillWord(fillSeed(idLow, idHigh, sectorLow, sectorHigh), HEADER_WORDS);
  for (let word = HEADER_WORDS; word < WORDS_PER_SECTOR; word++) {
    if (words[word] !== expected) {
      return foreign(`torn or corrupt: fill word ${word} differs from write ${writeId}'s stamp`);
    }
    expected = (expected + FILL_STEP) >>> 0;
  }
  return { kind: 'stamp', writeId };
}

/** Scratch words for sectors that cannot be viewed in place (no allocation per read). */
const SCRATCH_WORDS = new Uint32Array(WORDS_PER_SECTOR);
const SCRATCH_BYTES = new Uint8Array(SCRATCH_WORDS.buffer);

/**
 * The sector as 128 little-endian words: a view when the bytes are 4-aligned
 * on a little-endian platform (the common case, a sector of a read buffer),
 * otherwise a copy into scratch space that is valid until the next call.
 */
function sectorWords(sectorBytes: Uint8Array): Uint32Array {
  if (PLATFORM_LITTLE_ENDIAN) {
    if (sectorBytes.byteOffset % 4 === 0) {
      return new Uint32Array(sectorBytes.buffer, sectorBytes.byteOffset, WORDS_PER_SECTOR);
    }
    SCRATCH_BYTES.set(sectorBytes);
    return SCRATCH_WORDS;
  }
  for (let word = 0; word < WORDS_PER_SECTOR; word++) {
    const offset = word * 4;
    SCRATCH_WORDS[word] =
      sectorBytes[offset]! |
      (sectorBytes[offset + 1]! << 8) |
      (sectorBytes[offset + 2]! << 16) |
      (sectorBytes[offset + 3]! << 24);
  }
  return SCRATCH_WORDS;
}

/** Writes one stamped sector into `words` from word `base`. */
function stampSector(words: Uint32Array, base: number, writeId: number, sector: number): void {
  const idLow = writeId % TWO_TO_32;
  const idHigh = Math.floor(writeId / TWO_TO_32);
  const sectorLow = sector % TWO_TO_32;
  const sectorHigh = Math.floor(sector / TWO_TO_32);
  words[base] = STAMP_MAGIC;
  words[base + 1] = idLow;
  words[base + 2] = idHigh;
  words[base + 3] = sectorLow;
  words[base + 4] = sectorHigh;
  words[base + 5] = headerChecksum(idLow, idHigh, sectorLow, sectorHigh);
  // Stepping the fill by addition gives the same words as fillWord, without a multiply.
  let fill = fillWord(fillSeed(idLow, idHigh, sectorLow, sectorHigh), HEADER_WORDS);
  const end = base + WORDS_PER_SECTOR;
  for (let index = base + HEADER_WORDS; index < end; index++) {
    words[index] = fill;
    fill = (fill + FILL_STEP) | 0;
  }
}

function fillWord(seed: number, word: number): number {
  return (seed + Math.imul(word, FILL_STEP)) >>> 0;
}

function headerChecksum(idLow: number, idHigh: number, sectorLow: number, sectorHigh: number) {
  return mix4(0x2545f491, idLow, idHigh, sectorLow, sectorHigh);
}

function fillSeed(idLow: number, idHigh: number, sectorLow: number, sectorHigh: number): number {
  return mix4(0x6a09e667, idLow, idHigh, sectorLow, sectorHigh);
}

/** A murmur3-style hash of four words under a domain constant (no allocation: it runs per sector). */
function mix4(domain: number, a: number, b: number, c: number, d: number): number {
  let hash = mixWord(mixWord(mixWord(mixWord(domain, a), b), c), d);
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  return (hash ^ (hash >>> 16)) >>> 0;
}

function mixWord(hash: number, word: number): number {
  let k = Math.imul(word, 0xcc9e2d51);
  k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
  const mixed = hash ^ k;
  return (Math.imul((mixed << 13) | (mixed >>> 19), 5) + 0xe6546b64) | 0;
}

function isAllZero(words: Uint32Array): boolean {
  for (let word = 0; word < WORDS_PER_SECTOR; word++) {
    if (words[word] !== 0) return false;
  }
  return true;
}

function checkIdentity(what: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`Stamp ${what} ${value} is not valid: expected an integer ≥ 0`);
  }
}

function foreign(reason: string): StampReading {
  assert(reason.length > 0, 'a foreign reading needs a reason');
  return { kind: 'foreign', reason };
}

function hex(word: number): string {
  return word.toString(16).padStart(8, '0');
}
