import { defineConfig } from 'vitest/config';

/**
 * `.ci/run` runs the README's `npm test` with VITEST_JSON_FILE set, to read
 * the pass and fail counts from vitest's JSON report.
 */
const jsonFile = process.env.VITEST_JSON_FILE;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    ...(jsonFile === undefined || jsonFile === ''
      ? {}
      : { reporters: ['default', 'json'], outputFile: { json: jsonFile } }),
    setupFiles: ['./vitest.setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores in CI: run test files in parallel, one per core.
    maxWorkers: 2,
  },
});
