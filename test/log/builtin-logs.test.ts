/**
 * The built-in log types register under the names a table line uses
 * (§4.1 `create_dirty_log`). The modules are imported inside the test, so a
 * module that fails while it loads (an empty or clashing type name) fails
 * this test rather than only the files that import it statically.
 */
import { describe, expect, it } from 'vitest';

describe('built-in log types (§4.1)', () => {
  it('importing builtin-logs registers core, disk and userspace by their dm names', async () => {
    await import('../../src/log/builtin-logs.js');
    const { dirtyLogTypeNames, findDirtyLogType } = await import('../../src/log/registry.js');
    const names = dirtyLogTypeNames();
    for (const name of ['core', 'disk', 'userspace']) {
      expect(names, name).toContain(name);
      expect(findDirtyLogType(name)?.name).toBe(name);
    }
    const { CORE_LOG_TYPE_NAME } = await import('../../src/log/core-log.js');
    const { DISK_LOG_TYPE_NAME } = await import('../../src/log/disk-log.js');
    expect([CORE_LOG_TYPE_NAME, DISK_LOG_TYPE_NAME]).toEqual(['core', 'disk']);
  });
});
