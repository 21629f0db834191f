/**
 * Fault injection for one device, with the vocabulary of Linux's test
 * targets: dm-flakey (up/down intervals; error, drop or corrupt while down),
 * dm-dust (a bad-block list; a write to a bad block remaps it), per-request
 * probabilities drawn from the device's fault stream (TigerBeetle), and
 * explicit injection (fail the device, fail the next request).
 *
 * Decisions are made when a request is issued, as dm-flakey decides in its
 * map function; the device applies them when the request completes.
 */
import type { RandomStream } from '../world/random-stream.js';
import { SECTOR_SIZE_BYTES, type SectorRange } from './sector.js';

export type FaultOperation = 'read' | 'write' | 'flush' | 'discard';

export type FlakeyMode =
  | 'error'
  | 'error_reads'
  | 'error_writes'
  | 'drop_writes'
  | 'corrupt_reads'
  | 'corrupt_writes';

export interface FlakeyConfig {
  /** Ticks the device works normally, from `startTicks`. */
  readonly upTicks: number;
  /** Ticks it then misbehaves, before the cycle repeats. */
  readonly downTicks: number;
  readonly mode: FlakeyMode;
  /** When the first up interval starts (dm-flakey: table load). Default 0. */
  readonly startTicks?: number;
  /** For the corrupt modes: which byte (1-based, as dm-flakey's `corrupt_bio_byte`) and its new value. */
  readonly corruptByte?: { readonly byteIndex: number; readonly value: number };
}

export interface BadBlocksConfig {
  /** dm-dust's block size: a power of two from 512 bytes. */
  readonly blockSizeBytes: number;
  readonly blocks?: readonly number[];
  /** dm-dust's `enable`: reads of listed blocks fail. Default true. */
  readonly enabled?: boolean;
}

export interface FaultConfig {
  readonly readErrorProbability?: number;
  readonly writeErrorProbability?: number;
  readonly flushErrorProbability?: number;
  /** A write is acknowledged but not stored (dm-flakey `drop_writes`). */
  readonly dropWriteProbability?: number;
  /** One random byte of a read is replaced (dm-flakey `random_read_corrupt`). */
  readonly readCorruptProbability?: number;
  /** One random byte of a write is replaced before it is stored (`random_write_corrupt`). */
  readonly writeCorruptProbability?: number;
  readonly flakey?: FlakeyConfig;
  readonly badBlocks?: BadBlocksConfig;
}

type ProbabilityKey = Exclude<keyof FaultConfig, 'flakey' | 'badBlocks'>;

export type FaultOutcome = 'ok' | 'error' | 'drop' | 'corrupt';

/**
 * What happens to one request. For `corrupt`, byte `byteIndex` (0-based) is
 * set to `value` (dm-flakey's `corrupt_bio_byte`) or, when `xor` is true,
 * XORed with the non-zero `value`, so random and injected corruption always
 * changes the data, even data that reads as zeros.
 */
export interface FaultDecision {
  readonly outcome: FaultOutcome;
  readonly byteIndex: number;
  readonly value: number;
  readonly xor: boolean;
  /** Why, for error messages and the trace. */
  readonly reason: string;
}

const OK: FaultDecision = { outcome: 'ok', byteIndex: 0, value: 0, xor: false, reason: '' };

function decision(outcome: FaultOutcome, reason: string): FaultDecision {
  return { outcome, byteIndex: 0, value: 0, xor: false, reason };
}

export interface FailOptions {
  readonly reads?: boolean;
  readonly writes?: boolean;
  readonly flushes?: boolean;
}

export class DeviceFaults {
  private probabilities: Record<ProbabilityKey, number>;
  private flakey: FlakeyConfig | undefined;
  private readonly badBlockSet = new Set<number>();
  private badBlockSizeBytes = 0;
  private badBlocksEnabled = false;
  private failReads = false;
  private failWrites = false;
  private failFlushes = false;
  private readonly oneShots: Array<{ operation: FaultOperation; outcome: FaultOutcome }> = [];

  constructor(
    readonly deviceName: string,
    private readonly random: RandomStream,
    config: FaultConfig = {},
  ) {
    this.probabilities = {
      readErrorProbability: 0,
      writeErrorProbability: 0,
      flushErrorProbability: 0,
      dropWriteProbability: 0,
      readCorruptProbability: 0,
      writeCorruptProbability: 0,
    };
    this.configure(config);
  }

  /** Replaces the probabilistic, flakey and bad-block configuration. */
  configure(config: FaultConfig): void {
    for (const key of Object.keys(this.probabilities) as ProbabilityKey[]) {
      const value = config[key] ?? 0;
      if (!(value >= 0 && value <= 1)) {
        throw new RangeError(`Device "${this.deviceName}" fault ${key} ${value} is not in [0, 1]`);
      }
      this.probabilities[key] = value;
    }
    if (config.flakey !== undefined) checkFlakey(this.deviceName, config.flakey);
    this.flakey = config.flakey;
    this.badBlockSet.clear();
    this.badBlocksEnabled = false;
    this.badBlockSizeBytes = 0;
    if (config.badBlocks !== undefined) {
      const { blockSizeBytes } = config.badBlocks;
      if (
        !Number.isSafeInteger(blockSizeBytes) ||
        blockSizeBytes < SECTOR_SIZE_BYTES ||
        (blockSizeBytes & (blockSizeBytes - 1)) !== 0
      ) {
        throw new RangeError(
          `Device "${this.deviceName}" bad-block size ${blockSizeBytes} is not a power of two ≥ 512 bytes`,
        );
      }
      this.badBlockSizeBytes = blockSizeBytes;
      for (const block of config.badBlocks.blocks ?? []) this.addBadBlock(block);
      this.badBlocksEnabled = config.badBlocks.enabled ?? true;
    }
  }

  /** Makes the chosen classes of request fail until {@link heal} (a dead or detached disk). */
  fail(options: FailOptions = { reads: true, writes: true, flushes: true }): void {
    this.failReads = options.reads ?? false;
    this.failWrites = options.writes ?? false;
    this.failFlushes = options.flushes ?? false;
  }

  /** Switches every fault off: explicit failures, one-shots, probabilities, flakey, bad blocks. */
  heal(): void {
    this.fail({});
    this.oneShots.length = 0;
    this.configure({});
  }

  /** Whether any fault could currently fire. */
  get isFaulty(): boolean {
    return (
      this.failReads ||
      this.failWrites ||
      this.failFlushes ||
      this.oneShots.length > 0 ||
      this.flakey !== undefined ||
      (this.badBlocksEnabled && this.badBlockSet.size > 0) ||
      Object.values(this.probabilities).some((probability) => probability > 0)
    );
  }

  /** The next request of `operation` gets `outcome` (queued; first match wins). */
  injectNext(operation: FaultOperation, outcome: Exclude<FaultOutcome, 'ok'>): void {
    if (outcome === 'drop' && operation !== 'write' && operation !== 'discard') {
      throw new RangeError(`Cannot drop a ${operation}: only writes and discards can be dropped`);
    }
    if (outcome === 'corrupt' && operation !== 'write' && operation !== 'read') {
      throw new RangeError(`Cannot corrupt a ${operation}: only reads and writes carry data`);
    }
    this.oneShots.push({ operation, outcome });
  }

  // dm-dust's messages.
  addBadBlock(block: number): void {
    this.checkBlock(block);
    if (this.badBlockSet.has(block)) {
      throw new RangeError(
        `Device "${this.deviceName}" block ${block} is already in the bad-block list`,
      );
    }
    this.badBlockSet.add(block);
  }

  removeBadBlock(block: number): void {
    this.checkBlock(block);
    if (!this.badBlockSet.delete(block)) {
      throw new RangeError(
        `Device "${this.deviceName}" block ${block} is not in the bad-block list`,
      );
    }
  }

  queryBadBlock(block: number): boolean {
    return this.badBlockSet.has(block);
  }

  get badBlockCount(): number {
    return this.badBlockSet.size;
  }

  clearBadBlocks(): void {
    this.badBlockSet.clear();
  }

  enableBadBlocks(): void {
    this.checkBlock(0);
    this.badBlocksEnabled = true;
  }

  disableBadBlocks(): void {
    this.badBlocksEnabled = false;
  }

  /**
   * Decides the fate of a request issued at `nowTicks`. `range` is undefined
   * for flushes. A write that touches bad blocks remaps them (removes them).
   */
  decide(
    operation: FaultOperation,
    nowTicks: number,
    range: SectorRange | undefined,
  ): FaultDecision {
    const explicit = this.explicitDecision(operation, range);
    if (explicit !== undefined) return explicit;
    const flakey = this.flakeyDecision(operation, nowTicks, range);
    if (flakey !== undefined) return flakey;
    if (this.badBlockSet.size > 0 && this.badBlocksEnabled && range !== undefined) {
      const dust = this.badBlockDecision(operation, range);
      if (dust !== undefined) return dust;
    }
    return this.probabilisticDecision(operation, range);
  }

  private explicitDecision(
    operation: FaultOperation,
    range: SectorRange | undefined,
  ): FaultDecision | undefined {
    if (operation === 'read' && this.failReads) return decision('error', 'device failed (reads)');
    if ((operation === 'write' || operation === 'discard') && this.failWrites) {
      return decision('error', 'device failed (writes)');
    }
    if (operation === 'flush' && this.failFlushes)
      return decision('error', 'device failed (flushes)');
    // The common case, and it spares a closure per request.
    if (this.oneShots.length === 0) return undefined;
    const index = this.oneShots.findIndex((shot) => shot.operation === operation);
    if (index < 0) return undefined;
    const shot = this.oneShots.splice(index, 1)[0]!;
    if (shot.outcome === 'corrupt' && range !== undefined)
      return this.randomCorruption(range, 'injected corrupt');
    return decision(shot.outcome, `injected ${shot.outcome}`);
  }

  private flakeyDecision(
    operation: FaultOperation,
    nowTicks: number,
    range: SectorRange | undefined,
  ): FaultDecision | undefined {
    const flakey = this.flakey;
    if (flakey === undefined) return undefined;
    const elapsed = nowTicks - (flakey.startTicks ?? 0);
    if (elapsed < 0) return undefined;
    if (elapsed % (flakey.upTicks + flakey.downTicks) < flakey.upTicks) return undefined;
    const isWrite = operation === 'write' || operation === 'discard';
    switch (flakey.mode) {
      case 'error':
        return decision('error', 'flakey down interval');
      case 'error_reads':
        return operation === 'read' ? decision('error', 'flakey error_reads') : undefined;
      case 'error_writes':
        return isWrite ? decision('error', 'flakey error_writes') : undefined;
      case 'drop_writes':
        return isWrite ? decision('drop', 'flakey drop_writes') : undefined;
      case 'corrupt_reads':
      case 'corrupt_writes': {
        const wanted = flakey.mode === 'corrupt_reads' ? 'read' : 'write';
        if (operation !== wanted || range === undefined) return undefined;
        const byte = flakey.corruptByte ?? { byteIndex: 1, value: 0 };
        if (byte.byteIndex > range.sectorCount * SECTOR_SIZE_BYTES) return undefined;
        return {
          outcome: 'corrupt',
          byteIndex: byte.byteIndex - 1,
          value: byte.value,
          xor: false,
          reason: 'flakey corrupt_bio_byte',
        };
      }
    }
  }

  private badBlockDecision(
    operation: FaultOperation,
    range: SectorRange,
  ): FaultDecision | undefined {
    const blockSectors = this.badBlockSizeBytes / SECTOR_SIZE_BYTES;
    const first = Math.floor(range.sector / blockSectors);
    const last = Math.floor((range.sector + range.sectorCount - 1) / blockSectors);
    if (operation === 'read') {
      for (let block = first; block <= last; block++) {
        if (this.badBlockSet.has(block)) return decision('error', `bad block ${block}`);
      }
      return undefined;
    }
    if (operation === 'write') {
      // dm-dust: a write to a bad block succeeds and removes it, as a drive remaps the sector.
      for (let block = first; block <= last; block++) this.badBlockSet.delete(block);
    }
    return undefined;
  }

  private probabilisticDecision(
    operation: FaultOperation,
    range: SectorRange | undefined,
  ): FaultDecision {
    const p = this.probabilities;
    const random = this.random;
    if (operation === 'read') {
      if (p.readErrorProbability > 0 && random.nextBoolean(p.readErrorProbability)) {
        return decision('error', 'random read error');
      }
      if (
        p.readCorruptProbability > 0 &&
        range !== undefined &&
        random.nextBoolean(p.readCorruptProbability)
      ) {
        return this.randomCorruption(range, 'random read corruption');
      }
      return OK;
    }
    if (operation === 'flush') {
      if (p.flushErrorProbability > 0 && random.nextBoolean(p.flushErrorProbability)) {
        return decision('error', 'random flush error');
      }
      return OK;
    }
    if (p.writeErrorProbability > 0 && random.nextBoolean(p.writeErrorProbability)) {
      return decision('error', 'random write error');
    }
    if (p.dropWriteProbability > 0 && random.nextBoolean(p.dropWriteProbability)) {
      return decision('drop', 'random dropped write');
    }
    if (
      operation === 'write' &&
      p.writeCorruptProbability > 0 &&
      range !== undefined &&
      random.nextBoolean(p.writeCorruptProbability)
    ) {
      return this.randomCorruption(range, 'random write corruption');
    }
    return OK;
  }

  private randomCorruption(range: SectorRange, reason: string): FaultDecision {
    const byteIndex = this.random.nextInt(0, range.sectorCount * SECTOR_SIZE_BYTES - 1);
    return { outcome: 'corrupt', byteIndex, value: this.random.nextInt(1, 255), xor: true, reason };
  }

  private checkBlock(block: number): void {
    if (this.badBlockSizeBytes === 0) {
      throw new RangeError(`Device "${this.deviceName}" has no bad-block list configured`);
    }
    if (!Number.isSafeInteger(block) || block < 0) {
      throw new RangeError(`Device "${this.deviceName}" bad block ${block} is not an integer ≥ 0`);
    }
  }
}

function checkFlakey(deviceName: string, flakey: FlakeyConfig): void {
  const { upTicks, downTicks } = flakey;
  if (
    !Number.isSafeInteger(upTicks) ||
    upTicks < 0 ||
    !Number.isSafeInteger(downTicks) ||
    downTicks < 0
  ) {
    throw new RangeError(
      `Device "${deviceName}" flakey intervals up ${upTicks} / down ${downTicks} are not integers ≥ 0 ticks`,
    );
  }
  if (upTicks + downTicks === 0) {
    throw new RangeError(`Device "${deviceName}" flakey intervals are both zero`);
  }
  const byte = flakey.corruptByte;
  if (
    byte !== undefined &&
    (!Number.isSafeInteger(byte.byteIndex) ||
      byte.byteIndex < 1 ||
      byte.value < 0 ||
      byte.value > 255)
  ) {
    throw new RangeError(
      `Device "${deviceName}" corrupt byte ${byte.byteIndex}=${byte.value} needs a 1-based index and a value 0-255`,
    );
  }
}
