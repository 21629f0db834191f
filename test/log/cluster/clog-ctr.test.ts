import { describe, expect, it } from 'vitest';
import { isClogCtrRefusal, parseClogCtr, parseStrtoll } from '../../../src/log/cluster/clog-ctr.js';
import { DmBitset } from '../../../src/log/cluster/dm-bitset.js';

const parse = (line: string) => parseClogCtr(line, { regionsMax: 1 << 20 });

describe('_clog_ctr argument parsing (§4.7)', () => {
  it('strtoll(…, 0) parses decimal, hex and octal to the end, with C’s sign and saturation', () => {
    expect(
      ['1024', '0x400', '02000', ' +8', '-1', '0', '99999999999999999999'].map(parseStrtoll),
    ).toEqual([1024n, 1024n, 1024n, 8n, (1n << 64n) - 1n, 0n, (1n << 63n) - 1n]);
    for (const bad of ['', '12a', '0x', '253:2', 'log0', '1 '])
      expect(parseStrtoll(bad), bad).toBeNull();
  });

  it('the first argument decides: a whole non-zero number makes a core log, anything else a disk log', () => {
    expect(parse('8192 clustered-core 1024 nosync block_on_error')).toEqual({
      logType: 'clustered-core',
      device: null,
      regionSizeSectors: 1024,
      regionCount: 8,
      sync: 'nosync',
      blockOnError: true,
      deviceSizeSectors: 8192n,
    });
    // The log type word is only a gate: a device argument makes a disk log under either name.
    expect(parse('8193 clustered-core 253:2 0x400 sync')).toMatchObject({
      logType: 'clustered-disk',
      device: '253:2',
      regionCount: 9,
      sync: 'forcesync',
    });
    const refused = parse('8192 clustered-core 1024 x y z');
    expect(isClogCtrRefusal(refused) && refused.message).toBe(
      'Too many arguments to clustered-core log type',
    );
    const huge = parseClogCtr('8192 clustered-core 2', { regionsMax: 100 });
    expect(isClogCtrRefusal(huge) && huge.message).toBe(
      "Region count 4096 exceeds the simulator's limit of 100 regions",
    );
    const wide = parse('8192 clustered-core 0x100000000');
    expect(isClogCtrRefusal(wide) && wide.message).toContain('does not fit lc->region_size');
  });
});

describe('dm_bitset_t (libdevmapper, as cmirrord uses it)', () => {
  it('(n / 32 + 1) words; count_bits32 counts the tail bits too; find_next_zero_bit stops past the count', () => {
    const bits = new DmBitset(40);
    expect(bits.byteLength).toBe(8);
    bits.setAll();
    expect(bits.countBits32()).toBe(64);
    expect(bits.findNextZero(0)).toBe(-1);
    bits.clear(37);
    expect(bits.findNextZero(3)).toBe(37);
    expect(bits.test(37)).toBe(0);
    expect(bits.test(36)).toBe(1);
    expect(Array.from(bits.toBytes().subarray(4, 8))).toEqual([0xff & ~(1 << 5), 0xff, 0xff, 0xff]);
    expect(() => bits.test(64)).toThrow('bit 64 is past a 40-bit dm_bitset');
  });
});
