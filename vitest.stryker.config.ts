import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// The tests Stryker runs against each mutant of src/log and src/mirror: the unit and
// behaviour suites of those folders and the crash-consistency checks that replay fixed
// scripts. The long model-based and CLI suites are left out so a full run fits in about an
// hour on two cores; they run in `npm test`.
export default defineConfig({
  test: {
    ...base.test,
    include: [
      'test/log/**/*.test.ts',
      'test/mirror/**/*.test.ts',
      'test/dm/**/*.test.ts',
      'test/crash/regressions.test.ts',
      'test/crash/oracle.test.ts',
      'test/crash/mode-expectations.test.ts',
      'test/crash/fault-budget.test.ts',
    ],
  },
});
