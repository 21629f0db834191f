/**
 * One client connection: the handshake (protocol/handshake.ts), then the
 * transmission phase — requests framed by protocol/request-parser.ts,
 * checked by protocol/request-validation.ts, served by the export, and
 * answered out of order as they complete (§3.7), with the cookie echoed.
 *
 * Robustness (reference nbd.md §5): input is parsed from an accumulating
 * queue, so frames may arrive split or merged; a refused request gets an
 * error reply and the connection stays up; a framing error (bad magic, an
 * oversized frame) closes only this connection; every socket error is
 * handled. A connection keeps at most {@link REQUESTS_IN_FLIGHT_MAX}
 * requests in the world and stops reading while its replies back up past
 * {@link REPLY_BACKLOG_BYTES_MAX} (`write()` backpressure on 32 MiB reads).
 */
import type { Socket } from 'node:net';
import { assert } from '../../src/assert.js';
import { ByteQueue } from './protocol/byte-queue.js';
import type { NbdExportProfile } from './protocol/export-profile.js';
import { type HandshakeAction, NbdHandshake, type NbdSession } from './protocol/handshake.js';
import {
  BASE_ALLOCATION_CONTEXT_ID,
  NBD_CMD_BLOCK_STATUS,
  NBD_CMD_DISC,
  NBD_CMD_FLAG_FUA,
  NBD_CMD_FLAG_REQ_ONE,
  NBD_CMD_FLUSH,
  NBD_CMD_READ,
  NBD_CMD_TRIM,
  NBD_CMD_WRITE,
  NBD_CMD_WRITE_ZEROES,
  type NbdErrno,
} from './protocol/nbd-constants.js';
import type { BlockExtent } from './protocol/reply-encoder.js';
import {
  encodeBlockStatusChunk,
  encodeErrorChunk,
  encodeReadPrefix,
  encodeSimpleReply,
} from './protocol/reply-encoder.js';
import { type NbdRequest, NbdRequestParser } from './protocol/request-parser.js';
import { validateRequest } from './protocol/request-validation.js';

/** What a connection needs of the export it serves. */
export interface NbdBackend {
  readonly profile: NbdExportProfile;
  read(offsetBytes: number, lengthBytes: number, done: BackendDone): void;
  write(offsetBytes: number, data: Uint8Array, fua: boolean, done: BackendDone): void;
  flush(done: BackendDone): void;
  trim(offsetBytes: number, lengthBytes: number, fua: boolean, done: BackendDone): void;
  writeZeroes(offsetBytes: number, lengthBytes: number, fua: boolean, done: BackendDone): void;
  blockStatus(offsetBytes: number, lengthBytes: number, reqOne: boolean): BlockExtent[];
  /** A request was refused before it reached the world. */
  refused(type: number): void;
}

/** How the backend completes a request: an NBD error (0 for success) and, for READ, the data. */
export type BackendDone = (errno: NbdErrno, data: Uint8Array | null) => void;

/** What the server learns from a connection. */
export interface ConnectionEvents {
  closed(connection: NbdConnection): void;
  /** The connection was closed for a framing error. */
  protocolError(connection: NbdConnection, reason: string): void;
  log(line: string): void;
}

/** Requests one connection may have in the world at once before it stops reading. */
export const REQUESTS_IN_FLIGHT_MAX = 512;
/** Reply bytes queued on the socket beyond which the connection stops reading. */
export const REPLY_BACKLOG_BYTES_MAX = 64 * 1024 * 1024;

type Phase = 'handshake' | 'transmission' | 'closing';

/** One client's connection, from the greeting to the close (see the file comment). */
export class NbdConnection {
  private readonly input = new ByteQueue();
  private readonly handshake: NbdHandshake;
  private readonly parser = new NbdRequestParser();
  private session: NbdSession | null = null;
  private phase: Phase = 'handshake';
  private inFlight = 0;
  private disconnecting = false;
  private outgoing: Uint8Array[] = [];
  private flushQueued = false;
  private paused = false;
  /** Requests answered on this connection. */
  replies = 0;

  constructor(
    readonly id: number,
    private readonly socket: Socket,
    private readonly backend: NbdBackend,
    private readonly events: ConnectionEvents,
  ) {
    this.handshake = new NbdHandshake(backend.profile);
  }

  /** Requests of this connection in the world now. */
  get requestsInFlight(): number {
    return this.inFlight;
  }

  /** Sends the greeting and starts reading. */
  start(): void {
    const socket = this.socket;
    socket.on('data', (chunk: Buffer) => {
      // After DISC, ABORT or a refusal nothing more is read: the bytes are dropped, not kept.
      if (this.phase === 'closing' || this.disconnecting) return;
      this.input.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this.process();
    });
    socket.on('drain', () => this.updateReading());
    // Every socket error ends only this connection (EPIPE after ABORT, ECONNRESET at fio's EOF, §5.8).
    socket.on('error', (error) => {
      this.events.log(`connection ${this.id}: ${error.message}`);
      socket.destroy();
    });
    socket.on('close', () => {
      this.phase = 'closing';
      this.input.clear();
      this.events.closed(this);
    });
    this.send(this.handshake.greeting());
  }

  /** A hard disconnect now (a power cut, or the server shutting down). */
  destroy(): void {
    this.phase = 'closing';
    this.input.clear();
    this.socket.destroy();
  }

  private process(): void {
    if (this.phase === 'handshake') {
      for (const action of this.handshake.receive(this.input)) this.act(action);
    }
    while (this.phase === 'transmission' && !this.disconnecting) {
      if (this.inFlight >= REQUESTS_IN_FLIGHT_MAX) break;
      const item = this.parser.next(this.input);
      if (item === null) break;
      if ('fatal' in item) {
        this.events.protocolError(this, item.fatal);
        this.events.log(`connection ${this.id}: ${item.fatal}; closing it`);
        this.destroy();
        return;
      }
      this.handle(item);
    }
    this.updateReading();
  }

  private act(action: HandshakeAction): void {
    switch (action.kind) {
      case 'send':
        this.send(action.bytes);
        return;
      case 'transmission':
        this.session = action.session;
        this.phase = 'transmission';
        return;
      case 'close':
        this.events.log(`connection ${this.id}: ${action.reason}; closing it`);
        this.phase = 'closing';
        this.input.clear();
        this.socket.end();
    }
  }

  private handle(request: NbdRequest): void {
    const session = this.session!;
    if (request.type === NBD_CMD_DISC) {
      // §3.2: no reply; finish what is outstanding, then close.
      this.disconnecting = true;
      this.input.clear();
      this.endIfDone();
      return;
    }
    const refusal = validateRequest(request, session, this.backend.profile.sizeBytes);
    if (refusal !== null) {
      this.backend.refused(request.type);
      this.replyError(request, refusal.errno, refusal.message);
      return;
    }
    this.inFlight++;
    const fua = (request.flags & NBD_CMD_FLAG_FUA) !== 0;
    const done: BackendDone = (errno, data) => this.complete(request, errno, data);
    switch (request.type) {
      case NBD_CMD_READ:
        this.backend.read(request.offset, request.length, done);
        return;
      case NBD_CMD_WRITE:
        this.backend.write(request.offset, request.payload!, fua, done);
        return;
      case NBD_CMD_FLUSH:
        this.backend.flush(done);
        return;
      case NBD_CMD_TRIM:
        this.backend.trim(request.offset, request.length, fua, done);
        return;
      case NBD_CMD_WRITE_ZEROES:
        this.backend.writeZeroes(request.offset, request.length, fua, done);
        return;
      case NBD_CMD_BLOCK_STATUS: {
        const reqOne = (request.flags & NBD_CMD_FLAG_REQ_ONE) !== 0;
        const extents = this.backend.blockStatus(request.offset, request.length, reqOne);
        this.inFlight--;
        this.send(encodeBlockStatusChunk(request, BASE_ALLOCATION_CONTEXT_ID, extents));
        this.replies++;
      }
    }
  }

  private complete(request: NbdRequest, errno: NbdErrno, data: Uint8Array | null): void {
    this.inFlight--;
    assert(this.inFlight >= 0, `connection ${this.id} completed more requests than it sent`);
    assert(
      errno !== 0 || request.type !== NBD_CMD_READ || data?.length === request.length,
      'a READ completed with the wrong amount of data',
    );
    if (this.phase === 'closing') return;
    if (errno !== 0) this.replyError(request, errno, `${describe(request)} failed in the mirror`);
    else if (request.type === NBD_CMD_READ) {
      this.send(
        encodeReadPrefix(this.session!.structuredReplies, request, request.offset, request.length),
      );
      this.send(data!);
      this.replies++;
    } else {
      this.send(encodeSimpleReply(0, request));
      this.replies++;
    }
    if (this.disconnecting) this.endIfDone();
    else this.process();
  }

  /** §3.4/§3.5: with structured replies an error chunk (READ must not get a simple reply). */
  private replyError(request: NbdRequest, errno: NbdErrno, message: string): void {
    const session = this.session!;
    this.send(
      session.structuredReplies
        ? encodeErrorChunk(errno, request, message)
        : encodeSimpleReply(errno, request),
    );
    this.replies++;
  }

  private endIfDone(): void {
    if (this.inFlight === 0 && this.phase !== 'closing') {
      this.phase = 'closing';
      this.socket.end();
    }
  }

  /**
   * Replies made in one turn of the event loop leave together: small ones
   * are joined into one buffer (one syscall, not one per 16-byte reply),
   * large READ data goes out as it is, without a copy.
   */
  private send(bytes: Uint8Array): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    this.outgoing.push(bytes);
    if (this.flushQueued) return;
    this.flushQueued = true;
    process.nextTick(() => this.flushOutgoing());
  }

  private flushOutgoing(): void {
    this.flushQueued = false;
    const pieces = this.outgoing;
    this.outgoing = [];
    const socket = this.socket;
    if (socket.destroyed || !socket.writable) return;
    let batch: Uint8Array[] = [];
    let batchBytes = 0;
    const emit = () => {
      if (batch.length === 1) socket.write(batch[0]!);
      else if (batch.length > 1) socket.write(joinBytes(batch, batchBytes));
      batch = [];
      batchBytes = 0;
    };
    for (const piece of pieces) {
      if (piece.length >= JOIN_PIECE_BYTES_MAX) {
        emit();
        socket.write(piece);
      } else {
        batch.push(piece);
        batchBytes += piece.length;
      }
    }
    emit();
  }

  /** Pauses reading while too much is in flight or queued to send; resumes when it eases. */
  private updateReading(): void {
    const busy =
      this.inFlight >= REQUESTS_IN_FLIGHT_MAX ||
      this.socket.writableLength > REPLY_BACKLOG_BYTES_MAX;
    if (busy && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!busy && this.paused) {
      this.paused = false;
      this.socket.resume();
      if (this.input.length > 0) this.process();
    }
  }
}

/** Replies shorter than this are joined into one buffer per turn of the event loop. */
const JOIN_PIECE_BYTES_MAX = 16 * 1024;

function joinBytes(pieces: readonly Uint8Array[], totalBytes: number): Uint8Array {
  const joined = new Uint8Array(totalBytes);
  let offset = 0;
  for (const piece of pieces) {
    joined.set(piece, offset);
    offset += piece.length;
  }
  return joined;
}

function describe(request: NbdRequest): string {
  return `request at offset ${request.offset} of ${request.length} bytes`;
}
