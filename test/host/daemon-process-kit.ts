/**
 * Helpers for tests of the real `mirrorsim log-daemon` process: spawning
 * the CLI from its TypeScript sources, waiting for the daemon to listen,
 * killing it hard, a raw socket client for hostile input, and a
 * request/reply helper over the synchronous socket channel.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { UlogSocketChannel } from '../../host/ulog-socket-channel.js';
import {
  decodeUlogRequest,
  encodeUlogRequest,
  type UlogRequest,
  type UlogRequestTypeCode,
} from '../../src/log/userspace/index.js';

/** The project root, where `cli/main.ts` is. */
export const PROJECT_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** A scratch directory, and a function that removes it. */
export function scratchDirectory(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'mirrorsim-daemon-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** `mirrorsim <args>` from the sources, as a child process. */
export function spawnCli(args: readonly string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** A running daemon process and what it printed. */
export interface DaemonProcess {
  readonly child: ChildProcess;
  readonly output: () => string;
}

/** Starts `mirrorsim log-daemon` and resolves once it listens. */
export async function startDaemon(
  socketPath: string,
  stateDir: string | null,
): Promise<DaemonProcess> {
  const args = ['log-daemon', '--socket', socketPath, '--verbose'];
  if (stateDir !== null) args.push('--state-dir', stateDir);
  const child = spawnCli(args);
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  await new Promise<void>((resolvePromise, reject) => {
    const timer = setInterval(() => {
      if (output.includes('listening on')) {
        clearInterval(timer);
        resolvePromise();
      }
    }, 20);
    child.once('exit', (code) => {
      clearInterval(timer);
      reject(new Error(`log-daemon exited with ${code}: ${output}`));
    });
  });
  return { child, output: () => output };
}

/** Waits for a child to exit; returns its exit code (null when killed by a signal). */
export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolvePromise) => child.once('exit', (code) => resolvePromise(code)));
}

/** `kill -9`. */
export async function killHard(daemon: DaemonProcess): Promise<void> {
  daemon.child.kill('SIGKILL');
  await exited(daemon.child);
}

/** A request record with the fields a test cares about. */
export function requestRecord(
  requestType: UlogRequestTypeCode,
  options: { seq: number; data?: Uint8Array; luid?: bigint; uuid?: string },
): UlogRequest {
  return {
    luid: options.luid ?? 1n,
    uuid: options.uuid ?? 'process-test',
    version: 3,
    error: 0,
    seq: options.seq,
    requestType,
    data: options.data ?? new Uint8Array(0),
  };
}

/** One synchronous round trip over the socket channel; the decoded reply. */
export function ask(channel: UlogSocketChannel, request: UlogRequest): UlogRequest {
  const trip = channel.roundTripNow(encodeUlogRequest(request));
  if (trip.kind !== 'reply') throw new Error(`no reply: ${trip.kind}`);
  return decodeUlogRequest(trip.reply, { direction: 'reply' });
}

/** A raw client: what it received, and whether the daemon closed it. */
export interface RawClient {
  readonly socket: Socket;
  received(): Buffer;
  closed(): boolean;
  /** Resolves once at least `bytes` bytes arrived or the connection closed. */
  waitFor(bytes: number): Promise<void>;
  waitClosed(): Promise<void>;
}

/** Connects a raw socket to the daemon. */
export async function rawClient(socketPath: string): Promise<RawClient> {
  const socket = connect(socketPath);
  await new Promise<void>((resolvePromise, reject) => {
    socket.once('connect', () => resolvePromise());
    socket.once('error', reject);
  });
  let data = Buffer.alloc(0);
  let isClosed = false;
  socket.on('data', (chunk: Buffer) => {
    data = Buffer.concat([data, chunk]);
  });
  socket.on('close', () => {
    isClosed = true;
  });
  socket.on('error', () => {});
  const poll = (done: () => boolean) =>
    new Promise<void>((resolvePromise) => {
      const timer = setInterval(() => {
        if (done()) {
          clearInterval(timer);
          resolvePromise();
        }
      }, 10);
    });
  return {
    socket,
    received: () => data,
    closed: () => isClosed,
    waitFor: (bytes) => poll(() => data.length >= bytes || isClosed),
    waitClosed: () => poll(() => isClosed),
  };
}
