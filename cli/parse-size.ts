/**
 * Sizes as the CLI takes them: `512`, `4KiB`, `64MiB`, `1GiB`, `16TiB`
 * (binary units, optional `B`), and plain counts. Errors name the text and
 * the accepted forms.
 */
import { UsageError } from './cli-io.js';
import { quoteValue } from './quote-value.js';

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 2 ** 10,
  kib: 2 ** 10,
  m: 2 ** 20,
  mib: 2 ** 20,
  g: 2 ** 30,
  gib: 2 ** 30,
  t: 2 ** 40,
  tib: 2 ** 40,
  p: 2 ** 50,
  pib: 2 ** 50,
};

/** Bytes for a size like `64MiB`. */
export function parseSizeBytes(text: string, what: string): number {
  const match = /^(\d+)\s*([A-Za-z]*)$/.exec(text.trim());
  const multiplier = match === null ? undefined : UNITS[match[2]!.toLowerCase()];
  if (match === null || multiplier === undefined) {
    throw new UsageError(
      `Invalid ${what} ${quoteValue(text)}: expected a number with an optional unit (512, 4KiB, 64MiB, 1GiB, 16TiB)`,
    );
  }
  const bytes = Number(match[1]) * multiplier;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new UsageError(
      `Invalid ${what} ${quoteValue(text)}: expected a positive size below 2^53 bytes`,
    );
  }
  return bytes;
}

/** Sectors for a size that must be whole 512-byte sectors. */
export function parseSizeSectors(text: string, what: string): number {
  const bytes = parseSizeBytes(text, what);
  if (bytes % 512 !== 0) {
    throw new UsageError(`Invalid ${what} ${quoteValue(text)}: expected a multiple of 512 bytes`);
  }
  return bytes / 512;
}

/**
 * A whole-number option such as `--ops`, from `minimum` (default 0) to
 * `maximum` (default 2^53 − 1); the message states the range.
 */
export function parseCount(
  text: string,
  what: string,
  options: { readonly minimum?: number; readonly maximum?: number } = {},
): number {
  const minimum = options.minimum ?? 0;
  const maximum = options.maximum ?? Number.MAX_SAFE_INTEGER;
  const value = /^\d{1,16}$/.test(text) ? Number(text) : Number.NaN;
  if (!(Number.isSafeInteger(value) && value >= minimum && value <= maximum)) {
    const range =
      maximum === Number.MAX_SAFE_INTEGER
        ? `a whole number ≥ ${minimum}`
        : `a whole number from ${minimum} to ${maximum}`;
    throw new UsageError(`Invalid ${what} ${quoteValue(text)}: expected ${range}`);
  }
  return value;
}

/** `1048576` → `1 MiB`, for people. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = Number.isInteger(value) ? String(value) : value.toFixed(1);
  return `${text} ${units[unit]}`;
}
