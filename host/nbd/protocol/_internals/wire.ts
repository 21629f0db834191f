/**
 * Big-endian field writers for the NBD encoders, over plain Uint8Arrays
 * (no DataView per message), and the strict UTF-8 decoding every string
 * field goes through.
 */
import { assert } from '../../../../src/assert.js';

const TWO_TO_32 = 0x1_0000_0000;

/** Writes a big-endian u16. */
export function writeUint16(target: Uint8Array, offset: number, value: number): void {
  assert(Number.isInteger(value) && value >= 0 && value <= 0xffff, `u16 ${value} out of range`);
  target[offset] = value >>> 8;
  target[offset + 1] = value & 0xff;
}

/** Writes a big-endian u32. */
export function writeUint32(target: Uint8Array, offset: number, value: number): void {
  assert(Number.isInteger(value) && value >= 0 && value <= 0xffffffff, `u32 ${value} out of range`);
  target[offset] = value >>> 24;
  target[offset + 1] = (value >>> 16) & 0xff;
  target[offset + 2] = (value >>> 8) & 0xff;
  target[offset + 3] = value & 0xff;
}

/** A u64 from a safe integer (offsets and sizes below 2^53). */
export function writeUint64(target: Uint8Array, offset: number, value: number): void {
  assert(Number.isSafeInteger(value) && value >= 0, `u64 ${value} is not a safe integer ≥ 0`);
  writeUint32(target, offset, Math.floor(value / TWO_TO_32));
  writeUint32(target, offset + 4, value % TWO_TO_32);
}

/** The big-endian u16 at `offset`. */
export function readUint16(source: Uint8Array, offset: number): number {
  return (source[offset]! << 8) | source[offset + 1]!;
}

/** The big-endian u32 at `offset`. */
export function readUint32(source: Uint8Array, offset: number): number {
  return (
    ((source[offset]! << 24) |
      (source[offset + 1]! << 16) |
      (source[offset + 2]! << 8) |
      source[offset + 3]!) >>>
    0
  );
}

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true });

/** A string's UTF-8 bytes. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * A protocol string (§1): UTF-8 without NUL. Returns null when the bytes
 * are not valid UTF-8 or hold a NUL, so the caller answers with an error
 * instead of guessing.
 */
export function decodeProtocolString(bytes: Uint8Array): string | null {
  if (bytes.includes(0)) return null;
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return null;
  }
}
