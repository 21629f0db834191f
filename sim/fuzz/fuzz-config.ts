/**
 * One crash-consistency scenario's configuration, drawn whole from one
 * fast-check seed (TigerBeetle's swarm testing): the mirror profile, its
 * geometry, per-device latencies, which fault kinds are switched on this
 * seed and how often, and which crash strategies the devices draw from.
 * Everything else — the commands, and the World seed every simulated
 * latency and crash state comes from — follows from the same seed, so one
 * seed replays one scenario.
 *
 * The configuration is a fast-check arbitrary, so it shrinks with the
 * commands: a counterexample ends on the simplest profile that still fails.
 */
import fc from 'fast-check';
import { CRASH_STRATEGIES, type CrashStrategy } from '../../src/block/crash-state.js';
import { type DeviceLatency, fixedLatency, type LatencyModel } from '../../src/block/latency.js';
import { FAULT_KINDS, type FaultKind, faultApplies } from './fault-budget.js';
import {
  FEATURE_SETS,
  type FeatureSet,
  type FuzzLogType,
  type MirrorGeometry,
  type MirrorProfile,
  TABLE_MODES,
  type TableMode,
} from './mirror-profile.js';

/** Within budget: only faults the profile is designed to survive. Beyond: every fault. */
export type BudgetMode = 'within' | 'beyond';

/** One scenario’s whole configuration (see the file comment). */
export interface FuzzConfig {
  /** Seeds the World: every latency draw and crash state. */
  readonly worldSeed: number;
  readonly profile: MirrorProfile;
  readonly geometry: MirrorGeometry;
  /** One latency per leg (legs may be unequal, so their writes complete out of step). */
  readonly legLatencies: readonly DeviceLatency[];
  readonly logLatency: DeviceLatency;
  /** Per fault kind, a weight from 0 (off for this seed) to 100. */
  readonly faultWeights: Readonly<Record<FaultKind, number>>;
  /** The strategies crash commands draw from for each device (never empty). */
  readonly crashStrategies: readonly CrashStrategy[];
  readonly budget: BudgetMode;
}

/** Which profiles a config arbitrary draws; every field defaults to all values. */
export interface FuzzConfigOptions {
  readonly budget: BudgetMode;
  readonly logTypes?: readonly FuzzLogType[];
  readonly legCounts?: readonly number[];
  readonly tableModes?: readonly TableMode[];
  readonly featureSets?: readonly FeatureSet[];
  readonly writeCache?: readonly boolean[];
  /** Region count range (default 3–12). */
  readonly regionCountMax?: number;
  /** The lowest weight a fault kind the profile can take is drawn with (default 0: swarm, may be off). */
  readonly faultWeightMin?: number;
}

const REGION_SIZES = [8, 16, 32, 64] as const;

function latencyArbitrary(maxTicks: number): fc.Arbitrary<LatencyModel> {
  return fc.oneof(
    fc.integer({ min: 0, max: maxTicks }).map((ticks) => fixedLatency(ticks)),
    fc
      .record({
        minimumTicks: fc.integer({ min: 0, max: maxTicks / 2 }),
        meanTicks: fc.integer({ min: 1, max: maxTicks }),
      })
      .map(({ minimumTicks, meanTicks }) => ({
        kind: 'exponential' as const,
        minimumTicks,
        meanTicks,
      })),
  );
}

const deviceLatencyArbitrary: fc.Arbitrary<DeviceLatency> = fc.record({
  read: latencyArbitrary(40),
  write: latencyArbitrary(80),
  flush: latencyArbitrary(120),
});

/** Fixed latencies every simple configuration shrinks towards. */
export const DEFAULT_FUZZ_LATENCY: DeviceLatency = {
  read: fixedLatency(10),
  write: fixedLatency(20),
  flush: fixedLatency(30),
};

function constantFromList<T>(values: readonly T[]): fc.Arbitrary<T> {
  return fc.constantFrom(...values);
}

/** The arbitrary of whole configurations (see the file comment). */
export function fuzzConfigArbitrary(options: FuzzConfigOptions): fc.Arbitrary<FuzzConfig> {
  const logTypes = options.logTypes ?? ['core', 'disk'];
  const profile: fc.Arbitrary<MirrorProfile> = fc.record({
    logType: constantFromList(logTypes),
    legCount: constantFromList(options.legCounts ?? [2, 3]),
    tableMode: constantFromList(options.tableModes ?? TABLE_MODES),
    features: constantFromList(options.featureSets ?? FEATURE_SETS),
    writeCache: constantFromList(options.writeCache ?? [true, false]),
    integratedFlush: fc.boolean(),
  });
  const regionCountMax = options.regionCountMax ?? 12;
  return fc
    .record({
      worldSeed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      profile,
      regionSizeSectors: constantFromList(REGION_SIZES),
      regionCount: fc.integer({ min: 3, max: regionCountMax }),
      /** Sectors missing from the last region (0: a whole last region, §4.5). */
      tailShortSectors: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 7 })),
      legLatencies: fc.array(deviceLatencyArbitrary, { minLength: 3, maxLength: 3 }),
      logLatency: deviceLatencyArbitrary,
      weights: fc.array(fc.integer({ min: options.faultWeightMin ?? 0, max: 100 }), {
        minLength: FAULT_KINDS.length,
        maxLength: FAULT_KINDS.length,
      }),
      crashStrategies: fc.subarray([...CRASH_STRATEGIES], { minLength: 1 }),
    })
    .map((drawn) => {
      const profile = sanitiseProfile(drawn.profile, options.budget);
      const regionSizeSectors = drawn.regionSizeSectors;
      const tail = Math.min(drawn.tailShortSectors, regionSizeSectors - 1);
      const geometry: MirrorGeometry = {
        regionSizeSectors,
        lengthSectors: regionSizeSectors * drawn.regionCount - tail,
      };
      const faultWeights = {} as Record<FaultKind, number>;
      FAULT_KINDS.forEach((kind, index) => {
        faultWeights[kind] = faultApplies(profile, kind) ? drawn.weights[index]! : 0;
      });
      return {
        worldSeed: drawn.worldSeed,
        profile,
        geometry,
        legLatencies: drawn.legLatencies.slice(0, profile.legCount),
        logLatency: drawn.logLatency,
        faultWeights,
        crashStrategies: drawn.crashStrategies,
        budget: options.budget,
      };
    });
}

/**
 * A userspace log's daemon never calls the mirror's leg flush, so leg
 * caches are beyond its budget (fault-budget.ts): within budget, a
 * userspace profile has no write cache.
 */
function sanitiseProfile(profile: MirrorProfile, budget: BudgetMode): MirrorProfile {
  if (profile.logType !== 'userspace') return { ...profile, integratedFlush: false };
  if (budget === 'within' && profile.writeCache) return { ...profile, writeCache: false };
  return profile;
}

/** A one-line description of a configuration, for reports and replay output. */
export function describeConfig(config: FuzzConfig): string {
  const profile = config.profile;
  const regions = Math.ceil(config.geometry.lengthSectors / config.geometry.regionSizeSectors);
  const faults = FAULT_KINDS.filter((kind) => config.faultWeights[kind] > 0)
    .map((kind) => `${kind}:${config.faultWeights[kind]}`)
    .join(' ');
  return [
    `log ${profile.logType}${profile.integratedFlush ? ' (integrated_flush)' : ''}`,
    `${profile.legCount} legs`,
    `mode ${profile.tableMode}`,
    `features ${profile.features}`,
    profile.writeCache ? 'write cache' : 'no write cache',
    `${regions} regions of ${config.geometry.regionSizeSectors} sectors (${config.geometry.lengthSectors} sectors)`,
    `crash states ${config.crashStrategies.join('/')}`,
    `faults ${faults === '' ? 'none' : faults}`,
    `world seed ${config.worldSeed}`,
    `budget ${config.budget}`,
  ].join(', ');
}

/** What {@link makeFuzzConfig} fills in when not given. */
export interface FuzzConfigSpec {
  readonly profile: Partial<MirrorProfile> & Pick<MirrorProfile, 'logType'>;
  readonly regionSizeSectors?: number;
  readonly regionCount?: number;
  /** Sectors missing from the last region. */
  readonly tailShortSectors?: number;
  readonly worldSeed?: number;
  readonly legLatencies?: readonly DeviceLatency[];
  readonly logLatency?: DeviceLatency;
  /** Every fault kind the profile can take is on at weight 100 unless given. */
  readonly faultWeights?: Partial<Record<FaultKind, number>>;
  readonly crashStrategies?: readonly CrashStrategy[];
  readonly budget?: BudgetMode;
}

/**
 * A configuration written by hand (regression tests, replays of a known
 * scenario): 2 legs, default mode, no features, no cache, 4 regions of 8
 * sectors and {@link DEFAULT_FUZZ_LATENCY} unless the spec says otherwise.
 */
export function makeFuzzConfig(spec: FuzzConfigSpec): FuzzConfig {
  const profile: MirrorProfile = {
    legCount: 2,
    tableMode: 'default',
    features: 'none',
    writeCache: false,
    integratedFlush: false,
    ...spec.profile,
  };
  const regionSizeSectors = spec.regionSizeSectors ?? 8;
  const faultWeights = {} as Record<FaultKind, number>;
  for (const kind of FAULT_KINDS) {
    faultWeights[kind] = faultApplies(profile, kind) ? (spec.faultWeights?.[kind] ?? 100) : 0;
  }
  return {
    worldSeed: spec.worldSeed ?? 0,
    profile,
    geometry: {
      regionSizeSectors,
      lengthSectors: regionSizeSectors * (spec.regionCount ?? 4) - (spec.tailShortSectors ?? 0),
    },
    legLatencies:
      spec.legLatencies ?? Array.from({ length: profile.legCount }, () => DEFAULT_FUZZ_LATENCY),
    logLatency: spec.logLatency ?? DEFAULT_FUZZ_LATENCY,
    faultWeights,
    crashStrategies: spec.crashStrategies ?? [...CRASH_STRATEGIES],
    budget: spec.budget ?? 'within',
  };
}
