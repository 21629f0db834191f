/**
 * A bio as a device-mapper target sees it: one piece of a user request,
 * never crossing the target's `max_io_len` boundary, plus the per-bio data
 * a target keeps (dm-raid1's `dm_raid1_bio_record`).
 */
import { assert } from '../assert.js';

export type BioOperation = 'read' | 'write' | 'flush' | 'discard';

/** `blk_status_t` values the modelled paths use. */
export type BioStatus = 'ok' | 'ioerr' | 'notsupp' | 'requeue';

export class Bio {
  status: BioStatus = 'ok';
  /** dm-raid1: the region a write maps to, saved at map time for `mirror_end_io`. */
  writeRegion = -1;
  /**
   * dm-raid1: the leg a fast-path read was sent to (`bio_record->m`) with its
   * details recorded for a retry; -1 when nothing was recorded.
   */
  recordedLeg = -1;
  /** Set once DM core has seen the bio complete for good. */
  finished = false;
  /** The user never changes `data` (a write's `stable` flag): devices may keep it without a copy. */
  stableData = false;

  constructor(
    readonly operation: BioOperation,
    /** Target-relative start sector. */
    readonly sector: number,
    readonly sectorCount: number,
    /** Write payload; for reads, filled in on completion. Null for flushes and discards. */
    public data: Uint8Array | null,
    readonly fua: boolean,
    /** `REQ_RAHEAD`: may be failed instead of queued. */
    readonly readahead: boolean,
    /** Called by the target's `bio_endio`; DM core then runs the target's `end_io`. */
    private readonly onEnd: (bio: Bio) => void,
  ) {
    assert(sectorCount >= 0, 'bio length is negative');
    assert((operation === 'flush') === (sectorCount === 0), 'only flush bios are empty');
  }

  get isWrite(): boolean {
    return this.operation !== 'read';
  }

  /** `bio_endio`: the bio is done (with `status`) as far as the target is concerned. */
  endio(): void {
    assert(!this.finished, 'bio ended twice');
    this.onEnd(this);
  }

  /** `bio_io_error`. */
  ioError(): void {
    this.status = 'ioerr';
    this.endio();
  }
}
