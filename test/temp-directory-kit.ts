/**
 * Scratch directories for tests, removed when the test ends (passed or
 * not), so a suite leaves nothing in the system's temporary directory
 * (`.ci/run` checks that it does not).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';

/** Prefix of every scratch directory, which `.ci/run` looks for after the suite. */
export const TEMP_DIRECTORY_PREFIX = 'mirrorsim-test-';

/**
 * Returns a function that makes a new scratch directory; every directory
 * it made is removed after each test of the calling file.
 */
export function useTempDirectories(): (label: string) => string {
  const made: string[] = [];
  afterEach(() => {
    for (const path of made.splice(0)) rmSync(path, { recursive: true, force: true });
  });
  return (label) => {
    const path = mkdtempSync(join(tmpdir(), `${TEMP_DIRECTORY_PREFIX}${label}-`));
    made.push(path);
    return path;
  };
}
