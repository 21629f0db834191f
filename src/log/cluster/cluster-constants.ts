/**
 * Constants of LVM2's cluster log daemon, cmirrord (`cluster.h`,
 * `compat.h`, `cluster.c`, `functions.c`; reference
 * userspace-and-cluster-logs.md §4).
 */
import { TICKS_PER_SECOND } from '../../world/scheduler.js';

/** `CLOG_TFR_VERSION`: the inter-machine format, 5 since RHEL 6 (`compat.h`). */
export const CLOG_TFR_VERSION = 5;
/** The RHEL 5 formats that put the version-5 struct at {@link COMPAT_OFFSET} (`compat.h`). */
export const CLOG_TFR_COMPAT_VERSIONS: readonly number[] = [2, 3, 4];
/** `COMPAT_OFFSET`: where an old-format message carries the version-5 struct (`compat.c`). */
export const COMPAT_OFFSET = 256;

/** `DM_ULOG_RESPONSE`: OR-ed into `request_type` when the server multicasts a reply. */
export const DM_ULOG_RESPONSE = 0x1000;
/** `DM_ULOG_CHECKPOINT_READY`: a member's state snapshot for a joiner (§4.8). */
export const DM_ULOG_CHECKPOINT_READY = 21;
/** `DM_ULOG_MEMBER_JOIN`: a joiner queued in the startup list, never multicast (§4.8). */
export const DM_ULOG_MEMBER_JOIN = 22;

/** `sizeof(struct clog_request)` without its payload: version words, originator, pit_server, `u_rq`. */
export const CLOG_REQUEST_HEADER_BYTES = 184;
/** Byte offsets of `struct clog_request` (§4.4). */
export const CLOG_REQUEST_OFFSETS = {
  version0: 0,
  version1: 8,
  originator: 16,
  pitServer: 20,
  request: 24,
  data: 184,
} as const;

/** `RECOVERING_REGION_SECTION_SIZE`: the `"<recovering_region> <recoverer>"` section of a checkpoint. */
export const RECOVERING_REGION_SECTION_SIZE = 64;
/** `MAX_CHECKPOINT_REQUESTERS`: joiners one valid member keeps checkpoints pending for. */
export const MAX_CHECKPOINT_REQUESTERS = 10;

/** `lowest_id` and `my_cluster_id` before the first join (`0xDEAD`). */
export const CLUSTER_ID_NONE = 0xdead;

/** `(uint64_t)-1`: `recovering_region` when nothing is being recovered. */
export const RECOVERING_REGION_NONE = (1n << 64n) - 1n;
/** `(uint32_t)-1`: `recoverer` after a postsuspend. */
export const RECOVERER_NONE = 0xffff_ffff;

/**
 * `local_resume`'s rejoin delay (delay #2, §4.9): a resume within 3 s of
 * the log's last postsuspend sleeps out the rest before joining the CPG,
 * so that a checkpoint a lagging member prepared for the node's previous
 * session is sequenced before the new join (see `Cmirrord`'s `localResume`).
 */
export const CMIRRORD_REJOIN_DELAY_TICKS = 3 * TICKS_PER_SECOND;

/** `clog_cpg.state` (§4.2). */
export const ClogCpgState = { INVALID: 0, VALID: 1, LEAVING: 2 } as const;
export type ClogCpgStateCode = (typeof ClogCpgState)[keyof typeof ClogCpgState];

/** `log_c.state`: `LOG_RESUMED` 1, `LOG_SUSPENDED` 2 (0 before the first resume). */
export const LogState = { NEW: 0, RESUMED: 1, SUSPENDED: 2 } as const;
export type LogStateCode = (typeof LogState)[keyof typeof LogState];

/** `resume_override` once resumed: a second resume is "Additional resume issued before suspend". */
export const RESUME_OVERRIDE_RESUMED = 1000;
/** `resume_override` after both bitmaps came from a checkpoint (1 for sync, 2 for clean). */
export const RESUME_OVERRIDE_CHECKPOINT = 3;

/** `-EPERM`: what `create_cluster_cpg` answers when corosync refuses the handle or the join. */
export const EPERM = -1;
