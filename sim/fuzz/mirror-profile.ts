/**
 * What a crash-consistency scenario's mirror is: which dirty log, how many
 * legs, the table's sync mode and features, and whether devices have a
 * volatile write cache. The fault budget ({@link ./fault-budget.ts}) and
 * the crash expectations are functions of this, and so is the table line.
 */
import { TableError } from '../../src/table/table-error.js';

/** The log's sync argument: none (`default`), `sync` (resync all) or `nosync` (resync nothing). */
export type TableMode = 'default' | 'sync' | 'nosync';

/** The mirror target's features (§4.1): none, `handle_errors`, or `handle_errors keep_log`. */
export type FeatureSet = 'none' | 'handle_errors' | 'keep_log';

/** Every table mode. */
export const TABLE_MODES: readonly TableMode[] = ['default', 'sync', 'nosync'];
/** Every feature set. */
export const FEATURE_SETS: readonly FeatureSet[] = ['none', 'handle_errors', 'keep_log'];
/** Log types the crash-consistency suites build. */
export const FUZZ_LOG_TYPES = ['core', 'disk', 'userspace'] as const;
/** A log type the suites build. */
export type FuzzLogType = (typeof FUZZ_LOG_TYPES)[number];

/** The mirror a scenario builds (see the file comment). */
export interface MirrorProfile {
  readonly logType: FuzzLogType;
  readonly legCount: number;
  readonly tableMode: TableMode;
  readonly features: FeatureSet;
  /** Legs and log device have a volatile write cache (flush/FUA make writes durable). */
  readonly writeCache: boolean;
  /** `userspace` only: marks ride in the FLUSH request (`integrated_flush`, §2.2). */
  readonly integratedFlush: boolean;
}

/** The geometry of the target: region size and the target length, in sectors. */
export interface MirrorGeometry {
  readonly regionSizeSectors: number;
  readonly lengthSectors: number;
}

/** The userspace log's UUID in every table the suites build. */
export const FUZZ_USERSPACE_UUID = 'fuzz-uuid';

/** The log device's name in every table the suites build. */
export const FUZZ_LOG_DEVICE = 'log0';

/** `leg0`, `leg1`, …: the legs' device names, in their original table order. */
export function legNames(legCount: number): string[] {
  return Array.from({ length: legCount }, (_, index) => `leg${index}`);
}

/**
 * The table line for a profile, with the legs in `legOrder` (the first one
 * is the default leg and the recovery source) and `mode` overriding the
 * profile's sync mode (a repair that re-adds a leg forces a full resync).
 */
export function profileTable(
  profile: MirrorProfile,
  geometry: MirrorGeometry,
  options: { readonly legOrder?: readonly string[]; readonly mode?: TableMode } = {},
): string {
  const legs = options.legOrder ?? legNames(profile.legCount);
  if (legs.length < 2 || legs.length > 9) {
    throw new TableError(`A mirror needs 2 to 9 legs, got ${legs.length}`);
  }
  const mode = options.mode ?? profile.tableMode;
  const region = String(geometry.regionSizeSectors);
  const syncWords = mode === 'default' ? [] : [mode];
  let logArgs: string[];
  switch (profile.logType) {
    case 'core':
      logArgs = [region, ...syncWords];
      break;
    case 'disk':
      logArgs = [FUZZ_LOG_DEVICE, region, ...syncWords];
      break;
    case 'userspace':
      logArgs = [
        FUZZ_USERSPACE_UUID,
        ...(profile.integratedFlush ? ['integrated_flush'] : []),
        'disk',
        FUZZ_LOG_DEVICE,
        region,
        ...syncWords,
      ];
      break;
  }
  const features =
    profile.features === 'none'
      ? ''
      : profile.features === 'handle_errors'
        ? ' 1 handle_errors'
        : ' 2 handle_errors keep_log';
  const legText = legs.map((name) => `${name} 0`).join(' ');
  return `0 ${geometry.lengthSectors} mirror ${profile.logType} ${logArgs.length} ${logArgs.join(' ')} ${legs.length} ${legText}${features}`;
}

/** A short name for reports: `disk/3 legs/nosync/handle_errors/cache`. */
export function describeProfile(profile: MirrorProfile): string {
  const parts = [profile.logType, `${profile.legCount} legs`, profile.tableMode, profile.features];
  if (profile.logType === 'userspace' && profile.integratedFlush) parts.push('integrated_flush');
  parts.push(profile.writeCache ? 'cache' : 'no cache');
  return parts.join('/');
}
