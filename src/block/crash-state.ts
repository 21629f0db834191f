/**
 * Crash-state strategies: which of a device's not-yet-durable writes survive
 * a power cut. Every strategy is deterministic given the device's crash
 * stream, and every chosen state has a stable id.
 *
 * - `none`: only durable data survives (dm-log-writes' worst case).
 * - `all`: every accepted write lands, in flight or cached.
 * - `random`: each write survives whole or not at all, independently (CrashMonkey bio mode).
 * - `prefix`: the first k writes in issue order survive, k uniform in [0, n] (ALICE prefixes).
 * - `torn`: each write keeps a random sector-granular part of itself (FoundationDB's kill, shorn writes).
 */
import { Hash64 } from '../hash.js';
import type { RandomStream } from '../world/random-stream.js';
import type { PendingWrite } from './pending-write.js';

export const CRASH_STRATEGIES = ['none', 'all', 'random', 'prefix', 'torn'] as const;
export type CrashStrategy = (typeof CRASH_STRATEGIES)[number];

export function isCrashStrategy(text: string): text is CrashStrategy {
  return (CRASH_STRATEGIES as readonly string[]).includes(text);
}

export interface Survivor {
  readonly write: PendingWrite;
  /** Per-sector keep mask for torn writes; null keeps the whole write. */
  readonly keep: Uint8Array | null;
}

export interface CrashChoice {
  readonly survivors: Survivor[];
  /** Stable id of the chosen state: strategy plus a hash of what survived. */
  readonly stateId: string;
}

/** Chooses survivors among `candidates` (already in the order they would land). */
export function chooseCrashState(
  strategy: CrashStrategy,
  candidates: readonly PendingWrite[],
  random: RandomStream,
): CrashChoice {
  const survivors = pickSurvivors(strategy, candidates, random);
  const hash = new Hash64().string(strategy).integer(candidates.length);
  for (const survivor of survivors) {
    hash.integer(survivor.write.issueSequence);
    if (survivor.keep !== null) hash.bytes(survivor.keep);
  }
  return { survivors, stateId: `${strategy}-${hash.hex()}` };
}

function pickSurvivors(
  strategy: CrashStrategy,
  candidates: readonly PendingWrite[],
  random: RandomStream,
): Survivor[] {
  switch (strategy) {
    case 'none':
      return [];
    case 'all':
      return candidates.map((write) => ({ write, keep: null }));
    case 'random':
      return candidates
        .filter(() => random.nextBoolean(0.5))
        .map((write) => ({ write, keep: null }));
    case 'prefix': {
      const count = random.nextInt(0, candidates.length);
      const byIssue = [...candidates].sort(
        (left, right) => left.issueSequence - right.issueSequence,
      );
      const kept = new Set(byIssue.slice(0, count));
      return candidates.filter((write) => kept.has(write)).map((write) => ({ write, keep: null }));
    }
    case 'torn':
      return candidates.map((write) => {
        const keep = new Uint8Array(write.sectorCount);
        for (let offset = 0; offset < keep.length; offset++)
          keep[offset] = random.nextBoolean(0.5) ? 1 : 0;
        return { write, keep };
      });
  }
}
