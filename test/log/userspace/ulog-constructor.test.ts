import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EINVAL } from '../../../src/errno.js';
import {
  buildUlogConstructor,
  decodeUlogCtrRequest,
  decodeUlogRequest,
  encodeUlogCtrRequest,
  encodeUlogRequest,
  parseUlogCtrString,
  UlogRequestType as T,
  ulogStatusTable,
} from '../../../src/log/userspace/index.js';
import { TableError } from '../../../src/table/table-error.js';
import { expectProtocolError, makeRequest } from './ulog-test-helpers.js';

describe('§2.1 constructor string', () => {
  it('§2.1 puts the length first: "<len> clustered-disk 253:2 1024 nosync"', () => {
    const ctr = buildUlogConstructor(
      ['LVM-uuid1', 'clustered-disk', '253:2', '1024', 'nosync'],
      52428800,
    );
    expect(ctr).toEqual({
      uuid: 'LVM-uuid1',
      integratedFlush: false,
      usrArgc: 5,
      ctrString: '52428800 clustered-disk 253:2 1024 nosync',
    });
  });

  it('§2.1 the doc example of buildUlogConstructor holds', () => {
    const ctr = buildUlogConstructor(['my-uuid', 'clustered-disk', '253:2', '1024'], 2048);
    expect(ctr.ctrString).toBe('2048 clustered-disk 253:2 1024');
    expect(ulogStatusTable(ctr)).toBe('userspace 4 my-uuid clustered-disk 253:2 1024 ');
  });

  it('§2.6 the TABLE status is rebuilt from the ctr string minus its length, with a trailing space', () => {
    const ctr = buildUlogConstructor(['u1', 'clustered-core', '1024'], 2048);
    expect(ulogStatusTable(ctr)).toBe('userspace 3 u1 clustered-core 1024 ');
  });

  it('§2.6 a ctr string without a space after its length cannot give a TABLE status', () => {
    expect(() =>
      ulogStatusTable({ uuid: 'u', integratedFlush: false, usrArgc: 3, ctrString: '8' }),
    ).toThrow(/CTR string "8" has no space after its length/);
  });

  it('§2.6 the TABLE status takes everything after the first space, even a space at the start (strchr)', () => {
    // The kernel's strchr(usr_argv_str, ' ') finds a leading space too; only no space at all is a BUG.
    const table = ulogStatusTable({
      uuid: 'u',
      integratedFlush: false,
      usrArgc: 3,
      ctrString: ' core 8',
    });
    expect(table).toBe('userspace 3 u core 8 ');
  });

  it('§2.1 integrated_flush right after the uuid is matched in any case and removed', () => {
    const ctr = buildUlogConstructor(['u1', 'Integrated_FLUSH', 'clustered-core', '1024'], 8);
    expect(ctr).toEqual({
      uuid: 'u1',
      integratedFlush: true,
      usrArgc: 4,
      ctrString: '8 clustered-core 1024',
    });
    expect(ulogStatusTable(ctr)).toBe('userspace 4 u1 integrated_flush clustered-core 1024 ');
  });

  it('§2.1 integrated_flush anywhere else is an ordinary argument', () => {
    const ctr = buildUlogConstructor(['u1', 'core', 'integrated_flush'], 8);
    expect(ctr.integratedFlush).toBe(false);
    expect(ctr.ctrString).toBe('8 core integrated_flush');
  });

  it('§2.1 uuid, integrated_flush and one argument are enough: argc ≥ 3', () => {
    const ctr = buildUlogConstructor(['u1', 'integrated_flush', 'core'], 0);
    expect(ctr.ctrString).toBe('0 core');
    expect(ulogStatusTable(ctr)).toBe('userspace 3 u1 integrated_flush core ');
  });

  it('§2.1 fewer than 3 arguments is "Too few arguments"', () => {
    for (const args of [[], ['u1'], ['u1', 'core']]) {
      expect(() => buildUlogConstructor(args, 8)).toThrow(TableError);
      expect(() => buildUlogConstructor(args, 8)).toThrow(
        new RegExp(
          `Too few arguments to userspace dirty log: got ${args.length}, expected at least 3`,
        ),
      );
    }
  });

  it('§2.1 the uuid is at most 128 characters', () => {
    expect(buildUlogConstructor(['u'.repeat(128), 'core', '8'], 8).uuid).toHaveLength(128);
    expect(() => buildUlogConstructor(['u'.repeat(129), 'core', '8'], 8)).toThrow(
      /UUID argument "u+…" is 129 characters: expected at most 128/,
    );
  });

  it('§3 the CTR string with its NUL must fit the 332-byte payload', () => {
    // "8 " + type + " " + arg: 2 + 4 + 1 + n characters.
    const fits = buildUlogConstructor(['u1', 'core', 'a'.repeat(324)], 8);
    expect(fits.ctrString.length).toBe(331);
    expect(encodeUlogCtrRequest(fits.ctrString).length).toBe(332);
    expect(() => buildUlogConstructor(['u1', 'core', 'a'.repeat(325)], 8)).toThrow(
      /constructor string "8 core a+…" needs 333 bytes with its NUL: expected at most 332/,
    );
  });

  it('§2.1 arguments are table words of printable ASCII', () => {
    expect(() => buildUlogConstructor(['u1', 'core', 'a b'], 8)).toThrow(
      /Userspace log argument 3 "a b" has character 0x20 at 1: expected printable ASCII without spaces/,
    );
    expect(() => buildUlogConstructor(['u1', '', 'x'], 8)).toThrow(
      /Userspace log argument 2 is empty/,
    );
    expect(() => buildUlogConstructor(['\u00fc', 'core', 'x'], 8)).toThrow(TableError);
  });

  it('§2.1 a hole in a sparse argument array is an empty argument, wherever it is', () => {
    for (const hole of [0, 2]) {
      const args = new Array<string>(3);
      for (const index of [0, 1, 2]) if (index !== hole) args[index] = ['u1', 'core', '8'][index]!;
      expect(() => buildUlogConstructor(args, 8)).toThrow(
        new TableError(`Userspace log argument ${hole + 1} is empty: expected one table word`),
      );
    }
  });

  it('§2.1 the target length is a non-negative safe integer', () => {
    expect(() => buildUlogConstructor(['u1', 'core', '8'], -1)).toThrow(RangeError);
    expect(() => buildUlogConstructor(['u1', 'core', '8'], 1.5)).toThrow(
      /Target length 1.5 sectors is not a non-negative safe integer/,
    );
  });
});

describe('§2.1 the daemon side of the CTR string', () => {
  it('§2.1 parses length, log type and arguments, as clog_ctr splits them', () => {
    expect(parseUlogCtrString('52428800 clustered-disk 253:2 1024 nosync')).toEqual({
      targetLengthSectors: 52428800,
      logType: 'clustered-disk',
      args: ['253:2', '1024', 'nosync'],
    });
    expect(parseUlogCtrString('8 core')).toEqual({
      targetLengthSectors: 8,
      logType: 'core',
      args: [],
    });
  });

  it('§2.1 refuses a CTR string without a leading length or a log type', () => {
    expectProtocolError(() => parseUlogCtrString('core 8'), {
      errno: EINVAL,
      message: /CTR string "core 8" starts with "core": expected the device length in sectors/,
    });
    expectProtocolError(() => parseUlogCtrString('8'), {
      errno: EINVAL,
      message: /CTR string "8" has no log type/,
    });
    expectProtocolError(() => parseUlogCtrString('8 core  x'), {
      errno: EINVAL,
      message: /has an empty argument 1: expected words separated by single spaces/,
    });
  });

  it('§2.1 the length is all decimal digits: a sign, a fraction, hex, an exponent or garbage is refused', () => {
    // '+12', '12.0', '0x10', '1e3' and '' read as safe integers through Number(): only the digit rule refuses them.
    for (const word of ['+12', '12.0', '0x10', '1e3', 'x12', '12x', '']) {
      const ctrString = `${word} core`;
      const error = expectProtocolError(() => parseUlogCtrString(ctrString), {
        errno: EINVAL,
        message: /expected the device length in sectors/,
      });
      expect(error.message).toBe(
        `CTR string "${ctrString}" starts with "${word}": expected the device length in sectors`,
      );
    }
  });

  it('§2.1 the length must be a safe integer: 2^53 - 1 parses, 2^53 is refused', () => {
    expect(parseUlogCtrString('9007199254740991 core').targetLengthSectors).toBe(
      Number.MAX_SAFE_INTEGER,
    );
    expectProtocolError(() => parseUlogCtrString('9007199254740992 core'), {
      errno: EINVAL,
      message: /starts with "9007199254740992": expected the device length in sectors/,
    });
  });

  it('§2.1 an empty log type (two spaces after the length, or a trailing space) is "no log type"', () => {
    const error = expectProtocolError(() => parseUlogCtrString('8  core'), {
      errno: EINVAL,
      message: /has no log type/,
    });
    expect(error.message).toBe(
      'CTR string "8  core" has no log type: expected "<length> <log type> <args…>"',
    );
    expectProtocolError(() => parseUlogCtrString('8 '), {
      errno: EINVAL,
      message: /^CTR string "8 " has no log type/,
    });
  });

  it('§2.1 table arguments survive ctr string → CTR record → daemon parse', () => {
    const word = fc
      .array(fc.integer({ min: 0x21, max: 0x7e }), { minLength: 1, maxLength: 12 })
      .map((codes) => String.fromCharCode(...codes))
      .filter((text) => text.toLowerCase() !== 'integrated_flush');
    fc.assert(
      fc.property(
        word,
        fc.boolean(),
        fc.array(word, { minLength: 2, maxLength: 8 }),
        fc.nat(),
        (uuid, flush, logArgs, length) => {
          const args = [uuid, ...(flush ? ['integrated_flush'] : []), ...logArgs];
          const ctr = buildUlogConstructor(args, length);
          const record = makeRequest(T.CTR, encodeUlogCtrRequest(ctr.ctrString), { uuid });
          const decoded = decodeUlogRequest(encodeUlogRequest(record));
          const parsed = parseUlogCtrString(decodeUlogCtrRequest(decoded.data));
          expect(parsed).toEqual({
            targetLengthSectors: length,
            logType: logArgs[0],
            args: logArgs.slice(1),
          });
          expect(ulogStatusTable(ctr)).toBe(
            `userspace ${args.length} ${uuid} ${flush ? 'integrated_flush ' : ''}${logArgs.join(' ')} `,
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});
