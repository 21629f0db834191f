/**
 * The steps every crash test shares, from the moment the world stops to
 * the moment recovery is done: crash every device (each keeping its own
 * strategy-chosen subset of what was not durable), tell the oracle, boot a
 * fresh stack over the surviving images, resume it, and check invariant 3
 * (every region whose legs differ is out of sync) before recovery changes
 * anything; then let recovery run until the mirror is in sync and idle.
 * `mirrorsim run` and the crash-consistency commands both go through here.
 */
import type { CrashStrategy } from '../../src/block/crash-state.js';
import type { SimulatedDevice } from '../../src/block/simulated-device.js';
import type { MirrorSet } from '../../src/mirror/mirror-set.js';
import type { MirrorChecker } from '../check/mirror-checker.js';
import type { MirrorStack } from '../mirror-stack.js';
import type { TrackedWrite, WriteHistory } from '../oracle/write-history.js';
import { runTask } from '../run-task.js';
import { StepLimitError } from '../scheduler.js';
import type { World, WorldCrashReport } from '../world.js';

/** One strategy for every device, or one chosen per device. */
export type CrashStrategyChoice = CrashStrategy | ((device: SimulatedDevice) => CrashStrategy);

/** What a crash acts on, and how the machine boots again. */
export interface CrashRebootInput {
  readonly world: World;
  /** The stack that was running; its table is rebooted unless `reboot` says otherwise. */
  readonly stack: MirrorStack;
  readonly checker: MirrorChecker;
  readonly history: WriteHistory;
  readonly strategy: CrashStrategyChoice;
  /** Builds the stack the machine boots (default: the same table, `stack.reboot()`). */
  readonly reboot?: () => MirrorStack;
  /** Called with every device as the crash left it, before the reboot. */
  readonly onCrashImages?: (devices: readonly SimulatedDevice[]) => void;
  /** The only regions whose legs may differ, when the caller tracks them (spares a full scan). */
  readonly mayDiffer?: () => Iterable<number>;
  /** Regions whose legs the caller already knows may differ legitimately (exempt from invariant 3). */
  readonly exempt?: Iterable<number>;
}

/** What the crash left and the booted stack. */
export interface CrashRebootResult {
  /** The booted stack, resumed; recovery has not run yet. */
  readonly stack: MirrorStack;
  readonly crash: WorldCrashReport;
  /** Writes the crash made indeterminate (in flight, or acknowledged and not durable). */
  readonly indeterminate: readonly TrackedWrite[];
  /** Regions of discards a crash may have half-applied: exempt from invariant 3 (§4.8). */
  readonly exempt: ReadonlySet<number>;
  /** `get_sync_count` right after the resume. */
  readonly syncCountAtResume: number;
}

/**
 * Crash → oracle → reboot → resume → invariant 3 (skipped for a `nosync`
 * table, which ignores the on-disk log by design, §2.5 §5.5).
 */
export function crashRebootResume(input: CrashRebootInput): CrashRebootResult {
  const { world, checker, history } = input;
  const crash = world.crash(input.strategy);
  const indeterminate = history.crash();
  input.onCrashImages?.(world.devices);
  const stack = input.reboot === undefined ? input.stack.reboot() : input.reboot();
  stack.activate();
  checker.setStack(stack);
  const exempt = discardRegions(history, stack.mirror.rh.regionSizeSectors);
  for (const region of input.exempt ?? []) exempt.add(region);
  if (checker.logSyncMode !== 'nosync') {
    checker.checkAfterResume({
      exempt,
      ...(input.mayDiffer === undefined ? {} : { regions: input.mayDiffer() }),
    });
  }
  const syncCountAtResume = runTask(world.scheduler, stack.mirror.log.getSyncCount(), {
    what: 'get_sync_count',
  });
  return { stack, crash, indeterminate, exempt, syncCountAtResume };
}

/** Regions touched by discards a crash may have half-applied (not durable): exempt from invariant 3. */
export function discardRegions(history: WriteHistory, regionSizeSectors: number): Set<number> {
  const regions = new Set<number>();
  for (const discard of history.nonDurableDiscards()) {
    const first = Math.floor(discard.sector / regionSizeSectors);
    const last = Math.floor((discard.sector + discard.sectorCount - 1) / regionSizeSectors);
    for (let region = first; region <= last; region++) regions.add(region);
  }
  return regions;
}

/**
 * Runs until the mirror is in sync and nothing is left to do. Returns
 * false when the world went idle (or ran out of `stepsMax` events) first.
 */
export function settle(
  world: World,
  mirror: MirrorSet,
  options: { readonly stepsMax?: number } = {},
): boolean {
  const stepsMax = options.stepsMax ?? Number.MAX_SAFE_INTEGER;
  try {
    if (!world.scheduler.runUntil(() => mirror.inSync && mirror.idle, { stepsMax })) return false;
    world.scheduler.runUntilIdle({ stepsMax });
    return true;
  } catch (error) {
    if (error instanceof StepLimitError) return false;
    throw error;
  }
}
