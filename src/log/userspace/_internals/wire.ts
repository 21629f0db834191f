/**
 * Byte-level helpers shared by the ulog codec. The link is host-native and
 * the simulator models a little-endian host (§1.1), so every multi-byte
 * field is read and written little-endian.
 */

/** Byte order of every field on the kernel ⇄ daemon link. */
export const LITTLE_ENDIAN = true;

export const U32_MAX = 0xffff_ffff;
export const S32_MIN = -0x8000_0000;
export const S32_MAX = 0x7fff_ffff;
export const U64_MAX = (1n << 64n) - 1n;
export const S64_MIN = -(1n << 63n);
export const S64_MAX = (1n << 63n) - 1n;

/** A DataView over exactly the given bytes (honouring a subarray's offset). */
export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** `0x1f`-style rendering of one byte, for messages. */
export function hexByte(value: number): string {
  return `0x${value.toString(16).padStart(2, '0')}`;
}

/** A short quoted preview of text for messages, so a hostile string cannot flood a log. */
export function quotePreview(text: string, charsMax = 40): string {
  const shown = text.length > charsMax ? `${text.slice(0, charsMax)}…` : text;
  return JSON.stringify(shown);
}

/** True for printable ASCII, space included (0x20–0x7e). */
export function isPrintableAscii(code: number): boolean {
  return code >= 0x20 && code <= 0x7e;
}

/** True for printable ASCII other than space (0x21–0x7e): the characters of one table word. */
export function isWordChar(code: number): boolean {
  return code >= 0x21 && code <= 0x7e;
}

/** Index of the first character of `text` that fails `accept`, or -1. */
export function firstRejectedChar(text: string, accept: (code: number) => boolean): number {
  for (let index = 0; index < text.length; index++) {
    if (!accept(text.charCodeAt(index))) return index;
  }
  return -1;
}

/** Bytes of an ASCII string whose characters the caller has already checked. */
export function asciiBytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  // Stryker disable next-line EqualityOperator: equivalent — a write past the end is ignored
  for (let index = 0; index < text.length; index++) bytes[index] = text.charCodeAt(index);
  return bytes;
}

/** The string of bytes the caller has already checked to be ASCII. */
export function asciiText(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return text;
}
