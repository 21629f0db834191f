/**
 * The payload of `DM_ULOG_CHECKPOINT_READY` (reference
 * userspace-and-cluster-logs.md §4.8; cmirrord's `export_checkpoint`,
 * `import_checkpoint`, `push_state`, `pull_state`):
 *
 * | Bytes | Section |
 * |---|---|
 * | `bitmap_size` | `sync_bits`: the words of the `dm_bitset_t` after its count word, raw |
 * | `bitmap_size` | `clean_bits`, the same |
 * | 64 | `"<recovering_region> <recoverer>"`, ASCII, NUL-padded |
 *
 * `bitmap_size` is `(nbits / 32 + 1) * 4` bytes. The words are copied in
 * the sender's byte order with no conversion (§4.4).
 */
import { ClogRequestError } from './clog-request-error.js';
import { RECOVERING_REGION_SECTION_SIZE } from './cluster-constants.js';

/** A member's snapshot for a joiner. */
export interface ClogCheckpoint {
  /** Raw bitmap words, `bitmapBytes` long. */
  readonly syncBits: Uint8Array;
  readonly cleanBits: Uint8Array;
  /** `recovering_region`, a u64 (2^64 − 1 for none). */
  readonly recoveringRegion: bigint;
  /** `recoverer`, a u32. */
  readonly recoverer: number;
}

/** A decoded checkpoint and its bitmap size. */
export interface DecodedClogCheckpoint extends ClogCheckpoint {
  readonly bitmapBytes: number;
}

/** `(nbits / 32 + 1) * 4`: the bytes of one bitmap of a log of `regionCount` regions. */
export function checkpointBitmapBytes(regionCount: number): number {
  if (!Number.isSafeInteger(regionCount) || regionCount < 0) {
    throw new RangeError(`Region count ${regionCount} is not an integer ≥ 0`);
  }
  return (Math.floor(regionCount / 32) + 1) * 4;
}

const U64_MAX = (1n << 64n) - 1n;

/** Builds a checkpoint payload. Throws RangeError for bitmaps of unequal or non-word sizes. */
export function encodeClogCheckpoint(checkpoint: ClogCheckpoint): Uint8Array {
  const bitmapBytes = checkpoint.syncBits.length;
  if (bitmapBytes === 0 || bitmapBytes % 4 !== 0 || checkpoint.cleanBits.length !== bitmapBytes) {
    throw new RangeError(
      `Checkpoint bitmaps of ${bitmapBytes} and ${checkpoint.cleanBits.length} bytes: expected two equal, non-empty whole numbers of u32 words`,
    );
  }
  if (checkpoint.recoveringRegion < 0n || checkpoint.recoveringRegion > U64_MAX) {
    throw new RangeError(`recovering_region ${checkpoint.recoveringRegion} is not a u64`);
  }
  if (
    !Number.isInteger(checkpoint.recoverer) ||
    checkpoint.recoverer < 0 ||
    checkpoint.recoverer > 0xffff_ffff
  ) {
    throw new RangeError(`recoverer ${checkpoint.recoverer} is not a u32`);
  }
  const data = new Uint8Array(bitmapBytes * 2 + RECOVERING_REGION_SECTION_SIZE);
  data.set(checkpoint.syncBits, 0);
  data.set(checkpoint.cleanBits, bitmapBytes);
  const text = `${checkpoint.recoveringRegion} ${checkpoint.recoverer}`;
  for (let index = 0; index < text.length; index++) {
    data[bitmapBytes * 2 + index] = text.charCodeAt(index);
  }
  return data;
}

/** Reads a checkpoint payload; throws {@link ClogRequestError} naming the bad section. */
export function decodeClogCheckpoint(data: Uint8Array): DecodedClogCheckpoint {
  const bitmapsBytes = data.length - RECOVERING_REGION_SECTION_SIZE;
  const bitmapBytes = bitmapsBytes / 2;
  if (bitmapsBytes < 8 || bitmapBytes % 4 !== 0) {
    throw new ClogRequestError(
      'checkpoint data_size',
      `is ${data.length}`,
      `${RECOVERING_REGION_SECTION_SIZE} plus two equal bitmaps of whole u32 words (at least 72)`,
    );
  }
  const section = data.subarray(bitmapsBytes);
  const nul = section.indexOf(0);
  const textBytes = nul < 0 ? section : section.subarray(0, nul);
  if (nul >= 0 && section.subarray(nul).some((byte) => byte !== 0)) {
    throw new ClogRequestError(
      'checkpoint recovering_region',
      'has bytes after its NUL',
      'NUL padding',
    );
  }
  let text = '';
  for (const byte of textBytes) text += String.fromCharCode(byte);
  const match = /^(0|[1-9]\d*) (0|[1-9]\d*)$/.exec(text);
  const region = match === null ? -1n : BigInt(match[1]!);
  const recoverer = match === null ? -1 : Number(match[2]);
  if (match === null || region > U64_MAX || recoverer > 0xffff_ffff) {
    throw new ClogRequestError(
      'checkpoint recovering_region',
      `is ${JSON.stringify(text.slice(0, 64))}`,
      '"<recovering_region> <recoverer>": a u64 and a u32 in decimal',
    );
  }
  return {
    syncBits: data.slice(0, bitmapBytes),
    cleanBits: data.slice(bitmapBytes, bitmapsBytes),
    recoveringRegion: region,
    recoverer,
    bitmapBytes,
  };
}
