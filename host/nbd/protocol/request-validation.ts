/**
 * Whether a request may be served, in the order nbdkit's `validate_request`
 * checks it (reference nbd.md §3.2, §3.3, §2.7): the command, its flags,
 * its range and alignment, its size, and what the session negotiated. A
 * refused request gets an error reply and the connection stays up (pitfall
 * §5.7); only framing errors (request-parser) close it.
 */
import type { NbdSession } from './handshake.js';
import {
  BLOCK_SIZE_MINIMUM,
  commandName,
  NBD_CMD_BLOCK_STATUS,
  NBD_CMD_FLAG_DF,
  NBD_CMD_FLAG_FUA,
  NBD_CMD_FLAG_NO_HOLE,
  NBD_CMD_FLAG_REQ_ONE,
  NBD_CMD_FLUSH,
  NBD_CMD_READ,
  NBD_CMD_TRIM,
  NBD_CMD_WRITE,
  NBD_CMD_WRITE_ZEROES,
  NBD_EINVAL,
  NBD_ENOSPC,
  type NbdErrno,
  PAYLOAD_BYTES_MAX,
} from './nbd-constants.js';
import type { NbdRequest } from './request-parser.js';

/** Why a request is refused: the error for the reply and a message for a person. */
export interface RequestRefusal {
  readonly errno: NbdErrno;
  readonly message: string;
}

/** The flags this server accepts at all; FAST_ZERO and PAYLOAD_LEN are never advertised. */
const KNOWN_FLAGS =
  NBD_CMD_FLAG_FUA | NBD_CMD_FLAG_NO_HOLE | NBD_CMD_FLAG_DF | NBD_CMD_FLAG_REQ_ONE;

/**
 * Null when the request may be served; otherwise the refusal. DISC is not
 * validated here: it ends the session whatever it carries.
 */
export function validateRequest(
  request: NbdRequest,
  session: NbdSession,
  exportSizeBytes: number,
): RequestRefusal | null {
  const name = commandName(request.type);
  switch (request.type) {
    case NBD_CMD_READ:
    case NBD_CMD_WRITE:
    case NBD_CMD_TRIM:
    case NBD_CMD_WRITE_ZEROES:
    case NBD_CMD_BLOCK_STATUS: {
      const refusal = checkRange(request, exportSizeBytes);
      if (refusal !== null) return refusal;
      break;
    }
    case NBD_CMD_FLUSH:
      if (request.offset !== 0 || request.length !== 0) {
        return einval(`${name}: offset and length must be 0`);
      }
      break;
    default:
      // CACHE and RESIZE are not advertised, so they are unknown here too (§3.3).
      return einval(`unknown command ${name}`);
  }
  return checkFlags(request, session) ?? checkSize(request) ?? checkSession(request, session);
}

function checkRange(request: NbdRequest, exportSizeBytes: number): RequestRefusal | null {
  const name = commandName(request.type);
  if (request.length === 0) return einval(`${name}: zero length`);
  if (request.offset < 0 || request.offset + request.length > exportSizeBytes) {
    const errno =
      request.type === NBD_CMD_WRITE || request.type === NBD_CMD_WRITE_ZEROES
        ? NBD_ENOSPC
        : NBD_EINVAL;
    return {
      errno,
      message: `${name}: offset ${request.offset < 0 ? '≥ 2^53' : request.offset} and length ${request.length} run past the end of the export (${exportSizeBytes} bytes)`,
    };
  }
  if (request.offset % BLOCK_SIZE_MINIMUM !== 0 || request.length % BLOCK_SIZE_MINIMUM !== 0) {
    return einval(
      `${name}: offset ${request.offset} and length ${request.length} must be multiples of the ${BLOCK_SIZE_MINIMUM}-byte minimum block size`,
    );
  }
  return null;
}

function checkFlags(request: NbdRequest, session: NbdSession): RequestRefusal | null {
  const name = commandName(request.type);
  const flags = request.flags;
  if ((flags & ~KNOWN_FLAGS) !== 0) return einval(`${name}: unknown flags 0x${flags.toString(16)}`);
  if ((flags & NBD_CMD_FLAG_NO_HOLE) !== 0 && request.type !== NBD_CMD_WRITE_ZEROES) {
    return einval(`${name}: NO_HOLE needs WRITE_ZEROES`);
  }
  if ((flags & NBD_CMD_FLAG_DF) !== 0) {
    if (request.type !== NBD_CMD_READ) return einval(`${name}: DF needs READ`);
    if (!session.structuredReplies) return einval(`${name}: DF needs structured replies`);
  }
  if ((flags & NBD_CMD_FLAG_REQ_ONE) !== 0 && request.type !== NBD_CMD_BLOCK_STATUS) {
    return einval(`${name}: REQ_ONE needs BLOCK_STATUS`);
  }
  return null;
}

function checkSize(request: NbdRequest): RequestRefusal | null {
  const carriesData = request.type === NBD_CMD_READ || request.type === NBD_CMD_WRITE;
  if (carriesData && request.length > PAYLOAD_BYTES_MAX) {
    return einval(
      `${commandName(request.type)}: ${request.length} bytes exceed the ${PAYLOAD_BYTES_MAX}-byte maximum payload`,
    );
  }
  return null;
}

function checkSession(request: NbdRequest, session: NbdSession): RequestRefusal | null {
  if (request.type !== NBD_CMD_BLOCK_STATUS) return null;
  if (!session.structuredReplies)
    return einval('BLOCK_STATUS: structured replies were not negotiated');
  if (!session.baseAllocation) return einval('BLOCK_STATUS: no metadata context was selected');
  return null;
}

function einval(message: string): RequestRefusal {
  return { errno: NBD_EINVAL, message };
}
