/**
 * Building replies (reference userspace-and-cluster-logs.md §1.5). A reply
 * is the request's own record sent back: same luid, uuid, version, type
 * and seq, with `error` set and `data` filled.
 */
import { checkRecord } from './_internals/record-checks.js';
import { LITTLE_ENDIAN, S32_MIN, viewOf } from './_internals/wire.js';
import { ULOG_HEADER_OFFSETS } from './ulog-constants.js';
import type { UlogProtocolError } from './ulog-protocol-error.js';
import type { UlogRequest } from './ulog-request.js';

/** What a reply carries: a status (0 or a negative errno) and, on success, data. */
export interface UlogReplyOptions {
  /** 0 (the default) or a negative errno. */
  readonly error?: number;
  /** The reply payload; ignored when `error` is not 0. */
  readonly data?: Uint8Array;
}

/**
 * The full reply to `request`. When `error` is not 0 the data is dropped,
 * as cmirrord clears `data_size` on any error (`do_request`). A successful
 * reply's data must fit its type's reply rule: too big throws
 * {@link UlogProtocolError} with -ENOSPC, which is the error to answer with
 * instead, as cmirrord's `kernel_send` does.
 *
 * @example
 * ```ts
 * let reply: UlogRequest;
 * try {
 *   reply = buildUlogReply(request, { data: encodeUlogStatus(text) });
 * } catch (error) {
 *   if (!(error instanceof UlogProtocolError)) throw error;
 *   reply = buildUlogReply(request, { error: error.errno }); // -ENOSPC, no data
 * }
 * ```
 */
export function buildUlogReply(request: UlogRequest, options: UlogReplyOptions = {}): UlogRequest {
  const error = options.error ?? 0;
  if (!Number.isInteger(error) || error > 0 || error < S32_MIN) {
    throw new RangeError(`Reply error ${error} is not 0 or a negative errno`);
  }
  const data = error === 0 ? (options.data ?? new Uint8Array(0)) : new Uint8Array(0);
  const reply: UlogRequest = { ...request, error, data };
  checkRecord(reply, 'reply');
  return reply;
}

/** The answer to a record that failed validation, or why there can be none. */
export type UlogErrorReply =
  | { readonly answerable: true; readonly seq: number; readonly bytes: Uint8Array }
  | { readonly answerable: false; readonly reason: string };

/**
 * The reply to a record that failed validation: its own header sent back
 * with `error` set to the error's errno and no data. The kernel matches a
 * reply on seq alone (§1.5), so the header is echoed as it came, even the
 * field that was wrong. Without a readable header there is no seq to
 * answer, and the result says so.
 */
export function buildUlogErrorReply(error: UlogProtocolError): UlogErrorReply {
  if (error.header === null || error.seq === null) {
    return {
      answerable: false,
      reason: `No reply is possible: the record's header was not readable (${error.message})`,
    };
  }
  const bytes = error.header.slice();
  const view = viewOf(bytes);
  view.setInt32(ULOG_HEADER_OFFSETS.error, error.errno, LITTLE_ENDIAN);
  view.setUint32(ULOG_HEADER_OFFSETS.dataSize, 0, LITTLE_ENDIAN);
  return { answerable: true, seq: error.seq, bytes };
}
