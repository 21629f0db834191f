/**
 * A power cut under the served export, as `POST /power-cut` pulls it: the
 * world stops between two events (every request in flight is lost), each
 * device keeps what the chosen crash-state strategy keeps of its writes
 * that were not durable, the machine boots a fresh stack from the same
 * table over the surviving images, resumes it and lets recovery finish —
 * the same steps as `mirrorsim run` (sim/scenario/crash-flow.ts) — and then
 * the oracle judges every sector clients ever wrote: each write that was
 * acknowledged and made durable (FUA, or completed before a flush that
 * completed) must read back; every other sector must hold a value some
 * write may have left there (DESIGN.md invariant 5); sectors never written
 * read as zeros; the legs are identical (invariant 4) and invariant 3 held
 * at resume. The export is served again only after this, so the report is
 * final when the client can reconnect.
 */

import { differingRegions, type MirrorChecker } from '../../sim/check/mirror-checker.js';
import type { ViolationKind } from '../../sim/fuzz/fault-budget.js';
import type { MirrorStack } from '../../sim/mirror-stack.js';
import type { SectorViolation } from '../../sim/oracle/write-history.js';
import type { CrashStrategyChoice } from '../../sim/scenario/crash-flow.js';
import { crashRebootResume, settle } from '../../sim/scenario/crash-flow.js';
import { allows, runCrashExpectation } from '../../sim/scenario/run-scenario.js';
import type { World } from '../../sim/world.js';
import { SECTOR_SIZE_BYTES } from '../../src/block/sector.js';
import type { SimulatedDevice } from '../../src/block/simulated-device.js';
import { CHUNK_SECTORS } from '../../src/block/sparse-store.js';
import { isZeroSector } from './_internals/sector-hash.js';
import type { ContentOracle } from './content-oracle.js';
import type { OverlapTracker } from './overlap-tracker.js';

/** Violations listed in a report at most; the count is always exact. */
const VIOLATIONS_SHOWN_MAX = 20;
/** Resynced regions listed in a report at most. */
export const REGIONS_LISTED_MAX = 1024;
/** Recovery that needs more events than this is reported as not finished. */
const RECOVERY_EVENTS_MAX = 50_000_000;

/** What a power cut found. */
export interface PowerCutReport {
  /** 1 for the first power cut of this server, 2 for the next… */
  readonly number: number;
  readonly crashState: string;
  readonly crashStateId: string;
  /** Simulated time and simulation events at the cut. */
  readonly atTicks: number;
  readonly atEvent: number;
  /** Client requests that were in flight and are lost (their clients get no reply). */
  readonly requestsLost: number;
  readonly regions: number;
  /** Regions the log had out of sync when the rebooted stack resumed. */
  readonly dirtyRegionsAtCrash: number;
  readonly regionsResynced: number;
  /** The regions recovery copied, in order (the first {@link REGIONS_LISTED_MAX}). */
  readonly resyncedRegionList: readonly number[];
  readonly bytesResynced: number;
  /** Simulated time recovery took. */
  readonly recoveryTicks: number;
  readonly recovered: boolean;
  /** Sectors the oracle judged (every sector clients ever wrote or trimmed). */
  readonly sectorsChecked: number;
  readonly legsIdentical: boolean;
  /** Regions where concurrent overlapping writes may legitimately leave the legs apart. */
  readonly overlapRegions: number;
  readonly oracle: 'ok' | 'violated';
  /**
   * When every violation is one Linux itself allows after a crash of this
   * stack (a `nosync` table, a userspace log over cached legs), the
   * documented behaviour that explains them — as `mirrorsim run` judges
   * (sim/fuzz/fault-budget.ts); `oracle` is then `ok`. Null otherwise.
   * Faults injected with `fail` are not taken into account.
   */
  readonly expected: string | null;
  readonly violationCount: number;
  readonly violations: readonly string[];
  /** `dmsetup status` and `dmsetup table` of the rebooted stack, after recovery. */
  readonly statusInfo: string;
  readonly statusTable: string;
  /**
   * With `--record`: the command that replays the recorded requests, with a
   * crash, as a deterministic `mirrorsim run` (the clients' own timing is
   * not replayed, so the crash point differs). Null without a recording.
   */
  readonly replay: string | null;
}

/** What a power cut acts on. */
export interface PowerCutInput {
  readonly number: number;
  readonly world: World;
  readonly stack: MirrorStack;
  readonly checker: MirrorChecker;
  readonly oracle: ContentOracle;
  readonly overlap: OverlapTracker;
  readonly strategy: CrashStrategyChoice;
  readonly strategyName: string;
  readonly requestsLost: number;
  /** The devices have a volatile write cache (it decides what Linux promises for some logs). */
  readonly writeCache: boolean;
  /** The `replay` line of the report (see {@link PowerCutReport.replay}). */
  readonly replay: string | null;
}

/** Cuts the power, reboots, recovers and verifies; returns the booted stack and the report. */
export function powerCut(input: PowerCutInput): { stack: MirrorStack; report: PowerCutReport } {
  const { world, checker, oracle, overlap } = input;
  const violationsBefore = checker.violations.length;
  const after = crashRebootResume({
    world,
    stack: input.stack,
    checker,
    history: oracle.history,
    strategy: input.strategy,
    exempt: overlap.overlapRegions,
  });
  overlap.clearInFlight();
  const stack = after.stack;
  const mirror = stack.mirror;
  const resynced: number[] = [];
  mirror.onRegionRecovered = (region, success) => {
    if (!success) return;
    overlap.resynced(region);
    if (resynced.length < REGIONS_LISTED_MAX) resynced.push(region);
  };
  const recoveryStart = world.scheduler.now();
  const recovered = settle(world, mirror, { stepsMax: RECOVERY_EVENTS_MAX });
  const recoveryTicks = world.scheduler.now() - recoveryStart;
  const verdict = judge({
    stack,
    oracle,
    checker,
    overlap,
    violationsBefore,
    recovered,
    writeCache: input.writeCache,
  });
  const report: PowerCutReport = {
    number: input.number,
    crashState: input.strategyName,
    crashStateId: after.crash.stateId,
    atTicks: after.crash.atTicks,
    atEvent: after.crash.atStep,
    requestsLost: input.requestsLost,
    regions: mirror.regionCount,
    dirtyRegionsAtCrash: mirror.regionCount - after.syncCountAtResume,
    regionsResynced: mirror.stats.regionsRecovered,
    resyncedRegionList: resynced.sort((left, right) => left - right),
    bytesResynced: mirror.stats.sectorsResynced * SECTOR_SIZE_BYTES,
    recoveryTicks,
    recovered,
    sectorsChecked: verdict.sectorsChecked,
    legsIdentical: verdict.legsIdentical,
    overlapRegions: overlap.overlapRegions.size,
    oracle: verdict.found.length === 0 || verdict.expected !== null ? 'ok' : 'violated',
    expected: verdict.expected,
    violationCount: verdict.found.length,
    violations: verdict.found.slice(0, VIOLATIONS_SHOWN_MAX),
    statusInfo: stack.status('info'),
    statusTable: stack.status('table'),
    replay: input.replay,
  };
  return { stack, report };
}

/** What the checks after recovery found. */
interface Verdict {
  readonly found: string[];
  readonly sectorsChecked: number;
  readonly legsIdentical: boolean;
  readonly expected: string | null;
}

/**
 * Every check after recovery: the content oracle, legs identical (but for
 * regions concurrent overlapping writes may legitimately leave apart), the
 * white-box invariants found since the cut; then whether what Linux
 * documents for this stack explains all of it.
 */
function judge(input: {
  readonly stack: MirrorStack;
  readonly oracle: ContentOracle;
  readonly checker: MirrorChecker;
  readonly overlap: OverlapTracker;
  readonly violationsBefore: number;
  readonly recovered: boolean;
  readonly writeCache: boolean;
}): Verdict {
  const { stack, checker } = input;
  const found: string[] = [];
  const kinds = new Set<ViolationKind>();
  const sectorsChecked = verifyContent(stack, input.oracle, found);
  if (found.length > 0) kinds.add('register');
  const exempt = input.overlap.overlapRegions;
  const differing = differingRegions(stack.mirror).filter((region) => !exempt.has(region));
  if (differing.length > 0) {
    kinds.add('legs-differ');
    found.unshift(
      `legs differ after recovery in ${differing.length} regions (first: ${differing[0]})`,
    );
  }
  checker.checkQuiescent();
  for (const violation of checker.violations.slice(input.violationsBefore)) {
    kinds.add(violation.invariant);
    found.unshift(
      `invariant ${violation.invariant} at event ${violation.step}: ${violation.message}`,
    );
  }
  if (!input.recovered) found.unshift('recovery did not finish');
  const expectation = runCrashExpectation(stack, input.writeCache, 0);
  const explained =
    input.recovered &&
    kinds.size > 0 &&
    expectation !== null &&
    [...kinds].every((kind) => allows(expectation, kind));
  return {
    found,
    sectorsChecked,
    legsIdentical: differing.length === 0,
    expected: explained ? expectation.fact : null,
  };
}

/**
 * Judges every sector clients ever wrote or trimmed on the default leg (the
 * one reads are served from), pinning what it finds, and checks that no
 * other sector holds data. Appends what is wrong to `found`; returns how
 * many sectors were judged.
 */
function verifyContent(stack: MirrorStack, oracle: ContentOracle, found: string[]): number {
  const mirror = stack.mirror;
  const leg = mirror.defaultLeg;
  const content = (leg.device as SimulatedDevice).content;
  const violations: SectorViolation[] = [];
  const sector = new Uint8Array(SECTOR_SIZE_BYTES);
  let checked = 0;
  oracle.forEachTrackedSector(0, mirror.lengthSectors, (at) => {
    checked++;
    content.readInto(leg.offsetSectors + at, 1, sector, 0);
    const violation = oracle.verifySector(at, sector);
    if (violation !== null) violations.push(violation);
  });
  for (const chunkIndex of content.chunkIndicesIn(leg.offsetSectors, mirror.lengthSectors)) {
    const chunk = content.chunkAt(chunkIndex)!;
    for (let index = 0; index < CHUNK_SECTORS; index++) {
      const at = chunkIndex * CHUNK_SECTORS + index - leg.offsetSectors;
      if (at < 0 || at >= mirror.lengthSectors || oracle.isTracked(at)) continue;
      const bytes = chunk.subarray(index * SECTOR_SIZE_BYTES, (index + 1) * SECTOR_SIZE_BYTES);
      if (!isZeroSector(bytes)) {
        violations.push({
          sector: at,
          found: 'data',
          expected: 'zeros (never written by a client)',
        });
      }
    }
  }
  for (const violation of violations) {
    found.push(
      `sector ${violation.sector}: read ${violation.found}, expected ${violation.expected}`,
    );
  }
  return checked;
}
