/**
 * The 17 `DM_ULOG_*` request types (reference userspace-and-cluster-logs.md
 * §1.4, dm-mirror.md §2.8). The wire carries the code in the low 8 bits of
 * `request_type`.
 */

/**
 * Request type codes, keyed by the kernel's name less its `DM_ULOG_` prefix.
 *
 * @example
 * ```ts
 * UlogRequestType.MARK_REGION; // 10
 * ulogRequestTypeName(10); // 'DM_ULOG_MARK_REGION'
 * ```
 */
export const UlogRequestType = {
  CTR: 1,
  DTR: 2,
  PRESUSPEND: 3,
  POSTSUSPEND: 4,
  RESUME: 5,
  GET_REGION_SIZE: 6,
  IS_CLEAN: 7,
  IN_SYNC: 8,
  FLUSH: 9,
  MARK_REGION: 10,
  CLEAR_REGION: 11,
  GET_RESYNC_WORK: 12,
  SET_REGION_SYNC: 13,
  GET_SYNC_COUNT: 14,
  STATUS_INFO: 15,
  STATUS_TABLE: 16,
  IS_REMOTE_RECOVERING: 17,
} as const;

/** One of the 17 request type codes (1–17). */
export type UlogRequestTypeCode = (typeof UlogRequestType)[keyof typeof UlogRequestType];

/** The lowest and highest request type codes. */
export const ULOG_REQUEST_TYPE_MIN = 1;
export const ULOG_REQUEST_TYPE_MAX = 17;

/** Every request type code, in code order (UlogRequestType is written 1 to 17). */
export const ULOG_REQUEST_TYPE_CODES: readonly UlogRequestTypeCode[] =
  Object.values(UlogRequestType);

const NAMES = new Map<number, string>(
  Object.entries(UlogRequestType).map(([name, code]) => [code, `DM_ULOG_${name}`]),
);

/** True when `code` is one of the 17 request types (reserved upper bits must already be clear). */
export function isUlogRequestTypeCode(code: number): code is UlogRequestTypeCode {
  return NAMES.has(code);
}

/** `10` → `"DM_ULOG_MARK_REGION"`; anything else prints as `unknown request type <n>`. */
export function ulogRequestTypeName(code: number): string {
  return NAMES.get(code) ?? `unknown request type ${code}`;
}
