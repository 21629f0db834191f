/**
 * One fuzz seed's result as a JSON line (`mirrorsim fuzz --json FILE`, one
 * record per line), which `mirrorsim fuzz merge` reads back. The schema is
 * documented in docs/fuzz-records.md; every field is always present, in
 * this order, so two records of one campaign differ only where their seeds
 * did:
 *
 * ```
 * {"record":"mirrorsim-fuzz-seed","version":1,"seed":7,
 *  "campaign":{"budget":"within","logTypes":["core","disk"],"featureSets":null,
 *              "tableModes":null,"legCounts":null,"maxCommands":null,"faultWeightMin":null},
 *  "scenario":"log disk, 2 legs, …","verdict":"passed","violation":null,"path":null,
 *  "replay":"npx mirrorsim replay --seed=7 --log core,disk"}
 * ```
 *
 * `campaign` is what shapes every scenario of the campaign (the options
 * {@link replayCommandLine} puts on the line): records of different
 * campaigns must not be merged.
 */
import type { FuzzScenarioOptions } from './fuzz-property.js';

/** The `record` field: what the line is. */
export const FUZZ_SEED_RECORD_KIND = 'mirrorsim-fuzz-seed';
/** The schema version; a reader refuses others. */
export const FUZZ_SEED_RECORD_VERSION = 1;
/** The longest record line a reader accepts (a violation message is one line, but may be long). */
export const FUZZ_SEED_RECORD_BYTES_MAX = 64 * 1024;

/** The options that shape a campaign's scenarios, every key present (null when not given). */
export interface FuzzCampaignOptions {
  readonly budget: string;
  readonly logTypes: readonly string[] | null;
  readonly featureSets: readonly string[] | null;
  readonly tableModes: readonly string[] | null;
  readonly legCounts: readonly number[] | null;
  readonly maxCommands: number | null;
  readonly faultWeightMin: number | null;
}

/** One seed's result (see the file comment). */
export interface FuzzSeedRecord {
  readonly seed: number;
  readonly campaign: FuzzCampaignOptions;
  /** The scenario the seed drew, in words (`describeConfig`). */
  readonly scenario: string;
  readonly verdict: 'passed' | 'failed';
  /** The violation's first line; null when the seed passed. */
  readonly violation: string | null;
  /** fast-check's path to the shrunk counterexample, `@`, the commands' replay path; null when passed. */
  readonly path: string | null;
  /** The one command line that re-runs the seed (to the counterexample when it failed). */
  readonly replay: string;
}

/** The campaign options of a scenario filter. */
export function campaignOptionsOf(options: FuzzScenarioOptions): FuzzCampaignOptions {
  return orderedCampaign({
    budget: options.budget,
    logTypes: options.logTypes ?? null,
    featureSets: options.featureSets ?? null,
    tableModes: options.tableModes ?? null,
    legCounts: options.legCounts ?? null,
    maxCommands: options.maxCommands ?? null,
    faultWeightMin: options.faultWeightMin ?? null,
  });
}

/** The same options with their keys in the record's fixed order, so equal campaigns print equal. */
function orderedCampaign(campaign: FuzzCampaignOptions): FuzzCampaignOptions {
  return {
    budget: campaign.budget,
    logTypes: campaign.logTypes === null ? null : [...campaign.logTypes],
    featureSets: campaign.featureSets === null ? null : [...campaign.featureSets],
    tableModes: campaign.tableModes === null ? null : [...campaign.tableModes],
    legCounts: campaign.legCounts === null ? null : [...campaign.legCounts],
    maxCommands: campaign.maxCommands,
    faultWeightMin: campaign.faultWeightMin,
  };
}

/** The campaign as one canonical text: equal for records of one campaign, and only then. */
export function campaignKey(campaign: FuzzCampaignOptions): string {
  return JSON.stringify(orderedCampaign(campaign));
}

/** The record as one line of JSON, without the newline. */
export function formatFuzzSeedRecord(record: FuzzSeedRecord): string {
  return JSON.stringify({
    record: FUZZ_SEED_RECORD_KIND,
    version: FUZZ_SEED_RECORD_VERSION,
    seed: record.seed,
    campaign: orderedCampaign(record.campaign),
    scenario: record.scenario,
    verdict: record.verdict,
    violation: record.violation,
    path: record.path,
    replay: record.replay,
  });
}

/**
 * Parses one record line; a RangeError says what is wrong with it (the
 * caller adds the file and line number).
 */
export function parseFuzzSeedRecord(line: string): FuzzSeedRecord {
  if (line.length > FUZZ_SEED_RECORD_BYTES_MAX) {
    throw new RangeError(
      `a line of ${line.length} characters: expected a record of at most ${FUZZ_SEED_RECORD_BYTES_MAX}`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new RangeError('not JSON: expected one fuzz seed record per line');
  }
  const object = asObject(value, 'the line');
  if (object.record !== FUZZ_SEED_RECORD_KIND) {
    throw new RangeError(`"record" is not "${FUZZ_SEED_RECORD_KIND}": not a fuzz seed record`);
  }
  if (object.version !== FUZZ_SEED_RECORD_VERSION) {
    throw new RangeError(
      `"version" is ${JSON.stringify(object.version)}: expected ${FUZZ_SEED_RECORD_VERSION}`,
    );
  }
  const seed = object.seed;
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
    throw new RangeError('"seed" is not an integer');
  }
  const verdict = object.verdict;
  if (verdict !== 'passed' && verdict !== 'failed') {
    throw new RangeError('"verdict" is not "passed" or "failed"');
  }
  const violation = nullableString(object.violation, 'violation');
  const path = nullableString(object.path, 'path');
  if (
    (verdict === 'failed') !== (violation !== null) ||
    (verdict === 'failed') !== (path !== null)
  ) {
    throw new RangeError('a failed seed has a violation and a path, a passed one neither');
  }
  return {
    seed,
    campaign: parseCampaign(object.campaign),
    scenario: requiredString(object.scenario, 'scenario'),
    verdict,
    violation,
    path,
    replay: requiredString(object.replay, 'replay'),
  };
}

function parseCampaign(value: unknown): FuzzCampaignOptions {
  const object = asObject(value, '"campaign"');
  const budget = requiredString(object.budget, 'campaign.budget');
  return {
    budget,
    logTypes: nullableList(object.logTypes, 'campaign.logTypes', 'string'),
    featureSets: nullableList(object.featureSets, 'campaign.featureSets', 'string'),
    tableModes: nullableList(object.tableModes, 'campaign.tableModes', 'string'),
    legCounts: nullableList(object.legCounts, 'campaign.legCounts', 'number'),
    maxCommands: nullableInteger(object.maxCommands, 'campaign.maxCommands'),
    faultWeightMin: nullableInteger(object.faultWeightMin, 'campaign.faultWeightMin'),
  };
}

function asObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RangeError(`${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function requiredString(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new RangeError(`"${field}" is not a string`);
  return value;
}

function nullableString(value: unknown, field: string): string | null {
  if (value === null) return null;
  return requiredString(value, field);
}

function nullableInteger(value: unknown, field: string): number | null {
  if (value === null) return null;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new RangeError(`"${field}" is not an integer or null`);
  }
  return value;
}

function nullableList<T extends 'string' | 'number'>(
  value: unknown,
  field: string,
  type: T,
): (T extends 'string' ? string : number)[] | null {
  if (value === null) return null;
  if (!Array.isArray(value) || value.some((item) => typeof item !== type)) {
    throw new RangeError(`"${field}" is not a list of ${type}s or null`);
  }
  return value as (T extends 'string' ? string : number)[];
}
