/**
 * An option reply of the fixed-newstyle handshake (reference nbd.md §2.2,
 * pitfall §5.3): the reply magic, the option code echoed, the reply type,
 * the payload length, then the payload. `NBD_REP_ACK` always has an empty
 * payload (libnbd rejects anything else).
 */
import { assert } from '../../../src/assert.js';
import { writeUint32 } from './_internals/wire.js';
import {
  NBD_REP_ACK,
  OPTION_REPLY_HEADER_BYTES,
  OPTION_REPLY_MAGIC_HIGH,
  OPTION_REPLY_MAGIC_LOW,
} from './nbd-constants.js';

const EMPTY = new Uint8Array(0);

/** The bytes of one option reply. */
export function encodeOptionReply(
  optionCode: number,
  replyType: number,
  payload: Uint8Array = EMPTY,
): Uint8Array {
  assert(replyType !== NBD_REP_ACK || payload.length === 0, 'NBD_REP_ACK carries no payload');
  const bytes = new Uint8Array(OPTION_REPLY_HEADER_BYTES + payload.length);
  writeUint32(bytes, 0, OPTION_REPLY_MAGIC_HIGH);
  writeUint32(bytes, 4, OPTION_REPLY_MAGIC_LOW);
  writeUint32(bytes, 8, optionCode);
  writeUint32(bytes, 12, replyType);
  writeUint32(bytes, 16, payload.length);
  bytes.set(payload, OPTION_REPLY_HEADER_BYTES);
  return bytes;
}
