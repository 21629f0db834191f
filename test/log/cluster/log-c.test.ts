import { describe, expect, it } from 'vitest';
import { isClogCtrRefusal, parseClogCtr } from '../../../src/log/cluster/clog-ctr.js';
import { RECOVERING_REGION_NONE } from '../../../src/log/cluster/cluster-constants.js';
import { LogC } from '../../../src/log/cluster/log-c.js';

function coreLog(line: string): LogC {
  const args = parseClogCtr(line, { regionsMax: 1 << 20 });
  if (isClogCtrRefusal(args)) throw new Error(args.message);
  return new LogC({ uuid: 'uuid', luid: 1n, args, disk: null });
}

describe('log_c (functions.c)', () => {
  it('clog_get_resync_work: find_next_zero_bit’s -1 (the tail bits dm_bit_set_all sets, before a resume clears them) comes back as r = 2^64 − 1 with i = 0', () => {
    const log = coreLog('40 clustered-core 1 nosync');
    expect(log.syncBits.countBits32()).toBe(64);
    expect(log.getResyncWork(1)).toEqual({ result: 0, region: RECOVERING_REGION_NONE });
    expect(log.syncSearch).toBe(41);
  });
});
