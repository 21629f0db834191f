/**
 * Framing of `dm_ulog_request` records on a byte stream (the Unix-socket
 * transport): each record is its 160-byte header followed by `data_size`
 * payload bytes, with nothing in between.
 */
import { assert } from '../../assert.js';
import { checkDataSize } from './_internals/record-checks.js';
import { LITTLE_ENDIAN, viewOf } from './_internals/wire.js';
import { ULOG_HEADER_BYTES, ULOG_HEADER_OFFSETS } from './ulog-constants.js';
import { type UlogDirection, ulogPayloadBytesMax } from './ulog-direction.js';
import { UlogProtocolError } from './ulog-protocol-error.js';
import { decodeUlogRequest, type UlogRequest } from './ulog-request.js';

/** One result of {@link UlogStreamDecoder.push}: a whole valid record, or a bad one. */
export type UlogStreamItem =
  | { readonly kind: 'record'; readonly record: UlogRequest }
  | { readonly kind: 'error'; readonly error: UlogProtocolError };

/** Options of {@link UlogStreamDecoder}. */
export interface UlogStreamDecoderOptions {
  /** `request` for a daemon reading the kernel side, `reply` for the kernel side reading a daemon. */
  readonly direction: UlogDirection;
}

/**
 * Cuts a byte stream into records. It is fed chunks of any size and
 * returns every record they complete, in order. It never holds more than
 * one header plus the direction's payload limit: `data_size` is checked as
 * soon as the header is in, before a single payload byte is kept.
 *
 * A record whose header gives an acceptable `data_size` but that is bad
 * otherwise yields a non-fatal error, and framing continues with the next
 * record. A `data_size` over the limit leaves no way to find the next
 * record, so it yields a fatal error (with the header, so that it can
 * still be answered) and the decoder ignores everything after it: the
 * owner answers and closes that one connection.
 *
 * @example
 * ```ts
 * const decoder = new UlogStreamDecoder({ direction: 'request' });
 * for (const item of decoder.push(chunk)) {
 *   if (item.kind === 'record') handle(item.record);
 *   else answer(buildUlogErrorReply(item.error)); // then close if item.error.fatal
 * }
 * ```
 */
export class UlogStreamDecoder {
  readonly direction: UlogDirection;
  readonly #buffer: Uint8Array;
  #filledBytes = 0;
  /** The current record's `data_size` once its header is in, else null. */
  #payloadBytes: number | null = null;
  #fatal: UlogProtocolError | null = null;

  constructor(options: UlogStreamDecoderOptions) {
    this.direction = options.direction;
    this.#buffer = new Uint8Array(ULOG_HEADER_BYTES + ulogPayloadBytesMax(this.direction));
  }

  /** Bytes held for the record in progress; never more than header + payload limit. */
  get bufferedBytes(): number {
    return this.#filledBytes;
  }

  /** The fatal error that stopped this stream, or null while it is healthy. */
  get fatalError(): UlogProtocolError | null {
    return this.#fatal;
  }

  /** Feeds one chunk; returns the records and errors it completes. Ignored after a fatal error. */
  push(chunk: Uint8Array): UlogStreamItem[] {
    const items: UlogStreamItem[] = [];
    let offset = 0;
    while (this.#fatal === null && offset < chunk.length) {
      const wanted = this.#wantedBytes() - this.#filledBytes;
      // Stryker disable next-line ConditionalExpression,EqualityOperator,StringLiteral: equivalent
      // — the assert cannot fail: #advance ends a record as soon as filled reaches wanted.
      assert(wanted > 0, `stream decoder wants ${wanted} bytes with a record in progress`);
      const taken = Math.min(wanted, chunk.length - offset);
      this.#buffer.set(chunk.subarray(offset, offset + taken), this.#filledBytes);
      this.#filledBytes += taken;
      offset += taken;
      const item = this.#advance();
      if (item !== null) items.push(item);
    }
    // Stryker disable next-line ConditionalExpression,EqualityOperator,StringLiteral: equivalent
    // — the assert cannot fail: taken ≤ wanted ≤ the buffer length, and set() would throw first.
    assert(this.#filledBytes <= this.#buffer.length, 'stream decoder overfilled its buffer');
    return items;
  }

  /**
   * Ends the stream: an error if it stopped inside a record (with the
   * header when that much had arrived), else null. The partial record is
   * dropped, so a healthy decoder may be reused; a failed one stays failed.
   */
  end(): UlogProtocolError | null {
    const filled = this.#filledBytes;
    const expected = this.#wantedBytes();
    const header = filled >= ULOG_HEADER_BYTES ? this.#buffer.subarray(0, ULOG_HEADER_BYTES) : null;
    this.#filledBytes = 0;
    this.#payloadBytes = null;
    // Stryker disable next-line ConditionalExpression: equivalent — #fatal set implies filled 0:
    // a fatal error empties the buffer, and push() adds nothing after it.
    if (filled === 0 || this.#fatal !== null) return null;
    return new UlogProtocolError(
      `Stream ended ${filled} bytes into a record: expected ${expected} bytes`,
      { header },
    );
  }

  #wantedBytes(): number {
    return this.#payloadBytes === null ? ULOG_HEADER_BYTES : ULOG_HEADER_BYTES + this.#payloadBytes;
  }

  /** After bytes were added: learn the payload size, or finish the record. */
  #advance(): UlogStreamItem | null {
    // Stryker disable next-line ConditionalExpression: equivalent — re-reading gives the same size:
    // the buffered header is unchanged, so data_size is read and checked again to the same value.
    if (this.#payloadBytes === null) {
      if (this.#filledBytes < ULOG_HEADER_BYTES) return null;
      const header = this.#buffer.subarray(0, ULOG_HEADER_BYTES);
      const dataSize = viewOf(header).getUint32(ULOG_HEADER_OFFSETS.dataSize, LITTLE_ENDIAN);
      try {
        checkDataSize(dataSize, this.direction);
      } catch (error) {
        if (!(error instanceof UlogProtocolError)) throw error;
        this.#fatal = new UlogProtocolError(
          `${error.message}; the stream cannot be resynchronised after it`,
          { errno: error.errno, header, fatal: true },
        );
        this.#filledBytes = 0;
        return { kind: 'error', error: this.#fatal };
      }
      this.#payloadBytes = dataSize;
    }
    if (this.#filledBytes < this.#wantedBytes()) return null;
    const record = this.#buffer.subarray(0, this.#filledBytes);
    this.#filledBytes = 0;
    this.#payloadBytes = null;
    try {
      return { kind: 'record', record: decodeUlogRequest(record, { direction: this.direction }) };
    } catch (error) {
      if (!(error instanceof UlogProtocolError)) throw error;
      return { kind: 'error', error };
    }
  }
}
