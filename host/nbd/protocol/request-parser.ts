/**
 * Frames the transmission phase's requests (reference nbd.md §3.1): a
 * 28-byte header — magic, u16 command flags, u16 type, 8-byte cookie, u64
 * offset, u32 length — followed, for WRITE only, by `length` bytes of
 * data. Pure: it reads from a {@link ByteQueue} and never from a socket.
 *
 * A WRITE's payload is collected as it arrives, so a 32 MiB write is
 * buffered once and never re-scanned. A payload longer than the advertised
 * maximum is read and dropped (pitfall §5.6: the request then gets an
 * error, the stream stays in step); one longer than
 * {@link WRITE_DRAIN_BYTES_MAX} cannot be skipped at a sane cost and is
 * fatal, as is a bad magic (the stream cannot be resynchronised, §3.9).
 * Whether a request is valid is not decided here (see request-validation).
 */
import { assert } from '../../../src/assert.js';
import { ByteSlab } from '../../../src/block/byte-slab.js';
import type { ByteQueue } from './byte-queue.js';
import {
  NBD_CMD_WRITE,
  PAYLOAD_BYTES_MAX,
  REQUEST_HEADER_BYTES,
  REQUEST_MAGIC,
  WRITE_DRAIN_BYTES_MAX,
} from './nbd-constants.js';

/** One request as the client sent it. */
export interface NbdRequest {
  readonly flags: number;
  readonly type: number;
  /** The cookie's two big-endian halves, echoed byte for byte in the reply (§3.1). */
  readonly cookieHigh: number;
  readonly cookieLow: number;
  /** Bytes into the export; -1 when the u64 is beyond 2^53 (always out of range). */
  readonly offset: number;
  readonly length: number;
  /**
   * The data of a WRITE; null for every other command, and for a WRITE
   * whose payload was longer than {@link PAYLOAD_BYTES_MAX} and was dropped.
   */
  readonly payload: Uint8Array | null;
}

/** The stream broke a rule that leaves it unframeable: the connection must close. */
export interface FatalFrame {
  readonly fatal: string;
}

const TWO_TO_32 = 0x1_0000_0000;
/** The high word of an offset at or above 2^53. */
const OFFSET_HIGH_UNSAFE = 0x20_0000;

/** A request while it is being framed: its payload is set once it has arrived. */
type FramedRequest = { -readonly [Field in keyof NbdRequest]: NbdRequest[Field] };

interface PartialWrite {
  readonly header: FramedRequest;
  /** Where the data goes; null while a too-long payload is dropped. */
  readonly buffer: Uint8Array | null;
  received: number;
}

/** A per-connection request framer (see the file comment). */
export class NbdRequestParser {
  private partial: PartialWrite | null = null;
  /** Payloads live until their write completes: small ones share slabs (no ArrayBuffer each). */
  private readonly payloads = new ByteSlab();

  /** True while a WRITE's payload is still arriving. */
  get midPayload(): boolean {
    return this.partial !== null;
  }

  /**
   * The next whole request in `input`, a {@link FatalFrame}, or null when
   * more bytes are needed. Consumes exactly the bytes of what it returns
   * (and any payload bytes it buffered on the way).
   */
  next(input: ByteQueue): NbdRequest | FatalFrame | null {
    if (this.partial === null) {
      if (input.length < REQUEST_HEADER_BYTES) return null;
      const magic = input.peekUint32(0);
      if (magic !== REQUEST_MAGIC) {
        return {
          fatal: `request magic 0x${magic.toString(16).padStart(8, '0')} is not 0x25609513`,
        };
      }
      const header = readHeader(input);
      input.skip(REQUEST_HEADER_BYTES);
      if (header.type !== NBD_CMD_WRITE) return header;
      if (header.length > WRITE_DRAIN_BYTES_MAX) {
        return {
          fatal: `WRITE payload of ${header.length} bytes: more than ${WRITE_DRAIN_BYTES_MAX} cannot be skipped`,
        };
      }
      const keep = header.length <= PAYLOAD_BYTES_MAX;
      this.partial = {
        header,
        buffer: keep ? this.payloads.alloc(header.length) : null,
        received: 0,
      };
    }
    return this.continuePayload(input);
  }

  private continuePayload(input: ByteQueue): NbdRequest | null {
    const partial = this.partial;
    assert(partial !== null, 'no payload is being collected');
    const wanted = partial.header.length - partial.received;
    const run = Math.min(wanted, input.length);
    if (partial.buffer === null) input.skip(run);
    else input.takeInto(partial.buffer, partial.received, run);
    partial.received += run;
    if (partial.received < partial.header.length) return null;
    this.partial = null;
    // One object per request, filled in place: this runs for every request (no spread copy).
    partial.header.payload = partial.buffer;
    return partial.header;
  }
}

function readHeader(input: ByteQueue): FramedRequest {
  const flagsAndType = input.peekUint32(4);
  const offsetHigh = input.peekUint32(16);
  const offsetLow = input.peekUint32(20);
  return {
    flags: flagsAndType >>> 16,
    type: flagsAndType & 0xffff,
    cookieHigh: input.peekUint32(8),
    cookieLow: input.peekUint32(12),
    offset: offsetHigh >= OFFSET_HIGH_UNSAFE ? -1 : offsetHigh * TWO_TO_32 + offsetLow,
    length: input.peekUint32(24),
    payload: null,
  };
}
