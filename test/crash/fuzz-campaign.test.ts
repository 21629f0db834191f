/**
 * Long crash-consistency campaigns, off by default: `FUZZ=1 npx vitest run
 * test/crash` runs each for `FUZZ_SECONDS` (default 300) of wall clock,
 * with as many scenarios as fit. A failure prints the `mirrorsim replay`
 * line that re-runs it; pin FC_SEED to repeat a whole campaign.
 */
import { describe, expect, it } from 'vitest';
import { assertFuzz, type FuzzScenarioOptions } from '../../sim/fuzz/fuzz-property.js';
import '../../src/log/builtin-logs.js';

const enabled = process.env.FUZZ === '1';
const seconds = Number(process.env.FUZZ_SECONDS ?? '300');

const CAMPAIGNS: ReadonlyArray<{ readonly name: string; readonly options: FuzzScenarioOptions }> = [
  {
    name: 'within budget, core and disk logs',
    options: { budget: 'within', logTypes: ['core', 'disk'] },
  },
  {
    name: 'within budget, every fault kind on, long scenarios',
    options: { budget: 'within', logTypes: ['core', 'disk'], faultWeightMin: 50, maxCommands: 120 },
  },
  {
    name: 'beyond budget, core and disk logs',
    options: { budget: 'beyond', logTypes: ['core', 'disk'] },
  },
  {
    name: 'userspace log, within and beyond',
    options: { budget: 'within', logTypes: ['userspace'] },
  },
  { name: 'userspace log, beyond budget', options: { budget: 'beyond', logTypes: ['userspace'] } },
];

describe.skipIf(!enabled)(`fuzz campaigns (FUZZ=1, ${seconds} s each)`, () => {
  for (const campaign of CAMPAIGNS) {
    it(
      campaign.name,
      () => {
        const runs = assertFuzz(campaign.options, {
          numRuns: Number.MAX_SAFE_INTEGER,
          interruptAfterTimeLimit: seconds * 1000,
        });
        expect(runs).toBeGreaterThan(0);
      },
      (seconds + 120) * 1000,
    );
  }
});
