/**
 * cmirrord's constructor argument parsing, `clog_ctr` and `_clog_ctr`
 * (reference userspace-and-cluster-logs.md §2.1, §4.2, §4.7). The CTR
 * string is `<device length> clustered-core <region_size> [sync|nosync]
 * [block_on_error]` or `<device length> clustered-disk <dev>
 * <region_size> …`.
 */
import { EINVAL } from '../../errno.js';

/** `enum sync`. */
export type ClogSync = 'default' | 'nosync' | 'forcesync';

/** A parsed constructor. */
export interface ClogCtrArgs {
  readonly logType: 'clustered-core' | 'clustered-disk';
  /** The log device as named (`clustered-disk` only). */
  readonly device: string | null;
  /** `lc->region_size`, a u32. */
  readonly regionSizeSectors: number;
  /** `ceil(device_size / region_size)`. */
  readonly regionCount: number;
  readonly sync: ClogSync;
  readonly blockOnError: boolean;
  /** The device length in sectors. */
  readonly deviceSizeSectors: bigint;
}

/** A refused constructor: cmirrord's errno and its log line. */
export interface ClogCtrRefusal {
  readonly error: number;
  readonly message: string;
}

const U64 = 1n << 64n;

/**
 * C's `strtoll(text, &end, 0)` with `*end == '\0'` required: optional
 * space and sign, then `0x` hex, a leading-0 octal, or decimal. Null when
 * the text does not parse to its end; the value as a u64 bit pattern
 * otherwise (cmirrord stores it in a `uint64_t`). Out-of-range values
 * saturate as strtoll's do.
 */
export function parseStrtoll(text: string): bigint | null {
  const match = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(text);
  if (match === null) return null;
  const digits = match[2]!;
  let value = /^0[xX]/.test(digits)
    ? BigInt(digits)
    : digits.length > 1 && digits.startsWith('0')
      ? BigInt(`0o${digits.slice(1)}`)
      : BigInt(digits);
  const limit = (1n << 63n) - (match[1] === '-' ? 0n : 1n);
  if (value > limit) value = limit;
  if (match[1] === '-') value = -value;
  return BigInt.asUintN(64, value < 0n ? U64 + value : value);
}

/**
 * Parses a CTR string as `clog_ctr` then `_clog_ctr` check it, in their
 * order; a refusal carries cmirrord's errno and log line. Beyond cmirrord,
 * a region size that does not fit its u32 field or a region count over
 * `regionsMax` is refused (-EINVAL), so a hostile table cannot make the
 * simulator allocate a huge bitset.
 */
export function parseClogCtr(
  ctrString: string,
  options: { readonly regionsMax: number },
): ClogCtrArgs | ClogCtrRefusal {
  const [sizeWord = '', logType = '', ...argv] = ctrString.split(' ');
  if (logType !== 'clustered-disk' && logType !== 'clustered-core') {
    return refuse(`Unsupported userspace log type, "${logType}"`);
  }
  const deviceSize = parseStrtoll(sizeWord);
  if (deviceSize === null || deviceSize === 0n) {
    return refuse(`Invalid device size argument: ${sizeWord}`);
  }
  // The first argument decides: a whole non-zero number is a core log's region size.
  const first = parseStrtoll(argv[0] ?? '');
  const disk = first === null || first === 0n;
  const [countMin, countMax] = disk ? [2, 4] : [1, 3];
  if (argv.length < countMin || argv.length > countMax) {
    // cmirrord's own test for "few" is off by one (argc < 3 for disk, < 2 for core).
    const few = argv.length < countMin + 1;
    return refuse(`Too ${few ? 'few' : 'many'} arguments to ${logType} log type`);
  }
  const regionSize = parseStrtoll(argv[disk ? 1 : 0] ?? '');
  if (regionSize === null || regionSize === 0n) {
    return refuse(
      `Invalid region_size argument to ${disk ? 'clustered-disk' : 'clustered-core'} log type`,
    );
  }
  if (regionSize > 0xffff_ffffn) {
    return refuse(
      `Region size ${regionSize} does not fit lc->region_size (a u32): refused by the simulator`,
    );
  }
  const regionCount = (deviceSize + regionSize - 1n) / regionSize;
  if (regionCount > BigInt(options.regionsMax)) {
    return refuse(
      `Region count ${regionCount} exceeds the simulator's limit of ${options.regionsMax} regions`,
    );
  }
  let sync: ClogSync = 'default';
  let blockOnError = false;
  for (const arg of argv) {
    if (arg === 'sync') sync = 'forcesync';
    else if (arg === 'nosync') sync = 'nosync';
    else if (arg === 'block_on_error') blockOnError = true;
  }
  return {
    logType: disk ? 'clustered-disk' : 'clustered-core',
    device: disk ? (argv[0] ?? '') : null,
    regionSizeSectors: Number(regionSize),
    regionCount: Number(regionCount),
    sync,
    blockOnError,
    deviceSizeSectors: deviceSize,
  };
}

function refuse(message: string): ClogCtrRefusal {
  return { error: EINVAL, message };
}

/** Whether {@link parseClogCtr} refused. */
export function isClogCtrRefusal(result: ClogCtrArgs | ClogCtrRefusal): result is ClogCtrRefusal {
  return 'error' in result;
}
