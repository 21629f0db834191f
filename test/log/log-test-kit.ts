/**
 * Shared helpers for the dirty-log tests: a world, a log context whose leg
 * flush callback and events are recorded, a log device wrapper that records
 * the order of requests, and a driver for Blocking methods.
 */
import { expect } from 'vitest';
import { World } from '../../sim/world.js';
import type { BlockDevice } from '../../src/block/block-device.js';
import {
  InterposedDevice,
  type InterposedKind,
  type InterposedRequest,
} from '../../src/block/interposed-device.js';
import { fixedLatency } from '../../src/block/latency.js';
import type { SimulatedDevice } from '../../src/block/simulated-device.js';
import { type Blocking, spawn, waitFor } from '../../src/concurrency/blocking.js';
import '../../src/log/builtin-logs.js';
import type { DirtyLogContext } from '../../src/log/dirty-log.js';
import { TableError } from '../../src/table/table-error.js';

/** Runs a Blocking computation to completion on the world's scheduler and returns its result. */
export function run<T>(world: World, task: Blocking<T>): T {
  let finished = false;
  let result: T | undefined;
  spawn(task, (value) => {
    finished = true;
    result = value;
  });
  world.scheduler.runUntilIdle();
  expect(finished, 'the blocking task finished').toBe(true);
  return result as T;
}

/**
 * A log device that records each request when it is issued (`log.read`,
 * `log.write`, `log.fua-write`, `log.flush`) and when it completes
 * (`...:done`), into a trace shared with the leg flush callback.
 */
export class RecordingDevice extends InterposedDevice {
  constructor(inner: BlockDevice, trace: string[]) {
    super(inner, {
      submit: (request) => {
        trace.push(describeSubmit(request));
        return true;
      },
      complete: (request, error) => {
        const done = COMPLETION_LABELS[request.kind];
        if (done !== undefined) trace.push(`${done}:done${error === null ? '' : ' error'}`);
        return true;
      },
    });
  }
}

const COMPLETION_LABELS: Partial<Record<InterposedKind, string>> = {
  read: 'log.read',
  write: 'log.write',
  flush: 'log.flush',
};

function describeSubmit(request: InterposedRequest): string {
  const range = `${request.sector}+${request.sectorCount}`;
  switch (request.kind) {
    case 'read':
      return `log.read ${range}`;
    case 'write':
      return `${request.fua ? 'log.fua-write' : 'log.write'} ${range}`;
    default:
      return `log.${request.kind}`;
  }
}

export interface HarnessOptions {
  readonly seed?: number;
  readonly targetLengthSectors?: number;
  /** Log device size; default 64 sectors. */
  readonly logSizeSectors?: number;
  readonly logicalBlockSizeBytes?: number;
  readonly writeCache?: boolean;
  /** Give the log no flush callback (a log used without a mirror). */
  readonly noFlushCallback?: boolean;
}

/** A world with one log device `log0`, and a context that records what the log does. */
export class LogHarness {
  readonly world: World;
  readonly device: SimulatedDevice;
  readonly recording: RecordingDevice;
  /** Issue and completion order of log-device requests and leg flush callbacks. */
  readonly trace: string[] = [];
  readonly events: string[] = [];
  /** What the next leg flush callbacks return (0 = success); consumed front first, then 0. */
  readonly legFlushResults: number[] = [];
  readonly context: DirtyLogContext;

  constructor(options: HarnessOptions = {}) {
    this.world = new World({ seed: options.seed ?? 1 });
    this.device = this.world.createDevice({
      name: 'log0',
      sizeSectors: options.logSizeSectors ?? 64,
      logicalBlockSizeBytes: options.logicalBlockSizeBytes ?? 512,
      writeCache: options.writeCache ?? false,
      latency: { read: fixedLatency(2), write: fixedLatency(5), flush: fixedLatency(7) },
    });
    this.recording = new RecordingDevice(this.device, this.trace);
    const world = this.world;
    const trace = this.trace;
    const results = this.legFlushResults;
    function* legFlush(): Blocking<number> {
      trace.push('leg.flush');
      yield* waitFor<void>((resume) => {
        world.scheduler.schedule(3, 'legs.flush', () => resume());
      });
      trace.push('leg.flush:done');
      return results.shift() ?? 0;
    }
    this.context = {
      scheduler: world.scheduler,
      targetLengthSectors: options.targetLengthSectors ?? 100 * 1024,
      flushCallback: options.noFlushCallback === true ? null : legFlush,
      getDevice: (name: string) => {
        if (name !== 'log0') throw new TableError(`Device "${name}" not found: expected "log0"`);
        return this.recording;
      },
      raiseEvent: (reason: string) => {
        this.events.push(reason);
      },
    };
  }

  /** Takes and clears the recorded trace. */
  takeTrace(): string[] {
    return this.trace.splice(0);
  }
}

/** Bytes `[from, from + count)` of a device image. */
export function imageBytes(
  store: { read(sector: number, count: number): Uint8Array },
  from: number,
  count: number,
): number[] {
  const sectors = Math.ceil((from + count) / 512);
  return [...store.read(0, sectors).subarray(from, from + count)];
}

/** The expected 16 header bytes: magic, version, nr_regions, all little-endian. */
export function headerBytes(version: number, nrRegions: number, magic = 0x4d695272): number[] {
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, magic, true);
  view.setUint32(4, version, true);
  view.setBigUint64(8, BigInt(nrRegions), true);
  return [...bytes];
}
