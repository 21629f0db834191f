/**
 * The transmission phase's replies (reference nbd.md §3.4, §3.5): simple
 * replies (16 bytes, READ data after them), and structured chunks — one
 * `OFFSET_DATA` chunk carrying a whole READ (so `DF` is always honoured),
 * `ERROR` chunks with a message, and `BLOCK_STATUS` chunks. Every chunk
 * encoded here is the last of its reply (`NBD_REPLY_FLAG_DONE`, sent
 * exactly once, pitfall §5.9). The cookie is echoed as the client sent it.
 */
import { assert } from '../../../src/assert.js';
import { utf8, writeUint16, writeUint32, writeUint64 } from './_internals/wire.js';
import {
  NBD_MAX_STRING,
  NBD_REPLY_FLAG_DONE,
  NBD_REPLY_TYPE_BLOCK_STATUS,
  NBD_REPLY_TYPE_ERROR,
  NBD_REPLY_TYPE_OFFSET_DATA,
  type NbdErrno,
  SIMPLE_REPLY_HEADER_BYTES,
  SIMPLE_REPLY_MAGIC,
  STRUCTURED_REPLY_HEADER_BYTES,
  STRUCTURED_REPLY_MAGIC,
} from './nbd-constants.js';

/** The cookie of the request a reply answers. */
export interface ReplyCookie {
  readonly cookieHigh: number;
  readonly cookieLow: number;
}

/** One `base:allocation` descriptor: a nonzero length and its status bits. */
export interface BlockExtent {
  readonly lengthBytes: number;
  readonly flags: number;
}

/** A simple reply: magic, error, cookie. For a successful READ the data follows it. */
export function encodeSimpleReply(errno: NbdErrno, cookie: ReplyCookie): Uint8Array {
  const bytes = new Uint8Array(SIMPLE_REPLY_HEADER_BYTES);
  writeUint32(bytes, 0, SIMPLE_REPLY_MAGIC);
  writeUint32(bytes, 4, errno);
  writeUint32(bytes, 8, cookie.cookieHigh);
  writeUint32(bytes, 12, cookie.cookieLow);
  return bytes;
}

/**
 * What goes before a successful READ's `lengthBytes` of data: a simple
 * reply, or with structured replies the header of one `OFFSET_DATA` chunk
 * (marked DONE) and the offset.
 */
export function encodeReadPrefix(
  structuredReplies: boolean,
  cookie: ReplyCookie,
  offsetBytes: number,
  lengthBytes: number,
): Uint8Array {
  if (!structuredReplies) return encodeSimpleReply(0, cookie);
  assert(lengthBytes > 0, 'an OFFSET_DATA chunk carries at least one byte (§3.5)');
  const bytes = new Uint8Array(STRUCTURED_REPLY_HEADER_BYTES + 8);
  writeChunkHeader(bytes, NBD_REPLY_TYPE_OFFSET_DATA, cookie, 8 + lengthBytes);
  writeUint64(bytes, STRUCTURED_REPLY_HEADER_BYTES, offsetBytes);
  return bytes;
}

/** An `ERROR` chunk (marked DONE) with a message for a person, cut to 4096 bytes. */
export function encodeErrorChunk(
  errno: NbdErrno,
  cookie: ReplyCookie,
  message: string,
): Uint8Array {
  assert(errno !== 0, 'an error chunk carries a nonzero error (§3.5)');
  let text = utf8(message);
  if (text.length > NBD_MAX_STRING) text = utf8(message.slice(0, NBD_MAX_STRING / 4));
  const bytes = new Uint8Array(STRUCTURED_REPLY_HEADER_BYTES + 6 + text.length);
  writeChunkHeader(bytes, NBD_REPLY_TYPE_ERROR, cookie, 6 + text.length);
  writeUint32(bytes, STRUCTURED_REPLY_HEADER_BYTES, errno);
  writeUint16(bytes, STRUCTURED_REPLY_HEADER_BYTES + 4, text.length);
  bytes.set(text, STRUCTURED_REPLY_HEADER_BYTES + 6);
  return bytes;
}

/** A `BLOCK_STATUS` chunk (marked DONE) for one context: at least one descriptor. */
export function encodeBlockStatusChunk(
  cookie: ReplyCookie,
  contextId: number,
  extents: readonly BlockExtent[],
): Uint8Array {
  assert(extents.length >= 1, 'a BLOCK_STATUS chunk carries at least one descriptor (§3.5)');
  const payloadBytes = 4 + 8 * extents.length;
  const bytes = new Uint8Array(STRUCTURED_REPLY_HEADER_BYTES + payloadBytes);
  writeChunkHeader(bytes, NBD_REPLY_TYPE_BLOCK_STATUS, cookie, payloadBytes);
  writeUint32(bytes, STRUCTURED_REPLY_HEADER_BYTES, contextId);
  let position = STRUCTURED_REPLY_HEADER_BYTES + 4;
  for (const extent of extents) {
    assert(extent.lengthBytes > 0, 'a block status descriptor has a nonzero length (§3.5)');
    writeUint32(bytes, position, extent.lengthBytes);
    writeUint32(bytes, position + 4, extent.flags);
    position += 8;
  }
  return bytes;
}

function writeChunkHeader(
  bytes: Uint8Array,
  type: number,
  cookie: ReplyCookie,
  payloadBytes: number,
): void {
  writeUint32(bytes, 0, STRUCTURED_REPLY_MAGIC);
  writeUint16(bytes, 4, NBD_REPLY_FLAG_DONE);
  writeUint16(bytes, 6, type);
  writeUint32(bytes, 8, cookie.cookieHigh);
  writeUint32(bytes, 12, cookie.cookieLow);
  writeUint32(bytes, 16, payloadBytes);
}
