/**
 * The userspace log daemon as a real process (`mirrorsim log-daemon`): a
 * Unix stream socket, created with mode 0600, carrying whole
 * `dm_ulog_request` records back to back, served by the same
 * {@link UlogDaemon} logic as the simulator's in-process daemon, driven
 * here by Node's timers.
 *
 * One mailbox for every connection: requests are handled one at a time to
 * completion, in arrival order. A bad record gets an error reply (when its
 * header says whom to answer) and the connection stays up; a `data_size`
 * over the limit leaves the stream unframeable, so that connection is
 * answered and closed — the daemon keeps serving everyone else.
 *
 * Backpressure: a client must read its replies. Per connection the daemon
 * holds at most {@link CONNECTION_QUEUED_REQUESTS_MAX} requests not yet
 * answered and {@link CONNECTION_WRITE_BUFFER_BYTES_MAX} bytes of replies
 * not yet taken by the kernel's socket buffer; past either it stops
 * reading that connection until the client catches up, so the client's
 * own writes block instead of the daemon's memory growing.
 *
 * With a state directory, each backing log device is a file there
 * (`<name>.img`, in the disk log's on-disk format), synced on every log
 * flush, so `kill -9` and a restart lose nothing the daemon acknowledged.
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { BlockDevice } from '../src/block/block-device.js';
import { spawn } from '../src/concurrency/blocking.js';
import { ULOG_HEADER_BYTES } from '../src/log/userspace/ulog-constants.js';
import { UlogDaemon } from '../src/log/userspace/ulog-daemon.js';
import type { UlogProtocolError } from '../src/log/userspace/ulog-protocol-error.js';
import { buildUlogErrorReply } from '../src/log/userspace/ulog-reply.js';
import { encodeUlogRequest, type UlogRequest } from '../src/log/userspace/ulog-request.js';
import { UlogStreamDecoder } from '../src/log/userspace/ulog-stream-decoder.js';
import { TableError } from '../src/table/table-error.js';
import { FileBlockDevice } from './file-block-device.js';
import { MemoryBlockDevice } from './memory-block-device.js';
import { RealTimeScheduler } from './realtime-scheduler.js';

/** The most regions one log may have in a daemon that takes untrusted requests (2^27). */
export const DAEMON_REGIONS_MAX = 2 ** 27;

/** Requests of one connection decoded and not yet answered before the daemon stops reading it. */
export const CONNECTION_QUEUED_REQUESTS_MAX = 256;
/** Reply bytes waiting to be sent on one connection before the daemon stops reading it. */
export const CONNECTION_WRITE_BUFFER_BYTES_MAX = 256 * 1024;
/** The longest socket path, in bytes: `sun_path` holds 108 with the NUL. */
export const SOCKET_PATH_BYTES_MAX = 107;

/** How a {@link UlogDaemonServer} is started. */
export interface UlogDaemonServerOptions {
  readonly socketPath: string;
  /** Where backing log devices are kept as files; in memory when null. */
  readonly stateDir: string | null;
  /** Where the daemon's log lines go (default: nowhere). */
  readonly log?: (line: string) => void;
}

/** Counters of the daemon process. */
export interface UlogDaemonServerStats {
  connections: number;
  requests: number;
  /** Records refused by framing or decoding (answered when possible). */
  badRecords: number;
  /** Connections closed because their stream could not be framed any more. */
  connectionsClosedForFatal: number;
  /** Times a connection stopped being read because its client did not take its replies. */
  backpressurePauses: number;
  /** The most one connection ever held: queued requests' bytes plus unsent reply bytes. */
  connectionBufferedBytesPeak: number;
}

/** What the daemon holds for one connection. */
interface ConnectionState {
  /** Requests (and raw error replies) in the mailbox, not yet answered. */
  queued: number;
  queuedBytes: number;
  paused: boolean;
}

type MailboxItem =
  | { readonly kind: 'request'; readonly connection: Socket; readonly request: UlogRequest }
  | { readonly kind: 'raw'; readonly connection: Socket; readonly bytes: Uint8Array }
  | { readonly kind: 'close'; readonly connection: Socket };

/** A listening daemon process (see the file comment). */
export class UlogDaemonServer {
  readonly socketPath: string;
  readonly stateDir: string | null;
  readonly stats: UlogDaemonServerStats = {
    connections: 0,
    requests: 0,
    badRecords: 0,
    connectionsClosedForFatal: 0,
    backpressurePauses: 0,
    connectionBufferedBytesPeak: 0,
  };
  readonly daemon: UlogDaemon;
  private readonly scheduler = new RealTimeScheduler();
  private readonly devices = new Map<string, BlockDevice>();
  private readonly server: Server;
  private readonly connections = new Map<Socket, ConnectionState>();
  private readonly log: (line: string) => void;
  private mailbox: MailboxItem[] = [];
  private busy = false;

  private constructor(options: UlogDaemonServerOptions) {
    this.socketPath = options.socketPath;
    this.stateDir = options.stateDir;
    this.log = options.log ?? (() => {});
    this.daemon = new UlogDaemon({
      scheduler: this.scheduler,
      getDevice: (name, minimumSizeSectors) => this.openDevice(name, minimumSizeSectors),
      regionsMax: DAEMON_REGIONS_MAX,
      onMessage: (text) => this.log(text),
    });
    this.server = createServer((connection) => this.accept(connection));
  }

  /**
   * Starts listening on `socketPath` with mode 0600. A stale socket file
   * nobody listens on is replaced; a live one, or any other file there, is
   * an error.
   */
  static async start(options: UlogDaemonServerOptions): Promise<UlogDaemonServer> {
    const pathBytes = Buffer.byteLength(options.socketPath);
    if (pathBytes > SOCKET_PATH_BYTES_MAX) {
      // Node would bind the socket at the path cut to sun_path's size: refuse before anything exists.
      throw new RangeError(
        `Socket path "${options.socketPath}" is ${pathBytes} bytes: expected at most ${SOCKET_PATH_BYTES_MAX} (sun_path)`,
      );
    }
    if (options.stateDir !== null) mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
    await removeStaleSocket(options.socketPath);
    const daemon = new UlogDaemonServer(options);
    await daemon.listen();
    return daemon;
  }

  /** Stops listening, drops every connection, closes the devices and removes the socket. */
  async close(): Promise<void> {
    for (const connection of this.connections.keys()) connection.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const device of this.devices.values()) {
      if (device instanceof FileBlockDevice) device.close();
    }
    if (existsSync(this.socketPath)) unlinkSync(this.socketPath);
  }

  private async listen(): Promise<void> {
    // The socket is born 0600 (umask), then chmod makes sure: nobody else may drive the logs.
    const previousUmask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        this.server.once('error', reject);
        this.server.listen(this.socketPath, () => {
          this.server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(previousUmask);
    }
    chmodSync(this.socketPath, 0o600);
  }

  private accept(connection: Socket): void {
    this.stats.connections++;
    const state: ConnectionState = { queued: 0, queuedBytes: 0, paused: false };
    this.connections.set(connection, state);
    const decoder = new UlogStreamDecoder({ direction: 'request' });
    connection.on('data', (chunk: Buffer) => {
      const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      for (const item of decoder.push(bytes)) {
        if (item.kind === 'record') {
          this.post({ kind: 'request', connection, request: item.record });
        } else {
          this.refuse(connection, item.error);
        }
      }
      this.applyBackpressure(connection, state);
    });
    connection.on('drain', () => this.applyBackpressure(connection, state));
    connection.on('end', () => {
      const error = decoder.end();
      if (error !== null) this.refuse(connection, error);
      this.post({ kind: 'close', connection });
    });
    connection.on('error', () => connection.destroy());
    connection.on('close', () => this.connections.delete(connection));
  }

  /**
   * Stops reading a connection whose client has too much unanswered or
   * unread, and reads it again once both are under half their bound.
   */
  private applyBackpressure(connection: Socket, state: ConnectionState): void {
    const buffered = state.queuedBytes + connection.writableLength;
    this.stats.connectionBufferedBytesPeak = Math.max(
      this.stats.connectionBufferedBytesPeak,
      buffered,
    );
    const over =
      state.queued >= CONNECTION_QUEUED_REQUESTS_MAX ||
      connection.writableLength >= CONNECTION_WRITE_BUFFER_BYTES_MAX;
    const under =
      state.queued < CONNECTION_QUEUED_REQUESTS_MAX / 2 &&
      connection.writableLength < CONNECTION_WRITE_BUFFER_BYTES_MAX / 2;
    if (over && !state.paused) {
      state.paused = true;
      this.stats.backpressurePauses++;
      connection.pause();
    } else if (under && state.paused && !connection.destroyed) {
      state.paused = false;
      connection.resume();
    }
  }

  /** A bad record: answered if its header is readable; a fatal one closes the connection after. */
  private refuse(connection: Socket, error: UlogProtocolError): void {
    this.stats.badRecords++;
    this.log(`bad record: ${error.message}`);
    const answer = buildUlogErrorReply(error);
    if (answer.answerable) this.post({ kind: 'raw', connection, bytes: answer.bytes });
    if (error.fatal) {
      this.stats.connectionsClosedForFatal++;
      this.post({ kind: 'close', connection });
    }
  }

  /** Into the one mailbox; items of a connection keep their order. */
  private post(item: MailboxItem): void {
    const state = this.connections.get(item.connection);
    if (state !== undefined && item.kind !== 'close') {
      state.queued++;
      state.queuedBytes += itemBytes(item);
    }
    this.mailbox.push(item);
    if (!this.busy) this.takeNext();
  }

  /** An item left the mailbox: its connection holds less. */
  private taken(item: MailboxItem): void {
    const state = this.connections.get(item.connection);
    if (state === undefined || item.kind === 'close') return;
    state.queued--;
    state.queuedBytes -= itemBytes(item);
    this.applyBackpressure(item.connection, state);
  }

  private takeNext(): void {
    const item = this.mailbox.shift();
    if (item === undefined) return;
    if (item.kind !== 'request') {
      if (item.kind === 'raw') writeTo(item.connection, item.bytes);
      else item.connection.end();
      this.taken(item);
      this.takeNext();
      return;
    }
    this.busy = true;
    this.stats.requests++;
    spawn(this.daemon.handle(item.request), (reply) => {
      writeTo(item.connection, encodeUlogRequest(reply, { direction: 'reply' }));
      this.taken(item);
      this.busy = false;
      // The next request starts as its own event, so a long queue never deepens the stack.
      if (this.mailbox.length > 0) setImmediate(() => this.busy || this.takeNext());
    });
  }

  /** A backing log's device: a file under the state directory, or memory. */
  private openDevice(name: string, minimumSizeSectors: number): BlockDevice {
    if (!/^[A-Za-z0-9_.:-]+$/.test(name) || name === '.' || name === '..') {
      throw new TableError(`Invalid log device name "${name}": expected letters, digits, _ . : -`);
    }
    const open = this.devices.get(name);
    if (open !== undefined && open.sizeSectors >= minimumSizeSectors) return open;
    if (open instanceof FileBlockDevice) open.close();
    const device =
      this.stateDir === null
        ? new MemoryBlockDevice(name, minimumSizeSectors)
        : this.openFileDevice(name, minimumSizeSectors, this.stateDir);
    this.devices.set(name, device);
    this.log(`opened log device ${name} (${device.sizeSectors} sectors)`);
    return device;
  }

  /**
   * A log device's file in the state directory. A file that cannot be
   * opened (the directory became read-only, the disk is full) fails this
   * one constructor with -EINVAL, as a bad table would; the daemon serves on.
   */
  private openFileDevice(name: string, sizeSectors: number, stateDir: string): FileBlockDevice {
    const path = join(stateDir, `${name}.img`);
    try {
      return FileBlockDevice.open({ name, path, sizeSectors });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new TableError(`Cannot open log device "${name}" as "${path}": ${code}`);
    }
  }
}

/** What a mailbox item holds in memory: a request's header and payload, or raw reply bytes. */
function itemBytes(item: MailboxItem): number {
  if (item.kind === 'raw') return item.bytes.length;
  if (item.kind === 'request') return ULOG_HEADER_BYTES + item.request.data.length;
  return 0;
}

function writeTo(connection: Socket, bytes: Uint8Array): void {
  if (!connection.destroyed && connection.writable) connection.write(bytes);
}

/** Removes a socket file nobody listens on; refuses a live socket or a non-socket file. */
async function removeStaleSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  if (!lstatSync(path).isSocket()) {
    throw new RangeError(`"${path}" exists and is not a socket: expected a free path for --socket`);
  }
  const live = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) {
    throw new RangeError(
      `A log daemon already listens on "${path}": expected a free path for --socket`,
    );
  }
  unlinkSync(path);
}
