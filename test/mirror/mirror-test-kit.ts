/**
 * The mirror tests' kit: a timeline every recorded thing is appended to in
 * order, with the simulated time; a block-device wrapper that records every
 * request when it is issued and when it completes; a dirty log type that
 * wraps a real `core` or `disk` log and records every method call; and a
 * harness that builds a mirror from a table line by hand
 * (`createMirrorTarget` + `MappedDevice`) over recording devices.
 */
import { expect } from 'vitest';
import { runTask } from '../../sim/run-task.js';
import { World } from '../../sim/world.js';
import type { BlockDevice } from '../../src/block/block-device.js';
import {
  InterposedDevice,
  type InterposedKind,
  type InterposedRequest,
} from '../../src/block/interposed-device.js';
import { type DeviceLatency, fixedLatency } from '../../src/block/latency.js';
import type { SimulatedDevice } from '../../src/block/simulated-device.js';
import type { Blocking } from '../../src/concurrency/blocking.js';
import { Bio, type BioOperation } from '../../src/dm/bio.js';
import { MappedDevice } from '../../src/dm/mapped-device.js';
import '../../src/log/builtin-logs.js';
import type { DirtyLog, DirtyLogContext, ResyncWork, StatusType } from '../../src/log/dirty-log.js';
import {
  findDirtyLogType,
  registerDirtyLogType,
  unregisterDirtyLogType,
} from '../../src/log/registry.js';
import { createMirrorTarget } from '../../src/mirror/mirror-ctr.js';
import type { MirrorSet } from '../../src/mirror/mirror-set.js';
import { parseTableLine } from '../../src/table/table-line.js';

/** One recorded step: when (ticks) and what, as a short readable string. */
export interface TimelineEntry {
  readonly timeTicks: number;
  readonly text: string;
}

/** Everything the kit records, in the order it happened. */
export class Timeline {
  readonly entries: TimelineEntry[] = [];

  /** Called with every entry as it is recorded (for checks at the exact instant). */
  onRecord: ((entry: TimelineEntry) => void) | null = null;

  constructor(private readonly now: () => number) {}

  record(text: string): void {
    const entry = { timeTicks: this.now(), text };
    this.entries.push(entry);
    this.onRecord?.(entry);
  }

  /** The texts matching `pattern` (all when absent), in order. */
  texts(pattern?: RegExp): string[] {
    const texts = this.entries.map((entry) => entry.text);
    return pattern === undefined ? texts : texts.filter((text) => pattern.test(text));
  }

  /** The time of the first entry whose text equals `text`. */
  timeOf(text: string): number {
    const entry = this.entries.find((candidate) => candidate.text === text);
    expect(entry, `timeline has "${text}"`).toBeDefined();
    return entry!.timeTicks;
  }

  /** Index of the first entry equal to `text` (-1 when absent). */
  indexOf(text: string): number {
    return this.entries.findIndex((entry) => entry.text === text);
  }

  clear(): void {
    this.entries.length = 0;
  }
}

/**
 * A block device that records each request when issued (`leg0 write 0+8`,
 * `leg0 write 0+8 fua`, `leg0 flush`, `leg1 copy-write 0+8` for kcopyd's
 * sparse writes) and when it completes (the same text plus ` done` or
 * ` error`).
 */
export class RecordingDevice extends InterposedDevice {
  constructor(inner: SimulatedDevice, timeline: Timeline) {
    super(inner, {
      submit: (request) => {
        timeline.record(describeRequest(inner.name, request));
        return true;
      },
      complete: (request, error) => {
        timeline.record(
          `${describeRequest(inner.name, request)} ${error === null ? 'done' : 'error'}`,
        );
        return true;
      },
    });
  }
}

const REQUEST_LABELS: Record<InterposedKind, string> = {
  read: 'read',
  readSparse: 'copy-read',
  write: 'write',
  writeSparse: 'copy-write',
  discard: 'discard',
  flush: 'flush',
};

function describeRequest(name: string, request: InterposedRequest): string {
  if (request.kind === 'flush') return `${name} flush`;
  const fua = request.kind === 'write' && request.fua ? ' fua' : '';
  return `${name} ${REQUEST_LABELS[request.kind]} ${request.sector}+${request.sectorCount}${fua}`;
}

/** Test hooks a recording log consults before asking the real log. */
export interface RecordingLogHooks {
  /** A replacement answer for `in_sync`, or undefined to ask the real log. */
  inSync?: (region: number, canBlock: boolean) => number | undefined;
  /** Answers for the next `flush` calls (consumed front first; then the real log answers). */
  readonly flushResults: number[];
  /** When set, the log has `is_remote_recovering` and answers 1 for these regions. */
  remoteRecovering: Set<number> | null;
}

/**
 * A dirty log that records every method call (`log mark 3`, `log flush`,
 * `log flush -> 0`, …) and passes it to a real log. `in_sync` calls are
 * recorded too (`log in_sync 3 block -> 1`); filter them out when they do
 * not matter. Optional methods exist exactly when the real log has them.
 */
export class RecordingLog implements DirtyLog {
  readonly hooks: RecordingLogHooks;
  presuspend?: () => Blocking<number>;
  postsuspend?: () => Blocking<number>;
  isRemoteRecovering?: (region: number) => Blocking<number>;

  constructor(
    readonly inner: DirtyLog,
    private readonly timeline: Timeline,
    hooks: RecordingLogHooks,
  ) {
    this.hooks = hooks;
    const presuspend = inner.presuspend?.bind(inner);
    if (presuspend !== undefined) {
      this.presuspend = () => this.recorded('presuspend', presuspend());
    }
    const postsuspend = inner.postsuspend?.bind(inner);
    if (postsuspend !== undefined) {
      this.postsuspend = () => this.recorded('postsuspend', postsuspend());
    }
    const remote = inner.isRemoteRecovering?.bind(inner);
    if (remote !== undefined || hooks.remoteRecovering !== null) {
      this.isRemoteRecovering = (region) => this.remoteRecovering(region, remote);
    }
  }

  get typeName(): string {
    return this.inner.typeName;
  }

  destroy(): Blocking<void> {
    return this.recorded('destroy', this.inner.destroy());
  }

  resume(): Blocking<number> {
    return this.recorded('resume', this.inner.resume());
  }

  getRegionSize(): number {
    return this.inner.getRegionSize();
  }

  isClean(region: number): Blocking<number> {
    return this.recorded(`is_clean ${region}`, this.inner.isClean(region));
  }

  *inSync(region: number, canBlock: boolean): Blocking<number> {
    const text = `in_sync ${region} ${canBlock ? 'block' : 'noblock'}`;
    const replaced = this.hooks.inSync?.(region, canBlock);
    if (replaced !== undefined) {
      this.timeline.record(`log ${text} -> ${replaced}`);
      return replaced;
    }
    const answer = yield* this.inner.inSync(region, canBlock);
    this.timeline.record(`log ${text} -> ${answer}`);
    return answer;
  }

  *flush(): Blocking<number> {
    this.timeline.record('log flush');
    const injected = this.hooks.flushResults.shift();
    const result = yield* this.inner.flush();
    const answer = injected ?? result;
    this.timeline.record(`log flush -> ${answer}`);
    return answer;
  }

  markRegion(region: number): void {
    this.timeline.record(`log mark ${region}`);
    this.inner.markRegion(region);
  }

  clearRegion(region: number): void {
    this.timeline.record(`log clear ${region}`);
    this.inner.clearRegion(region);
  }

  *getResyncWork(): Blocking<ResyncWork> {
    const work = yield* this.inner.getResyncWork();
    const answer =
      work.result > 0 ? `region ${work.region}` : work.result === 0 ? 'none' : work.result;
    this.timeline.record(`log get_resync_work -> ${answer}`);
    return work;
  }

  *setRegionSync(region: number, inSync: boolean): Blocking<void> {
    this.timeline.record(`log set_region_sync ${region} ${inSync ? 1 : 0}`);
    yield* this.inner.setRegionSync(region, inSync);
  }

  getSyncCount(): Blocking<number> {
    return this.inner.getSyncCount();
  }

  status(type: StatusType): Blocking<string> {
    return this.inner.status(type);
  }

  private *recorded<T>(text: string, task: Blocking<T>): Blocking<T> {
    this.timeline.record(`log ${text}`);
    const result = yield* task;
    this.timeline.record(`log ${text} -> ${String(result)}`);
    return result;
  }

  private *remoteRecovering(
    region: number,
    inner: ((region: number) => Blocking<number>) | undefined,
  ): Blocking<number> {
    const set = this.hooks.remoteRecovering;
    const answer = set !== null ? (set.has(region) ? 1 : 0) : yield* inner!(region);
    this.timeline.record(`log is_remote_recovering ${region} -> ${answer}`);
    return answer;
  }
}

/** Test-only log type names: `rec-core` wraps `core`, `rec-disk` wraps `disk`, same arguments. */
export const RECORDING_LOG_TYPES = { core: 'rec-core', disk: 'rec-disk' } as const;

/** Where a recording log being built finds its timeline and hooks (set by the harness). */
let building: { timeline: Timeline; hooks: RecordingLogHooks; logs: RecordingLog[] } | null = null;

/** Registers `rec-core` and `rec-disk` (call in `beforeAll`). */
export function registerRecordingLogTypes(): void {
  for (const [innerName, name] of Object.entries(RECORDING_LOG_TYPES)) {
    if (findDirtyLogType(name) !== undefined) continue;
    registerDirtyLogType({
      name,
      summary: `test only: records every call to a ${innerName} log`,
      create(context: DirtyLogContext, args: readonly string[]): DirtyLog {
        const inner = findDirtyLogType(innerName)!.create(context, args);
        if (building === null) throw new TypeError(`A ${name} log needs a MirrorHarness`);
        const log = new RecordingLog(inner, building.timeline, building.hooks);
        building.logs.push(log);
        return log;
      },
    });
  }
}

/** Removes the test-only types (call in `afterAll`). */
export function unregisterRecordingLogTypes(): void {
  for (const name of Object.values(RECORDING_LOG_TYPES)) unregisterDirtyLogType(name);
}

/** Fixed latencies so every test's times are exact. */
export const LEG_LATENCY: DeviceLatency = {
  read: fixedLatency(10),
  write: fixedLatency(20),
  flush: fixedLatency(30),
};
export const LOG_LATENCY: DeviceLatency = {
  read: fixedLatency(4),
  write: fixedLatency(5),
  flush: fixedLatency(7),
};

export interface HarnessOptions {
  /** The table line, e.g. `0 64 mirror rec-core 1 8 2 leg0 0 leg1 0`. */
  readonly table: string;
  readonly seed?: number;
  readonly legLatency?: DeviceLatency;
  readonly logLatency?: DeviceLatency;
  /** Latency of particular devices by name, overriding the two above. */
  readonly deviceLatency?: Readonly<Record<string, DeviceLatency>>;
  readonly writeCache?: boolean;
  /** Resume (activate) the device after loading. Default true. */
  readonly activate?: boolean;
  /** Run until idle after activation (the initial resync). Default true. */
  readonly settle?: boolean;
  readonly resyncThrottlePercent?: number;
  /** Give the logs `is_remote_recovering`, answering 1 for these regions (see {@link RecordingLogHooks}). */
  readonly remoteRecovering?: readonly number[];
}

/** The result of a user request, filled in when it completes. */
export interface Outcome {
  done: boolean;
  error: string | null;
  data: Uint8Array | null;
  timeTicks: number;
}

/** A mirror built by hand from a table line, over recording devices in one world. */
export class MirrorHarness {
  readonly world: World;
  readonly timeline: Timeline;
  readonly device: MappedDevice;
  readonly events: string[] = [];
  readonly hooks: RecordingLogHooks = {
    flushResults: [],
    remoteRecovering: null,
  };
  /** Recording logs built so far, oldest first (one per table loaded). */
  readonly logs: RecordingLog[] = [];
  private readonly recorders = new Map<string, RecordingDevice>();
  private readonly options: HarnessOptions;

  constructor(options: HarnessOptions) {
    this.options = options;
    this.world = new World({ seed: options.seed ?? 1 });
    this.timeline = new Timeline(() => this.world.scheduler.now());
    this.device = new MappedDevice('mirror', this.world.scheduler);
    if (options.remoteRecovering !== undefined) {
      this.hooks.remoteRecovering = new Set(options.remoteRecovering);
    }
    runTask(this.world.scheduler, this.device.load(this.build(options.table)));
    // The constructor's kmirrord pass runs before userspace's resume ioctl arrives, as on Linux.
    this.settle();
    if (options.activate !== false) {
      this.resume();
      if (options.settle !== false) this.settle();
    }
  }

  /** The live mirror target (the loaded one before the first resume). */
  get mirror(): MirrorSet {
    return (this.device.target ?? this.device.inactive) as MirrorSet;
  }

  /** The newest recording log. */
  get log(): RecordingLog {
    return this.logs[this.logs.length - 1]!;
  }

  /** The simulated device behind a name (a leg or the log device). */
  sim(name: string): SimulatedDevice {
    return this.world.device(name);
  }

  /** Builds a target from a table line (`createMirrorTarget`), recording its devices and log. */
  build(table: string): MirrorSet {
    const line = parseTableLine(table);
    building = { timeline: this.timeline, hooks: this.hooks, logs: this.logs };
    try {
      return createMirrorTarget(line.args, {
        scheduler: this.world.scheduler,
        lengthSectors: line.lengthSectors,
        getDevice: (name, minimumSizeSectors, role) =>
          this.getDevice(
            name,
            role === 'log' ? Math.max(minimumSizeSectors, 64) : minimumSizeSectors,
            role,
          ),
        raiseEvent: (reason) => {
          this.events.push(reason);
          this.timeline.record(`event ${reason}`);
          this.device.raiseEvent(reason);
        },
        ...(this.options.resyncThrottlePercent === undefined
          ? {}
          : { resyncThrottlePercent: this.options.resyncThrottlePercent }),
      });
    } finally {
      building = null;
    }
  }

  /** Loads `table` and swaps it in: load, suspend, resume (a reload). */
  reload(table: string, options: { readonly noflush?: boolean } = {}): void {
    runTask(this.world.scheduler, this.device.load(this.build(table)));
    // `dmsetup load` returns before `dmsetup suspend`: the new table's first kmirrord pass runs.
    this.settle();
    this.suspend(options);
    this.resume();
  }

  suspend(options: { readonly noflush?: boolean } = {}): void {
    runTask(this.world.scheduler, this.device.suspend({ noflush: options.noflush === true }));
  }

  resume(): void {
    runTask(this.world.scheduler, this.device.resume());
  }

  /** Runs the world until nothing is pending. */
  settle(): void {
    this.world.scheduler.runUntilIdle({ stepsMax: 5_000_000 });
  }

  /** Runs events until `predicate` holds; fails the test if the world goes idle first. */
  runUntil(predicate: () => boolean, what = 'the condition'): void {
    const reached = this.world.scheduler.runUntil(predicate, { stepsMax: 5_000_000 });
    expect(reached, `${what} was reached`).toBe(true);
  }

  /** Advances simulated time by `ticks`, running what falls due. */
  runFor(ticks: number): void {
    this.world.scheduler.runFor(ticks);
  }

  /** Timeline texts from `from` (an index) on, matching `pattern`. */
  textsSince(from: number, pattern?: RegExp): string[] {
    const texts = this.timeline.entries.slice(from).map((entry) => entry.text);
    return pattern === undefined ? texts : texts.filter((text) => pattern.test(text));
  }

  status(type: StatusType): string {
    return runTask(this.world.scheduler, this.device.status(type));
  }

  write(
    sector: number,
    sectorCount: number,
    options: { fill?: number; fua?: boolean } = {},
  ): Outcome {
    const data = new Uint8Array(sectorCount * 512).fill(options.fill ?? 0xab);
    const outcome = this.newOutcome(`user write ${sector}+${sectorCount}`);
    this.device.write({ sector, data, fua: options.fua === true }, (error) =>
      this.finish(outcome, `user write ${sector}+${sectorCount}`, error?.errno ?? null, null),
    );
    return outcome;
  }

  read(sector: number, sectorCount: number): Outcome {
    const outcome = this.newOutcome(`user read ${sector}+${sectorCount}`);
    this.device.read({ sector, sectorCount }, (error, data) =>
      this.finish(outcome, `user read ${sector}+${sectorCount}`, error?.errno ?? null, data),
    );
    return outcome;
  }

  flush(): Outcome {
    const outcome = this.newOutcome('user flush');
    this.device.flush((error) => this.finish(outcome, 'user flush', error?.errno ?? null, null));
    return outcome;
  }

  discard(sector: number, sectorCount: number): Outcome {
    const outcome = this.newOutcome(`user discard ${sector}+${sectorCount}`);
    this.device.discard({ sector, sectorCount }, (error) =>
      this.finish(outcome, `user discard ${sector}+${sectorCount}`, error?.errno ?? null, null),
    );
    return outcome;
  }

  /** The first byte of every sector of `[sector, sector + count)` on a leg. */
  legBytes(legName: string, sector: number, sectorCount: number): number[] {
    const data = this.sim(legName).content.read(sector, sectorCount);
    return Array.from({ length: sectorCount }, (_, index) => data[index * 512]!);
  }

  private newOutcome(text: string): Outcome {
    this.timeline.record(text);
    return { done: false, error: null, data: null, timeTicks: -1 };
  }

  private finish(outcome: Outcome, text: string, error: string | null, data: Uint8Array | null) {
    outcome.done = true;
    outcome.error = error;
    outcome.data = data;
    outcome.timeTicks = this.world.scheduler.now();
    this.timeline.record(`${text} ${error === null ? 'done' : error}`);
  }

  private getDevice(name: string, minimumSizeSectors: number, role: 'leg' | 'log'): BlockDevice {
    const existing = this.recorders.get(name);
    if (existing !== undefined) return existing;
    const simulated = this.world.createDevice({
      name,
      sizeSectors: minimumSizeSectors,
      latency:
        this.options.deviceLatency?.[name] ??
        (role === 'leg'
          ? (this.options.legLatency ?? LEG_LATENCY)
          : (this.options.logLatency ?? LOG_LATENCY)),
      writeCache: this.options.writeCache ?? false,
    });
    const recorder = new RecordingDevice(simulated, this.timeline);
    this.recorders.set(name, recorder);
    return recorder;
  }
}

/**
 * A bio for region `region` (of `regionSectors` sectors) as `mirror_map`
 * leaves it: its region saved in `writeRegion` (0 for an empty flush).
 */
export function regionBio(
  region: number,
  regionSectors: number,
  operation: BioOperation = 'write',
): Bio {
  const sectorCount = operation === 'flush' ? 0 : regionSectors;
  const data = operation === 'write' ? new Uint8Array(sectorCount * 512) : null;
  const made = new Bio(
    operation,
    region * regionSectors,
    sectorCount,
    data,
    false,
    false,
    () => {},
  );
  made.writeRegion = operation === 'flush' ? 0 : region;
  return made;
}
