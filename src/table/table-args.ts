/**
 * Strict parsing of table arguments, as the kernel's `sscanf("%u%c")` and
 * `dm_read_arg` do: digits only, nothing trailing, within range.
 */
import { TableError } from './table-error.js';

const U32_MAX = 0xffff_ffff;

/** A decimal unsigned integer with no sign, spaces or trailing characters. */
export function parseUnsigned(
  text: string | undefined,
  what: string,
  maximum = Number.MAX_SAFE_INTEGER,
): number {
  if (text === undefined) throw new TableError(`Missing ${what}: expected an unsigned integer`);
  if (!/^\d+$/.test(text))
    throw new TableError(`Invalid ${what} "${text}": expected an unsigned integer`);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value > maximum) {
    throw new TableError(`Invalid ${what} "${text}": expected at most ${maximum}`);
  }
  return value;
}

export function parseU32(text: string | undefined, what: string): number {
  return parseUnsigned(text, what, U32_MAX);
}

/** Splits a table line into words the way dm's `dm_split_args` does (whitespace-separated). */
export function splitTableWords(line: string): string[] {
  return line
    .trim()
    .split(/\s+/)
    .filter((word) => word.length > 0);
}
