/**
 * The `userspace` log type (`userspace_ctr`, reference
 * userspace-and-cluster-logs.md §2.1): table arguments
 * `<uuid> [integrated_flush] <log type> <args…>`, e.g.
 * `userspace 4 my-uuid disk log0 1024` or
 * `userspace 5 my-uuid integrated_flush core 1024 nosync`.
 *
 * The constructor sends CTR (the device length first, then the arguments
 * after the uuid) and GET_REGION_SIZE, and opens the device a CTR reply may
 * name. Which daemon answers is the context's choice: the simulator's
 * MirrorStack supplies its world's in-process daemon, or a real one.
 */
import { errnoName } from '../../errno.js';
import { TableError } from '../../table/table-error.js';
import type { DirtyLogContext, DirtyLogType } from '../dirty-log.js';
import { registerDirtyLogType } from '../registry.js';
import { decodeUlogU64 } from './ulog-binary-payloads.js';
import { DM_NAME_LEN } from './ulog-constants.js';
import { buildUlogConstructor } from './ulog-constructor.js';
import { UlogProtocolError } from './ulog-protocol-error.js';
import { UlogRequestType } from './ulog-request-type.js';
import { decodeUlogCtrReply, encodeUlogCtrRequest } from './ulog-text-payloads.js';
import { USERSPACE_LOG_TYPE_NAME, UserspaceLog } from './userspace-log.js';

/** The uuid `mirrorsim run --log userspace` uses. */
export const USERSPACE_LOG_DEFAULT_UUID = 'mirrorsim-userspace-log';

/**
 * `userspace_ctr`: parses the arguments, registers the log with the daemon
 * (CTR), asks its region size, and opens a device the daemon named. Throws
 * TableError when the arguments are bad, no daemon is reachable, or the
 * daemon refuses.
 */
export function constructUserspaceLog(
  context: DirtyLogContext,
  args: readonly string[],
): UserspaceLog {
  const ctr = buildUlogConstructor(args, context.targetLengthSectors);
  if (context.userspaceTransfer === undefined) {
    throw new TableError(
      `Userspace log "${ctr.uuid}" cannot reach a log daemon: this context has no transfer layer (expected a simulator MirrorStack, or userspaceTransfer in the log context)`,
    );
  }
  const transfer = context.userspaceTransfer();
  const luid = transfer.allocateLuid();
  const request = { uuid: ctr.uuid, luid };
  const registered = transfer.consultNow({
    ...request,
    requestType: UlogRequestType.CTR,
    data: encodeUlogCtrRequest(ctr.ctrString, false),
    replyBytesMax: DM_NAME_LEN,
  });
  if (registered.error !== 0) {
    throw new TableError(
      `Failed to register with userspace server: CTR "${ctr.ctrString}" answered ${errnoName(registered.error)}, expected 0 (is the log daemon running?)`,
    );
  }
  const sized = transfer.consultNow({
    ...request,
    requestType: UlogRequestType.GET_REGION_SIZE,
    replyBytesMax: 8,
  });
  if (sized.error !== 0) {
    throw new TableError(
      `Failed to get region size of dirty log "${ctr.uuid}": GET_REGION_SIZE answered ${errnoName(sized.error)}, expected 0`,
    );
  }
  // `lc->region_size` is a u32: the kernel keeps the low 32 bits of the daemon's u64.
  const regionSizeSectors = Number(BigInt.asUintN(32, decodeUlogU64(sized.data)));
  if (regionSizeSectors === 0 || (regionSizeSectors & (regionSizeSectors - 1)) !== 0) {
    throw new TableError(
      `Userspace log server gave region size ${regionSizeSectors} for "${ctr.uuid}": expected a power of two`,
    );
  }
  const logDeviceName = openNamedDevice(context, registered.data);
  return new UserspaceLog({ context, transfer, ctr, luid, regionSizeSectors, logDeviceName });
}

/** A CTR reply may name a log device: it must end in NUL, and is then opened (`dm_get_device`). */
function openNamedDevice(context: DirtyLogContext, reply: Uint8Array): string | null {
  let name: string | null;
  try {
    name = decodeUlogCtrReply(reply);
  } catch (error) {
    if (!(error instanceof UlogProtocolError)) throw error;
    throw new TableError(`Received bad device name from userspace log server: ${error.message}`);
  }
  if (name === null) return null;
  context.getDevice(name);
  return name;
}

/** The `userspace` log type: `<uuid> [integrated_flush] <log type> <args…>`. */
export const userspaceLogType: DirtyLogType = {
  name: USERSPACE_LOG_TYPE_NAME,
  summary:
    'forwards the dirty-log API to a log daemon (in-process, or a real one with --log-daemon), backed by a disk log',
  create: constructUserspaceLog,
  defaultTableArgs: ({ regionSizeSectors, logDeviceName, variant }) => [
    USERSPACE_LOG_DEFAULT_UUID,
    ...(variant === 'integrated_flush' ? ['integrated_flush'] : []),
    'disk',
    logDeviceName,
    String(regionSizeSectors),
  ],
  tableVariants: ['integrated_flush'],
};

registerDirtyLogType(userspaceLogType);
