/**
 * One leg of a mirror set (`struct mirror` in dm-raid1.c): its device and
 * offset, and the errors recorded against it. The error types are bits,
 * in the kernel's enum order.
 */
import type { BlockDevice } from '../block/block-device.js';

export const DM_RAID1_WRITE_ERROR = 0;
export const DM_RAID1_FLUSH_ERROR = 1;
export const DM_RAID1_SYNC_ERROR = 2;
export const DM_RAID1_READ_ERROR = 3;
export type MirrorErrorType = 0 | 1 | 2 | 3;

export function errorTypeName(type: MirrorErrorType): string {
  return ['WRITE_ERROR', 'FLUSH_ERROR', 'SYNC_ERROR', 'READ_ERROR'][type]!;
}

export class Leg {
  /** `error_count`: anything but 0 means the leg has seen errors. */
  errorCount = 0;
  /** `error_type`: one bit per {@link MirrorErrorType}. */
  errorTypeBits = 0;

  constructor(
    readonly index: number,
    readonly device: BlockDevice,
    readonly offsetSectors: number,
  ) {}

  get name(): string {
    return this.device.name;
  }

  hasErrorType(type: MirrorErrorType): boolean {
    return (this.errorTypeBits & (1 << type)) !== 0;
  }

  /**
   * `device_status_char`: `A` when the leg has no errors, otherwise the most
   * severe recorded type: `F` flush, `D` write, `S` sync, `R` read, else `U`.
   */
  statusChar(): string {
    if (this.errorCount === 0) return 'A';
    if (this.hasErrorType(DM_RAID1_FLUSH_ERROR)) return 'F';
    if (this.hasErrorType(DM_RAID1_WRITE_ERROR)) return 'D';
    if (this.hasErrorType(DM_RAID1_SYNC_ERROR)) return 'S';
    if (this.hasErrorType(DM_RAID1_READ_ERROR)) return 'R';
    return 'U';
  }

  /** `reset_ms_flags` for this leg. */
  resetErrors(): void {
    this.errorCount = 0;
    this.errorTypeBits = 0;
  }
}
