/**
 * Linux errno values, negated as kernel functions return them. Only the
 * ones the modelled code paths use.
 */
export const ESRCH = -3;
export const EIO = -5;
export const EAGAIN = -11;
/** The same value as EAGAIN on Linux. */
export const EWOULDBLOCK = -11;
export const ENOMEM = -12;
export const EEXIST = -17;
export const EINVAL = -22;
export const ENOSPC = -28;
export const EBADE = -52;
export const ENOENT = -2;
export const EOPNOTSUPP = -95;

const NAMES = new Map<number, string>([
  [ESRCH, 'ESRCH'],
  [EIO, 'EIO'],
  [EAGAIN, 'EAGAIN'],
  [ENOMEM, 'ENOMEM'],
  [EEXIST, 'EEXIST'],
  [EINVAL, 'EINVAL'],
  [ENOSPC, 'ENOSPC'],
  [EBADE, 'EBADE'],
  [ENOENT, 'ENOENT'],
  [EOPNOTSUPP, 'EOPNOTSUPP'],
]);

/** `-5` → `"EIO"`; unknown values print as numbers. */
export function errnoName(value: number): string {
  return NAMES.get(value) ?? String(value);
}
