/**
 * What DM core needs from a target (`struct target_type`): map a bio, see
 * it complete, take part in suspend and resume, and report status.
 */
import type { BlockDevice } from '../block/block-device.js';
import type { Blocking } from '../concurrency/blocking.js';
import type { StatusType } from '../log/dirty-log.js';
import type { Bio } from './bio.js';

/** `DM_MAPIO_*`: the target took the bio, sent it to a device itself, or failed it. */
export type MapResult =
  | { readonly kind: 'submitted' }
  | { readonly kind: 'kill' }
  | { readonly kind: 'remapped'; readonly device: BlockDevice; readonly sector: number };

export const SUBMITTED: MapResult = { kind: 'submitted' };
export const KILL: MapResult = { kind: 'kill' };

/** `DM_ENDIO_DONE` or `DM_ENDIO_INCOMPLETE` (the target requeued the bio itself). */
export type EndIoResult = 'done' | 'incomplete';

export interface Target {
  readonly typeName: string;
  readonly lengthSectors: number;
  /** `dm_set_target_max_io_len`: no bio crosses a multiple of this. */
  readonly maxIoLenSectors: number;
  map(bio: Bio): MapResult;
  /** Runs when a bio completes (submitted or remapped); may requeue it. */
  endIo(bio: Bio): EndIoResult;
  presuspend(options: { readonly noflush: boolean }): Blocking<void>;
  postsuspend(): Blocking<void>;
  resume(): Blocking<void>;
  /** `dtr`. */
  destroy(): Blocking<void>;
  /** The target's part of `dmsetup status` (info) or `dmsetup table` (table). */
  status(type: StatusType): Blocking<string>;
}
