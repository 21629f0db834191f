/**
 * Which way a record travels: a `request` from the kernel to the daemon, or
 * a `reply` from the daemon back. The two ways have different payload
 * limits and answer an oversized payload with different errnos (§1.5, §3).
 */
import { EINVAL, ENOSPC } from '../../errno.js';
import { ULOG_REPLY_PAYLOAD_BYTES_MAX, ULOG_REQUEST_PAYLOAD_BYTES_MAX } from './ulog-constants.js';

/** `request`: kernel → daemon. `reply`: daemon → kernel. */
export type UlogDirection = 'request' | 'reply';

/**
 * The largest payload one way: 332 bytes for a request (the kernel's
 * preallocated buffer, §3), 864 for a reply (cmirrord's buffer, §1.5).
 */
export function ulogPayloadBytesMax(direction: UlogDirection): number {
  return direction === 'request' ? ULOG_REQUEST_PAYLOAD_BYTES_MAX : ULOG_REPLY_PAYLOAD_BYTES_MAX;
}

/**
 * The errno for a payload too big to receive: the kernel refuses to send an
 * oversized request with -EINVAL (§3) and answers an oversized reply with
 * -ENOSPC (`fill_pkg`, §1.5).
 */
export function ulogOversizeErrno(direction: UlogDirection): number {
  return direction === 'request' ? EINVAL : ENOSPC;
}
