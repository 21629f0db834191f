/** The export as the handshake describes it: transmission flags (§2.6) and the checks on a profile. */
import { describe, expect, it } from 'vitest';
import {
  BASE_TRANSMISSION_FLAGS,
  checkExportProfile,
  selectsExport,
  transmissionFlags,
} from '../../../host/nbd/protocol/export-profile.js';

const PROFILE = { name: 'mirror', description: 'd', sizeBytes: 1 << 20, multiConn: true };

describe('export profile', () => {
  it('advertises 0x6D always, DF only with structured replies, MULTI_CONN when state is shared (§2.6, §5.9)', () => {
    expect(BASE_TRANSMISSION_FLAGS).toBe(0x006d);
    expect(transmissionFlags(PROFILE, false)).toBe(0x016d);
    expect(transmissionFlags(PROFILE, true)).toBe(0x01ed);
    expect(transmissionFlags({ ...PROFILE, multiConn: false }, true)).toBe(0x00ed);
  });

  it("the empty name and the export's own name select it; nothing else does", () => {
    expect(selectsExport(PROFILE, '')).toBe(true);
    expect(selectsExport(PROFILE, 'mirror')).toBe(true);
    expect(selectsExport(PROFILE, 'Mirror')).toBe(false);
  });

  it('refuses a size that is not a positive multiple of 512 and names over 4096 bytes or with NUL', () => {
    expect(() => checkExportProfile(PROFILE)).not.toThrow();
    expect(() => checkExportProfile({ ...PROFILE, sizeBytes: 1000 })).toThrow(
      'Export size 1000 is not a multiple of 512 bytes (the minimum block size)',
    );
    expect(() => checkExportProfile({ ...PROFILE, sizeBytes: 0 })).toThrow(
      'Export size 0 is not a positive safe integer',
    );
    expect(() => checkExportProfile({ ...PROFILE, name: 'é'.repeat(2049) })).toThrow(
      /^Export name "é+…" is not a protocol string: expected at most 4096 UTF-8 bytes and no NUL$/,
    );
    expect(() => checkExportProfile({ ...PROFILE, description: 'a\0b' })).toThrow(
      /Export description/,
    );
  });
});
