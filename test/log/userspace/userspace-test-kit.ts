/**
 * The userspace-log tests' kit: a scripted channel that decodes and
 * records every request the kernel side sends and answers it — by default
 * with the real daemon handler over `core`/`disk` logs, or as each test
 * scripts it (an error, a lost reply, a late reply, nobody listening) —
 * and a harness that builds `userspace` logs on a world over it.
 */
import { expect } from 'vitest';
import { World } from '../../../sim/world.js';
import { type Blocking, runNonBlocking, spawn } from '../../../src/concurrency/blocking.js';
import { ESRCH } from '../../../src/errno.js';
import '../../../src/log/builtin-logs.js';
import type { DirtyLogContext } from '../../../src/log/dirty-log.js';
import { createDirtyLog } from '../../../src/log/registry.js';
import {
  buildUlogReply,
  decodeUlogRegions,
  decodeUlogRequest,
  encodeUlogRequest,
  type UlogChannel,
  type UlogChannelEndpoint,
  UlogDaemon,
  type UlogRequest,
  type UlogRoundTrip,
  UlogTransfer,
  type UserspaceLog,
  ulogRequestTypeName,
} from '../../../src/log/userspace/index.js';

/** What a scripted answer may be. */
export type ScriptedAnswer =
  | { readonly error?: number; readonly data?: Uint8Array; readonly delayTicks?: number }
  | 'drop'
  | 'no-listener';

/** A request as the channel saw it. */
export interface SeenRequest {
  readonly request: UlogRequest;
  /** `DM_ULOG_FLUSH` → `FLUSH`. */
  readonly type: string;
  readonly timeTicks: number;
}

/**
 * A channel whose daemon is the real {@link UlogDaemon} (answering at once,
 * without blocking, over `core` logs or in-memory `disk` logs), unless
 * `script` returns an answer for a request first.
 */
export class ScriptedChannel implements UlogChannel {
  readonly seen: SeenRequest[] = [];
  readonly world: World;
  readonly daemon: UlogDaemon;
  /** Per-request override; `undefined` lets the daemon answer. */
  script: ((request: UlogRequest, index: number) => ScriptedAnswer | undefined) | null = null;
  latencyTicks = 10;
  private endpoint: UlogChannelEndpoint | null = null;

  constructor(world: World) {
    this.world = world;
    this.daemon = new UlogDaemon({
      scheduler: world.scheduler,
      getDevice: (name, minimumSizeSectors) =>
        world.devices.find((device) => device.name === name) ??
        world.createDevice({ name, sizeSectors: minimumSizeSectors }),
    });
  }

  attach(endpoint: UlogChannelEndpoint): void {
    this.endpoint = endpoint;
  }

  send(record: Uint8Array): number {
    const request = this.see(record);
    const scripted = this.script?.(request, this.seen.length - 1);
    if (scripted === 'no-listener') return ESRCH;
    if (scripted === 'drop') return 0;
    const deliver = (reply: UlogRequest, delayTicks: number) => {
      const bytes = encodeUlogRequest(reply, { direction: 'reply' });
      this.world.scheduler.schedule(delayTicks, 'test.reply', () => this.endpoint?.receive(bytes));
    };
    expect(this.endpoint).not.toBeNull();
    if (scripted !== undefined) {
      deliver(this.scriptedReply(request, scripted), scripted.delayTicks ?? this.latencyTicks);
      return 0;
    }
    // The real daemon may block on its backing log's I/O: its reply goes out when it is done.
    spawn(this.daemon.handle(request), (reply) => deliver(reply, this.latencyTicks));
    return 0;
  }

  roundTripNow(record: Uint8Array): UlogRoundTrip {
    const request = this.see(record);
    const scripted = this.script?.(request, this.seen.length - 1);
    if (scripted === 'no-listener') return { kind: 'no-listener' };
    if (scripted === 'drop') return { kind: 'lost' };
    const reply =
      scripted === undefined
        ? runNonBlocking(this.daemon.handle(request), 'scripted daemon on the load path')
        : this.scriptedReply(request, scripted);
    return { kind: 'reply', reply: encodeUlogRequest(reply, { direction: 'reply' }) };
  }

  /** The short type names of the requests seen, in order, from `from`. */
  types(from = 0): string[] {
    return this.seen.slice(from).map((seen) => seen.type);
  }

  /** Requests of one short type name. */
  ofType(type: string): SeenRequest[] {
    return this.seen.filter((seen) => seen.type === type);
  }

  /** `MARK_REGION[3,2]`-style summaries of what was sent from `from` on. */
  summary(from = 0): string[] {
    return this.seen.slice(from).map(({ request, type }) => {
      if (type === 'MARK_REGION' || type === 'CLEAR_REGION' || type === 'FLUSH') {
        if (request.data.length === 0) return type;
        return `${type}[${decodeUlogRegions(request.data).join(',')}]`;
      }
      return type;
    });
  }

  private see(record: Uint8Array): UlogRequest {
    const request = decodeUlogRequest(record);
    this.seen.push({
      request,
      type: ulogRequestTypeName(request.requestType).replace('DM_ULOG_', ''),
      timeTicks: this.world.scheduler.now(),
    });
    return request;
  }

  private scriptedReply(
    request: UlogRequest,
    scripted: { readonly error?: number; readonly data?: Uint8Array },
  ): UlogRequest {
    return buildUlogReply(request, {
      error: scripted.error ?? 0,
      ...(scripted.data === undefined ? {} : { data: scripted.data }),
    });
  }
}

/** A world, a scripted channel, one kernel transfer layer, and a factory of userspace logs. */
export class UserspaceHarness {
  readonly world: World;
  readonly channel: ScriptedChannel;
  readonly transfer: UlogTransfer;
  readonly events: string[] = [];
  readonly openedDevices: string[] = [];

  constructor(options: { readonly seed?: number } = {}) {
    this.world = new World({ seed: options.seed ?? 1 });
    this.channel = new ScriptedChannel(this.world);
    this.transfer = new UlogTransfer({ scheduler: this.world.scheduler, channel: this.channel });
  }

  /** The log context a mirror of `targetLengthSectors` would give. */
  context(targetLengthSectors = 64 * 1024): DirtyLogContext {
    return {
      scheduler: this.world.scheduler,
      targetLengthSectors,
      flushCallback: null,
      getDevice: (name) => {
        this.openedDevices.push(name);
        return this.world.createDevice({ name, sizeSectors: 8 });
      },
      raiseEvent: (reason) => this.events.push(reason),
      userspaceTransfer: () => this.transfer,
    };
  }

  /** Builds a `userspace` log from its table arguments (after `userspace <#args>`). */
  create(args: readonly string[], targetLengthSectors = 64 * 1024): UserspaceLog {
    return createDirtyLog('userspace', this.context(targetLengthSectors), args) as UserspaceLog;
  }

  /** Builds a `userspace` log and resumes it, as the mirror's first resume would. */
  live(args: readonly string[], targetLengthSectors = 64 * 1024): UserspaceLog {
    const log = this.create(args, targetLengthSectors);
    expect(this.run(log.resume())).toBe(0);
    return log;
  }

  /** Runs a blocking call to completion (the scheduler runs until idle) and returns its result. */
  run<T>(task: Blocking<T>): T {
    let finished = false;
    let result: T | undefined;
    spawn(task, (value) => {
      finished = true;
      result = value;
    });
    this.world.scheduler.runUntilIdle();
    expect(finished, 'the blocking call finished').toBe(true);
    return result as T;
  }

  /** Starts a blocking call and returns a probe of whether (and with what) it finished. */
  start<T>(task: Blocking<T>): { done: boolean; value: T | undefined } {
    const probe: { done: boolean; value: T | undefined } = { done: false, value: undefined };
    spawn(task, (value) => {
      probe.done = true;
      probe.value = value;
    });
    return probe;
  }
}
