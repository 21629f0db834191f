/**
 * Merges the seed records of a campaign's shards (`mirrorsim fuzz merge`):
 * every line is checked, the records must all come from one campaign and
 * name each seed once, and the result is what the unsharded campaign
 * reports — the seed count and the failures in seed order — plus how much
 * of the seed range the shards covered.
 */
import {
  campaignKey,
  type FuzzCampaignOptions,
  type FuzzSeedRecord,
  parseFuzzSeedRecord,
} from './fuzz-seed-record.js';

/** What a merge found. */
export interface FuzzMergeResult {
  readonly seeds: number;
  /** The failed records, by seed. */
  readonly failures: readonly FuzzSeedRecord[];
  /** The lowest and highest seed merged (null when there were none). */
  readonly seedMin: number | null;
  readonly seedMax: number | null;
  /** Seeds between the lowest and the highest that no record names (a time box, or a shard left out). */
  readonly seedsMissing: number;
  readonly campaign: FuzzCampaignOptions | null;
}

/** Where a record came from, for messages. */
interface Origin {
  readonly source: string;
  readonly line: number;
}

/**
 * Takes record lines one at a time, from any number of sources, and
 * checks each at once; a RangeError names the source and line of the
 * first problem.
 */
export class FuzzRecordMerger {
  private campaign: FuzzCampaignOptions | null = null;
  private campaignOrigin: Origin | null = null;
  // Plain arrays, not a Map: a long campaign can have more seeds than a Map may hold (2^24).
  private readonly seedList: number[] = [];
  private readonly sourceList: string[] = [];
  private readonly sourceIndexList: number[] = [];
  private readonly lineList: number[] = [];
  private readonly failed: FuzzSeedRecord[] = [];

  /** Adds one line (without its newline) of `source`, its `line`-th (1-based). */
  add(source: string, line: number, text: string): void {
    const origin = { source, line };
    let record: FuzzSeedRecord;
    try {
      record = parseFuzzSeedRecord(text);
    } catch (error) {
      throw new RangeError(`${where(origin)}: ${(error as Error).message}`);
    }
    this.checkCampaign(record.campaign, origin);
    if (this.sourceList.at(-1) !== source) this.sourceList.push(source);
    this.seedList.push(record.seed);
    this.sourceIndexList.push(this.sourceList.length - 1);
    this.lineList.push(line);
    if (record.verdict === 'failed') this.failed.push(record);
  }

  /**
   * The merged result (see {@link FuzzMergeResult}); a RangeError names
   * both places of a seed given twice.
   */
  result(): FuzzMergeResult {
    const order = this.seedList.map((_, index) => index);
    order.sort((left, right) => this.seedList[left]! - this.seedList[right]!);
    for (let position = 1; position < order.length; position++) {
      const [earlier, later] = [order[position - 1]!, order[position]!];
      if (this.seedList[earlier] === this.seedList[later]) {
        throw new RangeError(
          `${where(this.originOf(later))}: seed ${this.seedList[later]} is already in ${where(this.originOf(earlier))}: expected each seed once (the same shard given twice?)`,
        );
      }
    }
    const seeds = order.length;
    const seedMin = seeds === 0 ? null : this.seedList[order[0]!]!;
    const seedMax = seeds === 0 ? null : this.seedList[order[seeds - 1]!]!;
    return {
      seeds,
      failures: [...this.failed].sort((left, right) => left.seed - right.seed),
      seedMin,
      seedMax,
      seedsMissing: seedMin === null || seedMax === null ? 0 : seedMax - seedMin + 1 - seeds,
      campaign: this.campaign,
    };
  }

  private originOf(index: number): Origin {
    return { source: this.sourceList[this.sourceIndexList[index]!]!, line: this.lineList[index]! };
  }

  private checkCampaign(campaign: FuzzCampaignOptions, origin: Origin): void {
    if (this.campaign === null || this.campaignOrigin === null) {
      this.campaign = campaign;
      this.campaignOrigin = origin;
      return;
    }
    if (campaignKey(campaign) === campaignKey(this.campaign)) return;
    const key = (Object.keys(campaign) as (keyof FuzzCampaignOptions)[]).find(
      (name) => JSON.stringify(campaign[name]) !== JSON.stringify(this.campaign?.[name]),
    );
    throw new RangeError(
      `${where(origin)} is from another campaign than ${where(this.campaignOrigin)}: its ${key} is ${JSON.stringify(campaign[key!])}, not ${JSON.stringify(this.campaign[key!])}; expected the shards of one campaign`,
    );
  }
}

function where(origin: Origin): string {
  return `${origin.source} line ${origin.line}`;
}
