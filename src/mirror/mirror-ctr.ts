/**
 * `mirror_ctr` (dm-raid1.c): builds a mirror set from its table arguments
 * with every validation of reference dm-mirror.md §4.1, in the kernel's
 * order: the dirty log is created first (so its errors come first), then
 * the mirror count, the legs, the features, and a check for leftovers.
 */
import type { BlockDevice } from '../block/block-device.js';
import { spawn } from '../concurrency/blocking.js';
import type { DirtyLog } from '../log/dirty-log.js';
import { createDirtyLog } from '../log/registry.js';
import type { UlogTransfer } from '../log/userspace/ulog-transfer.js';
import { parseU32, parseUnsigned } from '../table/table-args.js';
import { TableError } from '../table/table-error.js';
import type { Scheduler } from '../world/scheduler.js';
import { Leg } from './leg.js';
import { type MirrorFeatures, MirrorSet } from './mirror-set.js';

/** `MAX_NR_MIRRORS` = `DM_KCOPYD_MAX_REGIONS + 1`. */
export const MAX_NR_MIRRORS = 9;

/** What a device named in the table is for. */
export type DeviceRole = 'leg' | 'log';

export interface MirrorTargetContext {
  readonly scheduler: Scheduler;
  /** `ti->len`. */
  readonly lengthSectors: number;
  /**
   * `dm_get_device`. `minimumSizeSectors` says how much of the device the
   * table needs, so a simulator can create missing devices at that size.
   */
  readonly getDevice: (name: string, minimumSizeSectors: number, role: DeviceRole) => BlockDevice;
  /** `dm_table_event`. */
  readonly raiseEvent: (reason: string) => void;
  /** `raid1_resync_throttle` (module parameter), percent. */
  readonly resyncThrottlePercent?: number;
  /** Beyond Linux: the mirror set's sparse resync (src/mirror/sparse-resync.ts); default off. */
  readonly sparseResync?: boolean;
  /** The userspace-log transfer layer a `userspace` log reaches its daemon through. */
  readonly userspaceTransfer?: () => UlogTransfer;
}

/** Builds a `mirror` target from the words after `mirror` on a table line. */
export function createMirrorTarget(
  args: readonly string[],
  context: MirrorTargetContext,
): MirrorSet {
  let mirrorSet: MirrorSet | undefined;
  const { log, argsUsed } = createLogFromArgs(args, context, () => {
    if (mirrorSet === undefined)
      throw new TableError('The log flushed before the mirror was built');
    return mirrorSet.mirrorFlush();
  });
  try {
    let rest = args.slice(argsUsed);
    const mirrorCount = parseMirrorCount(rest[0]);
    rest = rest.slice(1);
    if (rest.length < mirrorCount * 2) {
      throw new TableError(
        `Too few mirror arguments: ${mirrorCount} mirrors need ${mirrorCount * 2} words (<device> <offset> each), got ${rest.length}`,
      );
    }
    const legs: Leg[] = [];
    for (let index = 0; index < mirrorCount; index++) {
      legs.push(getMirror(index, rest[index * 2]!, rest[index * 2 + 1]!, context));
    }
    rest = rest.slice(mirrorCount * 2);
    const { features, featureArgsUsed } = parseFeatures(rest);
    rest = rest.slice(featureArgsUsed);
    if (rest.length > 0) {
      throw new TableError(
        `Too many mirror arguments: unexpected "${rest.join(' ')}" after the features`,
      );
    }
    mirrorSet = new MirrorSet({
      scheduler: context.scheduler,
      lengthSectors: context.lengthSectors,
      log,
      legs,
      features,
      raiseEvent: context.raiseEvent,
      // Stryker disable next-line ConditionalExpression: equivalent — "false" passes undefined, which MirrorSet reads as 100 (?? 100); "true" dies in mirror-recovery.test.ts
      ...(context.resyncThrottlePercent === undefined
        ? {}
        : { resyncThrottlePercent: context.resyncThrottlePercent }),
      ...(context.sparseResync === undefined ? {} : { sparseResync: context.sparseResync }),
    });
    return mirrorSet;
  } catch (error) {
    // `dm_dirty_log_destroy` on every error path after the log exists.
    spawn(log.destroy(), () => {});
    throw error;
  }
}

/** `create_dirty_log`. */
function createLogFromArgs(
  args: readonly string[],
  context: MirrorTargetContext,
  flushCallback: () => ReturnType<MirrorSet['mirrorFlush']>,
): { log: DirtyLog; argsUsed: number } {
  if (args.length < 2) {
    throw new TableError(
      'Insufficient mirror log arguments: expected "<log type> <#log args> <log args…>"',
    );
  }
  const logType = args[0]!;
  const paramCount = parseU32(args[1], 'mirror log argument count');
  const argsUsed = 2 + paramCount;
  if (args.length < argsUsed) {
    throw new TableError(
      `Insufficient mirror log arguments: log "${logType}" declares ${paramCount} arguments but ${args.length - 2} follow`,
    );
  }
  const log = createDirtyLog(
    logType,
    {
      scheduler: context.scheduler,
      targetLengthSectors: context.lengthSectors,
      flushCallback,
      getDevice: (name, minimumSizeSectors = 1) =>
        context.getDevice(name, minimumSizeSectors, 'log'),
      raiseEvent: context.raiseEvent,
      // Stryker disable next-line ConditionalExpression: equivalent — "false" passes undefined, and the one reader (the userspace log) tests it against undefined; "true" dies in mirror-ctr.test.ts
      ...(context.userspaceTransfer === undefined
        ? {}
        : { userspaceTransfer: context.userspaceTransfer }),
    },
    args.slice(2, argsUsed),
  );
  return { log, argsUsed };
}

function parseMirrorCount(text: string | undefined): number {
  if (text === undefined || !/^\d+$/.test(text)) {
    throw new TableError(
      `Invalid number of mirrors "${text ?? ''}": expected 2 to ${MAX_NR_MIRRORS}`,
    );
  }
  const count = Number(text);
  if (count < 2 || count > MAX_NR_MIRRORS) {
    throw new TableError(`Invalid number of mirrors "${text}": expected 2 to ${MAX_NR_MIRRORS}`);
  }
  return count;
}

/** `get_mirror`: one `<device> <offset>` pair. */
function getMirror(
  index: number,
  deviceName: string,
  offsetText: string,
  context: MirrorTargetContext,
): Leg {
  if (!/^\d+$/.test(offsetText) || !Number.isSafeInteger(Number(offsetText))) {
    throw new TableError(
      `Invalid offset "${offsetText}" for mirror ${index}: expected a sector number`,
    );
  }
  // Stryker disable next-line StringLiteral: equivalent — the test above refuses every text parseUnsigned would, so this label never reaches a message
  const offsetSectors = parseUnsigned(offsetText, `offset of mirror ${index}`);
  const neededSectors = offsetSectors + context.lengthSectors;
  const device = context.getDevice(deviceName, neededSectors, 'leg');
  if (device.sizeSectors < neededSectors) {
    throw new TableError(
      `Device "${deviceName}" is too small for the target: needs offset ${offsetSectors} + length ${context.lengthSectors} = ${neededSectors} sectors, has ${device.sizeSectors}`,
    );
  }
  return new Leg(index, device, offsetSectors);
}

/** `parse_features`. */
function parseFeatures(args: readonly string[]): {
  features: MirrorFeatures;
  featureArgsUsed: number;
} {
  if (args.length === 0)
    return { features: { handleErrors: false, keepLog: false }, featureArgsUsed: 0 };
  const countText = args[0]!;
  if (!/^\d+$/.test(countText)) {
    throw new TableError(`Invalid number of features "${countText}": expected an unsigned integer`);
  }
  const count = Number(countText);
  if (count > args.length - 1) {
    throw new TableError(
      `Not enough arguments to support feature count ${count}: only ${args.length - 1} follow`,
    );
  }
  let handleErrors = false;
  let keepLog = false;
  for (const feature of args.slice(1, 1 + count)) {
    if (feature === 'handle_errors') handleErrors = true;
    else if (feature === 'keep_log') keepLog = true;
    else {
      throw new TableError(
        `Unrecognised feature requested "${feature}": expected handle_errors or keep_log`,
      );
    }
  }
  if (keepLog && !handleErrors) {
    throw new TableError('keep_log feature requires the handle_errors feature');
  }
  return { features: { handleErrors, keepLog }, featureArgsUsed: 1 + count };
}
