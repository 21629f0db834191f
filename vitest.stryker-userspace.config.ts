import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// The tests Stryker runs against each mutant of src/log/userspace: that folder's own suites.
// Every test file reaches the userspace log through builtin-logs, so with the full Stryker set
// each mutant would load dozens of files that cannot tell it apart; the score this gives is
// a lower bound (the crash suites' userspace scenarios are left out).
export default defineConfig({
  test: {
    ...base.test,
    include: ['test/log/userspace/**/*.test.ts'],
  },
});
