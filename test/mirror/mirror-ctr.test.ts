import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTask } from '../../sim/run-task.js';
import { World } from '../../sim/world.js';
import type { BlockDevice } from '../../src/block/block-device.js';
import { EIO } from '../../src/errno.js';
import type { DirtyLogContext } from '../../src/log/dirty-log.js';
import type { UlogTransfer } from '../../src/log/userspace/ulog-transfer.js';
import '../../src/log/builtin-logs.js';
import {
  findDirtyLogType,
  registerDirtyLogType,
  unregisterDirtyLogType,
} from '../../src/log/registry.js';
import { createMirrorTarget, MAX_NR_MIRRORS } from '../../src/mirror/mirror-ctr.js';
import type { MirrorSet } from '../../src/mirror/mirror-set.js';
import { TableError } from '../../src/table/table-error.js';
import {
  MirrorHarness,
  registerRecordingLogTypes,
  unregisterRecordingLogTypes,
} from './mirror-test-kit.js';

beforeAll(registerRecordingLogTypes);
afterAll(unregisterRecordingLogTypes);

const LENGTH = 1000;

interface Built {
  readonly world: World;
  readonly opened: string[];
  readonly mirror: MirrorSet;
}

/** `mirror_ctr` on the words after `mirror`, devices created on demand (legs at the size asked for). */
function ctr(
  words: string,
  options: {
    lengthSectors?: number;
    sizes?: Record<string, number>;
    userspaceTransfer?: () => UlogTransfer;
  } = {},
): Built {
  const world = new World({ seed: 1 });
  const opened: string[] = [];
  const devices = new Map<string, BlockDevice>();
  const mirror = createMirrorTarget(words.split(' '), {
    scheduler: world.scheduler,
    lengthSectors: options.lengthSectors ?? LENGTH,
    getDevice: (name, minimumSizeSectors, role) => {
      opened.push(`${role} ${name}`);
      const existing = devices.get(name);
      if (existing !== undefined) return existing;
      const sizeSectors =
        options.sizes?.[name] ??
        (role === 'log' ? Math.max(64, minimumSizeSectors) : minimumSizeSectors);
      const device = world.createDevice({ name, sizeSectors });
      devices.set(name, device);
      return device;
    },
    raiseEvent: () => {},
    ...(options.userspaceTransfer === undefined
      ? {}
      : { userspaceTransfer: options.userspaceTransfer }),
  });
  return { world, opened, mirror };
}

function legs(count: number): string {
  return Array.from({ length: count }, (_, index) => `leg${index} ${index * 10}`).join(' ');
}

describe('mirror_ctr accepts (§4.1)', () => {
  it('§4.1 a core log, two legs, no features', () => {
    const { mirror, opened } = ctr('core 1 64 2 leg0 0 leg1 0');
    expect(mirror.legs.map((leg) => [leg.name, leg.offsetSectors])).toEqual([
      ['leg0', 0],
      ['leg1', 0],
    ]);
    expect(mirror.features).toEqual({ handleErrors: false, keepLog: false });
    expect(mirror.log.typeName).toBe('core');
    expect(opened).toEqual(['leg leg0', 'leg leg1']);
  });

  it('§4.1 a disk log opens its device first, then the legs in table order', () => {
    const { mirror, opened } = ctr('disk 2 log0 64 3 leg0 0 leg1 0 leg2 0 1 handle_errors');
    expect(mirror.log.typeName).toBe('disk');
    expect(opened).toEqual(['log log0', 'leg leg0', 'leg leg1', 'leg leg2']);
    expect(mirror.features.handleErrors).toBe(true);
  });

  it('§4.1 from 2 to MAX_NR_MIRRORS = 9 legs', () => {
    expect(MAX_NR_MIRRORS).toBe(9);
    expect(ctr(`core 1 64 2 ${legs(2)}`).mirror.legs).toHaveLength(2);
    const nine = ctr(`core 1 64 9 ${legs(9)}`).mirror;
    expect(nine.legs).toHaveLength(9);
    expect(nine.legs[8]!.offsetSectors).toBe(80);
  });

  it('§4.1 features handle_errors and keep_log, in either order, and an explicit 0 features', () => {
    expect(ctr('core 1 64 2 leg0 0 leg1 0 1 handle_errors').mirror.features).toEqual({
      handleErrors: true,
      keepLog: false,
    });
    expect(ctr('core 1 64 2 leg0 0 leg1 0 2 keep_log handle_errors').mirror.features).toEqual({
      handleErrors: true,
      keepLog: true,
    });
    expect(ctr('core 1 64 2 leg0 0 leg1 0 0').mirror.features).toEqual({
      handleErrors: false,
      keepLog: false,
    });
  });

  it('§4.1 the region size comes from the log; nr_regions = ceil(len / region_size); max_io_len = region size', () => {
    const { mirror } = ctr('core 1 64 2 leg0 0 leg1 0');
    expect(mirror.rh.regionSizeSectors).toBe(64);
    expect(mirror.regionCount).toBe(Math.ceil(LENGTH / 64));
    expect(mirror.maxIoLenSectors).toBe(64);
  });

  it('§4.1 DEFAULT_MIRROR = 0: leg 0 is the first default leg', () => {
    expect(ctr(`core 1 64 3 ${legs(3)}`).mirror.defaultLeg.index).toBe(0);
  });

  it('§4.1 the same device may back two legs', () => {
    const { mirror } = ctr('core 1 64 2 leg0 0 leg0 1000', { sizes: { leg0: 2000 } });
    expect(mirror.legs[0]!.device).toBe(mirror.legs[1]!.device);
  });
});

describe('mirror_ctr rejects (§4.1)', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['no log arguments', 'core', /Insufficient mirror log arguments/],
    [
      'a log argument count that is not an unsigned integer',
      'core x 64',
      /Invalid mirror log argument count "x"/,
    ],
    ['a negative log argument count', 'core -1 64', /Invalid mirror log argument count "-1"/],
    ['fewer log arguments than declared', 'core 3 64 nosync', /Insufficient mirror log arguments/],
    ['an unknown log type', 'nolog 1 64 2 leg0 0 leg1 0', /Unknown dirty log type "nolog"/],
    [
      'a bad log argument (the log ctr fails)',
      'core 1 63 2 leg0 0 leg1 0',
      /Invalid region size "63"/,
    ],
    ['a missing mirror count', 'core 1 64', /Invalid number of mirrors ""/],
    ['one mirror', 'core 1 64 1 leg0 0', /Invalid number of mirrors "1": expected 2 to 9/],
    ['ten mirrors', `core 1 64 10 ${legs(10)}`, /Invalid number of mirrors "10"/],
    [
      'a mirror count with trailing characters',
      'core 1 64 2x leg0 0 leg1 0',
      /Invalid number of mirrors "2x"/,
    ],
    ['too few mirror arguments', 'core 1 64 3 leg0 0 leg1 0', /Too few mirror arguments/],
    [
      'a leg offset that is not a number',
      'core 1 64 2 leg0 0 leg1 1x',
      /Invalid offset "1x" for mirror 1/,
    ],
    ['a negative leg offset', 'core 1 64 2 leg0 -8 leg1 0', /Invalid offset "-8" for mirror 0/],
    ['an invalid feature count', 'core 1 64 2 leg0 0 leg1 0 x', /Invalid number of features "x"/],
    [
      'more features than arguments',
      'core 1 64 2 leg0 0 leg1 0 2 handle_errors',
      /Not enough arguments to support feature count 2/,
    ],
    [
      'an unknown feature',
      'core 1 64 2 leg0 0 leg1 0 1 block_on_error',
      /Unrecognised feature requested "block_on_error"/,
    ],
    [
      'keep_log without handle_errors',
      'core 1 64 2 leg0 0 leg1 0 1 keep_log',
      /keep_log feature requires the handle_errors feature/,
    ],
    [
      'words after the features',
      'core 1 64 2 leg0 0 leg1 0 1 handle_errors extra',
      /Too many mirror arguments: unexpected "extra"/,
    ],
    [
      'words after the legs with no features',
      'core 1 64 2 leg0 0 leg1 0 0 extra',
      /Too many mirror arguments/,
    ],
  ];
  for (const [what, words, message] of cases) {
    it(`§4.1 ${what} with a TableError naming the value`, () => {
      let thrown: unknown;
      try {
        ctr(words);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(TableError);
      expect(thrown).toBeInstanceOf(SyntaxError);
      expect((thrown as Error).message).toMatch(message);
    });
  }

  it('§4.1 the log is created first, so its error wins over a bad mirror count', () => {
    expect(() => ctr('core 1 63 1 leg0 0')).toThrow(/Invalid region size/);
  });

  it('§4.1 a leg too small for offset + length is rejected', () => {
    expect(() => ctr('core 1 64 2 leg0 0 leg1 24', { sizes: { leg1: LENGTH } })).toThrow(
      /Device "leg1" is too small for the target: needs offset 24 \+ length 1000 = 1024 sectors, has 1000/,
    );
  });

  it('§4.1 the dirty log is destroyed on every error after it was created', () => {
    const harness = new MirrorHarness({ table: '0 64 mirror rec-core 1 8 2 leg0 0 leg1 0' });
    harness.timeline.clear();
    expect(() => harness.build('0 64 mirror rec-core 1 8 2 leg0 0 leg1 0 1 keep_log')).toThrow(
      TableError,
    );
    expect(harness.timeline.texts(/destroy/)).toEqual(['log destroy', 'log destroy -> undefined']);
    expect(harness.logs).toHaveLength(2);
  });
});

/** The message of the TableError that `ctr(words)` throws; fails the test if it throws none. */
function tableErrorMessage(words: string): string {
  try {
    ctr(words);
  } catch (error) {
    expect(error).toBeInstanceOf(TableError);
    return (error as TableError).message;
  }
  return expect.unreachable(`expected a TableError for "${words}", but the table was accepted`);
}

describe('mirror_ctr messages name the exact values (§4.1)', () => {
  it('§4.1 one word is refused before any log is made; "<log type> 0" reaches the log ctr', () => {
    expect(tableErrorMessage('core')).toBe(
      'Insufficient mirror log arguments: expected "<log type> <#log args> <log args…>"',
    );
    expect(tableErrorMessage('core 0')).toBe(
      'Wrong number of arguments to dirty region log: got 0, expected 1 or 2 (<region_size> [sync|nosync])',
    );
  });

  it('§4.1 #log_args is a u32 of any number of digits; more than declared follow is refused with both counts', () => {
    expect(tableErrorMessage('core 12 64 nosync')).toBe(
      'Insufficient mirror log arguments: log "core" declares 12 arguments but 2 follow',
    );
    expect(tableErrorMessage('core 3 64')).toBe(
      'Insufficient mirror log arguments: log "core" declares 3 arguments but 1 follow',
    );
    expect(tableErrorMessage('core 4294967296 64')).toBe(
      'Invalid mirror log argument count "4294967296": expected at most 4294967295',
    );
    for (const count of ['x1', '1x', '+1']) {
      expect(tableErrorMessage(`core ${count} 64`)).toBe(
        `Invalid mirror log argument count "${count}": expected an unsigned integer`,
      );
    }
  });

  it('§4.1 #mirrors is digits only: leading zeros are accepted, a leading letter is refused', () => {
    expect(ctr('core 1 64 02 leg0 0 leg1 0').mirror.legs).toHaveLength(2);
    expect(tableErrorMessage('core 1 64 x2 leg0 0 leg1 0')).toBe(
      'Invalid number of mirrors "x2": expected 2 to 9',
    );
  });

  it('§4.1 too few mirror arguments: N mirrors need 2N words', () => {
    expect(tableErrorMessage('core 1 64 3 leg0 0 leg1 0')).toBe(
      'Too few mirror arguments: 3 mirrors need 6 words (<device> <offset> each), got 4',
    );
    expect(tableErrorMessage('core 1 64 2 leg0 0 leg1')).toBe(
      'Too few mirror arguments: 2 mirrors need 4 words (<device> <offset> each), got 3',
    );
  });

  it('§4.1 a leg offset is a plain sector number: exponents and decimals are refused', () => {
    for (const offset of ['1e3', '1.0', '0x10']) {
      expect(tableErrorMessage(`core 1 64 2 leg0 0 leg1 ${offset}`)).toBe(
        `Invalid offset "${offset}" for mirror 1: expected a sector number`,
      );
    }
  });

  it('§4.1 #features is digits only, any number of them, and may not exceed the words that follow', () => {
    for (const count of ['x1', '1x']) {
      expect(tableErrorMessage(`core 1 64 2 leg0 0 leg1 0 ${count} handle_errors`)).toBe(
        `Invalid number of features "${count}": expected an unsigned integer`,
      );
    }
    expect(ctr('core 1 64 2 leg0 0 leg1 0 01 handle_errors').mirror.features).toEqual({
      handleErrors: true,
      keepLog: false,
    });
    expect(tableErrorMessage('core 1 64 2 leg0 0 leg1 0 10')).toBe(
      'Not enough arguments to support feature count 10: only 0 follow',
    );
    expect(tableErrorMessage('core 1 64 2 leg0 0 leg1 0 2 handle_errors')).toBe(
      'Not enough arguments to support feature count 2: only 1 follow',
    );
  });

  it('§4.1 every leftover word is quoted in "Too many mirror arguments"', () => {
    expect(tableErrorMessage('core 1 64 2 leg0 0 leg1 0 1 handle_errors extra words')).toBe(
      'Too many mirror arguments: unexpected "extra words" after the features',
    );
  });
});

describe('mirror_ctr and the log context (§2.8 §4.8)', () => {
  const EAGER = 'test-eager-flush';
  let flushedAtCtr: unknown = null;
  let context: DirtyLogContext | null = null;

  beforeAll(() => {
    registerDirtyLogType({
      name: EAGER,
      summary: 'test only: a core log that calls its flush callback from its constructor',
      create(created: DirtyLogContext, args: readonly string[]) {
        context = created;
        try {
          created.flushCallback?.();
        } catch (error) {
          flushedAtCtr = error;
        }
        return findDirtyLogType('core')!.create(created, args);
      },
    });
  });
  afterAll(() => unregisterDirtyLogType(EAGER));

  it('§4.8 a log that flushes before the mirror exists gets a TableError; afterwards the callback is mirror_flush', () => {
    const { world, mirror } = ctr(`${EAGER} 1 64 2 leg0 0 leg1 0`);
    expect(flushedAtCtr).toBeInstanceOf(TableError);
    expect((flushedAtCtr as TableError).message).toBe(
      'The log flushed before the mirror was built',
    );
    expect(context!.flushCallback).not.toBeNull();
    expect(runTask(world.scheduler, context!.flushCallback!())).toBe(0);
    world.device('leg1').faults.injectNext('flush', 'error');
    expect(runTask(world.scheduler, context!.flushCallback!())).toBe(EIO);
    expect(mirror.legs.map((leg) => leg.statusChar()).join('')).toBe('AF');
  });

  it('§2.8 §4.1 the userspace-log transfer layer given to mirror_ctr reaches the log context', () => {
    const transfer = (): UlogTransfer => {
      throw new TypeError('a core log never asks for the transfer layer');
    };
    ctr(`${EAGER} 1 64 2 leg0 0 leg1 0`, { userspaceTransfer: transfer });
    expect(context!.userspaceTransfer).toBe(transfer);
    ctr(`${EAGER} 1 64 2 leg0 0 leg1 0`);
    expect(context!.userspaceTransfer).toBeUndefined();
  });
});
