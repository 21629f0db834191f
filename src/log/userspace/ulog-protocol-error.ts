/**
 * The typed error for anything that breaks the `dm_ulog_request` protocol
 * (reference userspace-and-cluster-logs.md §1.5): it carries the negative
 * errno the receiving side answers with, and the raw header of the bad
 * record when that much was readable, so that the answer can name its seq.
 */
import { EINVAL } from '../../errno.js';
import { LITTLE_ENDIAN, S32_MIN, viewOf } from './_internals/wire.js';
import { ULOG_HEADER_BYTES, ULOG_HEADER_OFFSETS } from './ulog-constants.js';

/** What a {@link UlogProtocolError} may be built with besides its message. */
export interface UlogProtocolErrorOptions {
  /** Negative errno to answer with; -EINVAL when not given. */
  readonly errno?: number;
  /** The bad record's 160 header bytes when they were readable; null when not. */
  readonly header?: Uint8Array | null;
  /** True when the byte stream cannot be resynchronised after this error. */
  readonly fatal?: boolean;
}

/**
 * A record, payload or stream that breaks the protocol.
 *
 * @example
 * ```ts
 * try {
 *   decodeUlogRequest(bytes);
 * } catch (error) {
 *   if (!(error instanceof UlogProtocolError)) throw error;
 *   const answer = buildUlogErrorReply(error); // error.errno, error.seq
 * }
 * ```
 */
export class UlogProtocolError extends Error {
  override name = 'UlogProtocolError';
  /** The negative errno to answer with (-EINVAL unless §1.5 says otherwise). */
  readonly errno: number;
  /** A copy of the bad record's header, or null when not even the header was readable. */
  readonly header: Uint8Array | null;
  /** The bad record's seq, read from its header, or null without a header. */
  readonly seq: number | null;
  /** True when the stream cannot continue: the connection must be answered and closed. */
  readonly fatal: boolean;

  constructor(message: string, options: UlogProtocolErrorOptions = {}) {
    super(message);
    const errno = options.errno ?? EINVAL;
    // The reply carries it in the header's s32 `error` field (§1.2).
    if (!Number.isInteger(errno) || errno >= 0 || errno < S32_MIN) {
      throw new RangeError(
        `UlogProtocolError errno ${errno} is not a negative integer that fits an s32 (>= ${S32_MIN})`,
      );
    }
    const header = options.header ?? null;
    if (header !== null && header.length !== ULOG_HEADER_BYTES) {
      throw new RangeError(
        `UlogProtocolError header is ${header.length} bytes: expected ${ULOG_HEADER_BYTES}`,
      );
    }
    this.errno = errno;
    // A private copy, so that a stream buffer reused for the next record cannot change it.
    this.header = header === null ? null : header.slice();
    this.seq =
      header === null ? null : viewOf(header).getUint32(ULOG_HEADER_OFFSETS.seq, LITTLE_ENDIAN);
    this.fatal = options.fatal ?? false;
  }

  /** The same error with the bad record's header attached (used once the header is known). */
  withHeader(header: Uint8Array): UlogProtocolError {
    return new UlogProtocolError(this.message, { errno: this.errno, header, fatal: this.fatal });
  }
}
