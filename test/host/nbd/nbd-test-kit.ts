/**
 * A hand-made NBD client for the protocol tests: builders for every frame
 * a client sends (reference nbd.md §2.1–§3.1), parsers for what the server
 * answers, and a raw socket client that can send any bytes, split them
 * anywhere, and read replies back. Also an in-process server over a small
 * simulated mirror, started in a scratch directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUN_LEG_LATENCY, RUN_LOG_LATENCY } from '../../../cli/run-command.js';
import { ByteQueue } from '../../../host/nbd/protocol/byte-queue.js';
import { type ServeOptions, ServeService } from '../../../host/nbd/serve-service.js';
import '../../../src/log/builtin-logs.js';

export const IHAVEOPT = [0x49484156, 0x454f5054] as const;

export function u16(value: number): Uint8Array {
  return Uint8Array.of(value >>> 8, value & 0xff);
}

export function u32(value: number): Uint8Array {
  return Uint8Array.of(value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
}

export function u64(value: number): Uint8Array {
  return concat(u32(Math.floor(value / 2 ** 32)), u32(value % 2 ** 32));
}

export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return bytes;
}

export function text(value: string): Uint8Array {
  return new TextEncoder().encode(value);
}

/** An option request: IHAVEOPT, the code, the data length, the data (§2.2). */
export function option(code: number, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  return concat(u32(IHAVEOPT[0]), u32(IHAVEOPT[1]), u32(code), u32(data.length), data);
}

/** The data of INFO or GO: name length, name, info count, info codes (§2.3). */
export function goData(name: string, infos: readonly number[] = []): Uint8Array {
  const nameBytes = text(name);
  return concat(u32(nameBytes.length), nameBytes, u16(infos.length), ...infos.map(u16));
}

/** The data of LIST/SET_META_CONTEXT: name, query count, queries (§2.3). */
export function metaData(name: string, queries: readonly string[]): Uint8Array {
  const nameBytes = text(name);
  return concat(
    u32(nameBytes.length),
    nameBytes,
    u32(queries.length),
    ...queries.flatMap((query) => [u32(text(query).length), text(query)]),
  );
}

/** A transmission request (§3.1), with its payload for WRITE. */
export function request(spec: {
  readonly type: number;
  readonly flags?: number;
  readonly cookie?: number;
  readonly offset?: number;
  readonly length?: number;
  readonly payload?: Uint8Array;
  readonly magic?: number;
}): Uint8Array {
  const cookie = spec.cookie ?? 1;
  return concat(
    u32(spec.magic ?? 0x25609513),
    u16(spec.flags ?? 0),
    u16(spec.type),
    u32(0x5eed0000 + (cookie >>> 16)),
    u32(cookie),
    u64(spec.offset ?? 0),
    u32(spec.length ?? spec.payload?.length ?? 0),
    spec.payload ?? new Uint8Array(0),
  );
}

/** One option reply as the server sent it (§2.2). */
export interface OptionReply {
  readonly code: number;
  readonly type: number;
  readonly payload: Uint8Array;
}

/** A transmission reply: simple (§3.4) or one structured chunk (§3.5). */
export interface TransmissionReply {
  readonly kind: 'simple' | 'chunk';
  readonly error: number;
  readonly cookie: number;
  readonly flags: number;
  readonly chunkType: number;
  readonly payload: Uint8Array;
}

/** Takes one option reply off `queue`, or null if it is not whole yet. */
export function takeOptionReply(queue: ByteQueue): OptionReply | null {
  if (queue.length < 20) return null;
  const length = queue.peekUint32(16);
  if (queue.length < 20 + length) return null;
  if (queue.peekUint32(0) !== 0x0003e889 || queue.peekUint32(4) !== 0x045565a9) {
    throw new Error('option reply without the reply magic');
  }
  const code = queue.peekUint32(8);
  const type = queue.peekUint32(12);
  queue.skip(20);
  return { code, type, payload: queue.take(length) };
}

/**
 * Takes one transmission reply off `queue`; `readLength(cookie)` says how
 * many data bytes follow a successful simple reply (a READ's length, else 0).
 */
export function takeTransmissionReply(
  queue: ByteQueue,
  readLength: (cookie: number) => number,
): TransmissionReply | null {
  if (queue.length < 16) return null;
  const magic = queue.peekUint32(0);
  if (magic === 0x67446698) {
    const error = queue.peekUint32(4);
    const cookie = queue.peekUint32(12);
    const dataLength = error === 0 ? readLength(cookie) : 0;
    if (queue.length < 16 + dataLength) return null;
    queue.skip(16);
    return {
      kind: 'simple',
      error,
      cookie,
      flags: 0,
      chunkType: 0,
      payload: queue.take(dataLength),
    };
  }
  if (magic !== 0x668e33ef) throw new Error(`reply magic 0x${magic.toString(16)}`);
  if (queue.length < 20) return null;
  const length = queue.peekUint32(16);
  if (queue.length < 20 + length) return null;
  const flags = queue.peekUint16(4);
  const chunkType = queue.peekUint16(6);
  const cookie = queue.peekUint32(12);
  queue.skip(20);
  const payload = queue.take(length);
  const error =
    chunkType >= 0x8000
      ? (payload[0]! << 24) | (payload[1]! << 16) | (payload[2]! << 8) | payload[3]!
      : 0;
  return { kind: 'chunk', error: error >>> 0, cookie, flags, chunkType, payload };
}

/** A raw client over a Unix socket: sends any bytes, collects everything the server sends. */
export class RawClient {
  readonly received = new ByteQueue();
  private waiters: Array<() => void> = [];
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.received.push(new Uint8Array(chunk));
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  static connect(path: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(path);
      socket.once('connect', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Writes `bytes`, split at `cuts` (offsets into it), each piece its own write. */
  async send(bytes: Uint8Array, cuts: readonly number[] = []): Promise<void> {
    const points = [...new Set(cuts.filter((cut) => cut > 0 && cut < bytes.length))].sort(
      (a, b) => a - b,
    );
    let start = 0;
    for (const point of [...points, bytes.length]) {
      if (this.closed) return;
      this.socket.write(bytes.subarray(start, point));
      start = point;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Waits until `ready()` holds or the socket closes (then returns false). */
  async until(ready: () => boolean, timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      if (this.closed) return ready();
      if (Date.now() > deadline) throw new Error('timed out waiting for the server');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  }

  /** Reads the greeting, sends client flags, and returns the greeting bytes. */
  async greet(clientFlags = 3): Promise<Uint8Array> {
    await this.until(() => this.received.length >= 18);
    const greeting = this.received.take(18);
    await this.send(u32(clientFlags));
    return greeting;
  }

  async optionReply(): Promise<OptionReply> {
    let reply: OptionReply | null = null;
    await this.until(() => {
      reply = takeOptionReply(this.received);
      return reply !== null;
    });
    if (reply === null) throw new Error('connection closed before an option reply');
    return reply;
  }

  /** Option replies up to and including the final one (ACK or an error) for one option. */
  async optionReplies(): Promise<OptionReply[]> {
    const replies: OptionReply[] = [];
    for (;;) {
      const reply = await this.optionReply();
      replies.push(reply);
      if (reply.type === 1 || reply.type >= 0x80000000) return replies;
    }
  }

  /** Negotiates structured replies (optionally base:allocation) and GO; returns the GO replies. */
  async negotiate(
    options: { structured?: boolean; baseAllocation?: boolean } = {},
  ): Promise<OptionReply[]> {
    await this.greet();
    if (options.structured !== false) {
      await this.send(option(8));
      await this.optionReplies();
    }
    if (options.baseAllocation === true) {
      await this.send(option(10, metaData('', ['base:allocation'])));
      await this.optionReplies();
    }
    await this.send(option(7, goData('', [3])));
    return this.optionReplies();
  }

  async reply(readLength: (cookie: number) => number = () => 0): Promise<TransmissionReply> {
    let reply: TransmissionReply | null = null;
    await this.until(() => {
      reply = takeTransmissionReply(this.received, readLength);
      return reply !== null;
    });
    if (reply === null) throw new Error('connection closed before a reply');
    return reply;
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}

/** A scratch directory and a function that removes it. */
export function scratchDirectory(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'mirrorsim-nbd-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** `mirrorsim serve` in this process over a small core-log mirror (4 MiB unless told otherwise). */
export async function startServe(
  directory: string,
  overrides: Partial<ServeOptions> = {},
): Promise<ServeService> {
  return ServeService.start({
    table: '0 8192 mirror core 1 256 2 leg0 0 leg1 0',
    seed: 1,
    clock: 'virtual',
    writeCache: true,
    legLatency: RUN_LEG_LATENCY,
    logLatency: RUN_LOG_LATENCY,
    cacheWritesMax: 256,
    whiteBox: true,
    name: 'mirror',
    listen: { kind: 'unix', path: join(directory, 'nbd.sock') },
    controlPath: join(directory, 'control.sock'),
    crashState: 'random',
    ...overrides,
  });
}
