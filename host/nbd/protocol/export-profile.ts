/**
 * What the handshake tells a client about the one export: its name, a
 * description, its size, and the transmission flags (reference nbd.md
 * §2.6 and the recommended server profile of §4): HAS_FLAGS, SEND_FLUSH,
 * SEND_FUA, SEND_TRIM and SEND_WRITE_ZEROES always; SEND_DF only once
 * structured replies are negotiated (pitfall §5.9); CAN_MULTI_CONN when
 * every connection shares one state (§3.7). Never FAST_ZERO or CACHE,
 * which this server does not implement.
 */
import { assert } from '../../../src/assert.js';
import {
  BLOCK_SIZE_MINIMUM,
  NBD_FLAG_CAN_MULTI_CONN,
  NBD_FLAG_HAS_FLAGS,
  NBD_FLAG_SEND_DF,
  NBD_FLAG_SEND_FLUSH,
  NBD_FLAG_SEND_FUA,
  NBD_FLAG_SEND_TRIM,
  NBD_FLAG_SEND_WRITE_ZEROES,
  NBD_MAX_STRING,
} from './nbd-constants.js';

/** The export as the handshake describes it. */
export interface NbdExportProfile {
  /** The canonical name (`NBD_INFO_NAME`, `NBD_REP_SERVER`); the empty name selects it too. */
  readonly name: string;
  /** Human-readable text (`NBD_INFO_DESCRIPTION`, the tail of `NBD_REP_SERVER`). */
  readonly description: string;
  /** A multiple of the 512-byte minimum block size (§3.8: older qemu needs it). */
  readonly sizeBytes: number;
  /** Every connection shares one cache and state, so FLUSH and FUA are visible on all (§3.7). */
  readonly multiConn: boolean;
}

/** The flags every export advertises: 0x006D (§4 "Recommended server profile"). */
export const BASE_TRANSMISSION_FLAGS =
  NBD_FLAG_HAS_FLAGS |
  NBD_FLAG_SEND_FLUSH |
  NBD_FLAG_SEND_FUA |
  NBD_FLAG_SEND_TRIM |
  NBD_FLAG_SEND_WRITE_ZEROES;

/** Checks a profile once, where it is built: a bad one would mislead every client. */
export function checkExportProfile(profile: NbdExportProfile): void {
  if (!Number.isSafeInteger(profile.sizeBytes) || profile.sizeBytes <= 0) {
    throw new RangeError(`Export size ${profile.sizeBytes} is not a positive safe integer`);
  }
  if (profile.sizeBytes % BLOCK_SIZE_MINIMUM !== 0) {
    throw new RangeError(
      `Export size ${profile.sizeBytes} is not a multiple of ${BLOCK_SIZE_MINIMUM} bytes (the minimum block size)`,
    );
  }
  for (const [what, text] of [
    ['name', profile.name],
    ['description', profile.description],
  ] as const) {
    if (new TextEncoder().encode(text).length > NBD_MAX_STRING || text.includes('\0')) {
      throw new RangeError(
        `Export ${what} "${text.slice(0, 40)}…" is not a protocol string: expected at most ${NBD_MAX_STRING} UTF-8 bytes and no NUL`,
      );
    }
  }
}

/** The transmission flags for a connection, given whether it negotiated structured replies. */
export function transmissionFlags(profile: NbdExportProfile, structuredReplies: boolean): number {
  let flags = BASE_TRANSMISSION_FLAGS;
  if (structuredReplies) flags |= NBD_FLAG_SEND_DF;
  if (profile.multiConn) flags |= NBD_FLAG_CAN_MULTI_CONN;
  assert((flags & NBD_FLAG_HAS_FLAGS) !== 0, 'HAS_FLAGS must always be set (§2.6)');
  return flags;
}

/** Whether a client's export name selects this export: its own name or the default (empty) name. */
export function selectsExport(profile: NbdExportProfile, requestedName: string): boolean {
  return requestedName === '' || requestedName === profile.name;
}
