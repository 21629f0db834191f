/**
 * Codecs for the binary payloads of §1.4: one u64 or s64, a u64[] list of
 * regions, and the three 16-byte structs. Values are bigints so that every
 * bit pattern survives a round trip; encoders also take safe integers.
 * Encoders throw RangeError for a value the field cannot hold; decoders
 * throw {@link UlogProtocolError} (-EINVAL) for a payload of the wrong size.
 */
import { LITTLE_ENDIAN, S64_MAX, S64_MIN, U64_MAX, viewOf } from './_internals/wire.js';
import { MAX_FLUSH_GROUP_COUNT, ULOG_REGION_BYTES } from './ulog-constants.js';
import { UlogProtocolError } from './ulog-protocol-error.js';

/** An integer for a 64-bit field: a bigint, or a safe integer number. */
export type UlogInteger = bigint | number;

/** `GET_RESYNC_WORK` reply `{s64 i; u64 r}`: `result` 1 means "recover `region`", 0 no work. */
export interface UlogResyncWork {
  readonly result: bigint;
  readonly region: bigint;
}

/** `SET_REGION_SYNC` request `{u64 region; s64 in_sync}` (region first, unlike the others). */
export interface UlogRegionSync {
  readonly region: bigint;
  readonly inSync: bigint;
}

/** `IS_REMOTE_RECOVERING` reply `{s64 is_recovering; u64 in_sync_hint}`. */
export interface UlogRemoteRecovering {
  readonly isRecovering: bigint;
  /** The first region that may still need recovery. */
  readonly inSyncHint: bigint;
}

function toBigInt(value: UlogInteger, what: string, min: bigint, max: bigint): bigint {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw new RangeError(`${what} ${value} is not a safe integer`);
  }
  const big = BigInt(value);
  if (big < min || big > max) {
    throw new RangeError(`${what} ${big} is out of range: expected ${min} to ${max}`);
  }
  return big;
}

function checkSize(data: Uint8Array, bytes: number, what: string): DataView {
  if (data.length !== bytes) {
    throw new UlogProtocolError(`${what} is ${data.length} bytes: expected exactly ${bytes}`);
  }
  return viewOf(data);
}

/**
 * Writes 64-bit fields in order, little-endian. Each value was range-checked
 * as an s64 or a u64 by `toBigInt`; both are the same 8 bytes modulo 2^64.
 */
function encodeFields(values: readonly bigint[]): Uint8Array {
  const data = new Uint8Array(values.length * 8);
  const view = viewOf(data);
  values.forEach((value, index) => {
    view.setBigUint64(index * 8, BigInt.asUintN(64, value), LITTLE_ENDIAN);
  });
  return data;
}

/**
 * One u64: the region of `IS_CLEAN`, `IN_SYNC` and `IS_REMOTE_RECOVERING`
 * requests, and the `GET_REGION_SIZE` and `GET_SYNC_COUNT` replies.
 */
export function encodeUlogU64(value: UlogInteger): Uint8Array {
  return encodeFields([toBigInt(value, 'u64 value', 0n, U64_MAX)]);
}

/** Reads the one u64 of an 8-byte payload. */
export function decodeUlogU64(data: Uint8Array): bigint {
  return checkSize(data, 8, 'u64 payload').getBigUint64(0, LITTLE_ENDIAN);
}

/** One s64: the `IS_CLEAN` and `IN_SYNC` replies (1 yes, 0 no). */
export function encodeUlogS64(value: UlogInteger): Uint8Array {
  return encodeFields([toBigInt(value, 's64 value', S64_MIN, S64_MAX)]);
}

/** Reads the one s64 of an 8-byte payload. */
export function decodeUlogS64(data: Uint8Array): bigint {
  return checkSize(data, 8, 's64 payload').getBigInt64(0, LITTLE_ENDIAN);
}

/**
 * A u64[] of regions: `MARK_REGION` and `CLEAR_REGION` (1–32 entries) and
 * `FLUSH` with marks (0–32). At most {@link MAX_FLUSH_GROUP_COUNT} (§2.2).
 */
export function encodeUlogRegions(regions: readonly UlogInteger[]): Uint8Array {
  if (regions.length > MAX_FLUSH_GROUP_COUNT) {
    throw new UlogProtocolError(
      `Region list has ${regions.length} entries: expected at most ${MAX_FLUSH_GROUP_COUNT}`,
    );
  }
  return encodeFields(
    regions.map((region, index) => toBigInt(region, `Region [${index}]`, 0n, U64_MAX)),
  );
}

/** Reads a u64[] region list: a multiple of 8 bytes, at most 32 entries. */
export function decodeUlogRegions(data: Uint8Array): bigint[] {
  if (data.length % ULOG_REGION_BYTES !== 0) {
    throw new UlogProtocolError(
      `Region list payload is ${data.length} bytes: expected a multiple of ${ULOG_REGION_BYTES}`,
    );
  }
  const count = data.length / ULOG_REGION_BYTES;
  if (count > MAX_FLUSH_GROUP_COUNT) {
    throw new UlogProtocolError(
      `Region list payload holds ${count} regions: expected at most ${MAX_FLUSH_GROUP_COUNT}`,
    );
  }
  const view = viewOf(data);
  const regions: bigint[] = [];
  for (let index = 0; index < count; index++) {
    regions.push(view.getBigUint64(index * ULOG_REGION_BYTES, LITTLE_ENDIAN));
  }
  return regions;
}

/** The `GET_RESYNC_WORK` reply: s64 `i` then u64 `r`. */
export function encodeUlogResyncWork(work: {
  readonly result: UlogInteger;
  readonly region: UlogInteger;
}): Uint8Array {
  return encodeFields([
    toBigInt(work.result, 'Resync work result', S64_MIN, S64_MAX),
    toBigInt(work.region, 'Resync work region', 0n, U64_MAX),
  ]);
}

/** Reads a 16-byte `GET_RESYNC_WORK` reply. */
export function decodeUlogResyncWork(data: Uint8Array): UlogResyncWork {
  const view = checkSize(data, 16, 'GET_RESYNC_WORK reply payload');
  return {
    result: view.getBigInt64(0, LITTLE_ENDIAN),
    region: view.getBigUint64(8, LITTLE_ENDIAN),
  };
}

/** The `SET_REGION_SYNC` request: u64 `region` then s64 `in_sync`. */
export function encodeUlogRegionSync(sync: {
  readonly region: UlogInteger;
  readonly inSync: UlogInteger;
}): Uint8Array {
  return encodeFields([
    toBigInt(sync.region, 'Region sync region', 0n, U64_MAX),
    toBigInt(sync.inSync, 'Region sync in_sync', S64_MIN, S64_MAX),
  ]);
}

/** Reads a 16-byte `SET_REGION_SYNC` request. */
export function decodeUlogRegionSync(data: Uint8Array): UlogRegionSync {
  const view = checkSize(data, 16, 'SET_REGION_SYNC request payload');
  return {
    region: view.getBigUint64(0, LITTLE_ENDIAN),
    inSync: view.getBigInt64(8, LITTLE_ENDIAN),
  };
}

/** The `IS_REMOTE_RECOVERING` reply: s64 `is_recovering` then u64 `in_sync_hint`. */
export function encodeUlogRemoteRecovering(answer: {
  readonly isRecovering: UlogInteger;
  readonly inSyncHint: UlogInteger;
}): Uint8Array {
  return encodeFields([
    toBigInt(answer.isRecovering, 'is_recovering', S64_MIN, S64_MAX),
    toBigInt(answer.inSyncHint, 'in_sync_hint', 0n, U64_MAX),
  ]);
}

/** Reads a 16-byte `IS_REMOTE_RECOVERING` reply. */
export function decodeUlogRemoteRecovering(data: Uint8Array): UlogRemoteRecovering {
  const view = checkSize(data, 16, 'IS_REMOTE_RECOVERING reply payload');
  return {
    isRecovering: view.getBigInt64(0, LITTLE_ENDIAN),
    inSyncHint: view.getBigUint64(8, LITTLE_ENDIAN),
  };
}
