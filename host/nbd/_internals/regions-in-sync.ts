/**
 * How many regions the dirty log reports in sync right now, without
 * blocking and without running the world (a metrics scrape must not change
 * the simulation). Null when the log cannot say without a round trip (a
 * userspace log answers EWOULDBLOCK to a non-blocking `in_sync`) or when
 * walking every region would cost too much.
 */

import { logInSyncNow } from '../../../sim/check/mirror-checker.js';
import { EWOULDBLOCK } from '../../../src/errno.js';
import type { MirrorSet } from '../../../src/mirror/mirror-set.js';

/** Beyond this many regions a scrape does not walk them all. */
const REGIONS_WALKED_MAX = 1 << 20;

/** Regions in sync by the log's non-blocking answer, or null (see the file comment). */
export function countRegionsInSync(mirror: MirrorSet): number | null {
  if (mirror.regionCount > REGIONS_WALKED_MAX) return null;
  let inSync = 0;
  for (let region = 0; region < mirror.regionCount; region++) {
    const answer = logInSyncNow(mirror.log, region);
    if (answer === EWOULDBLOCK || answer < 0) return null;
    if (answer === 1) inSync++;
  }
  return inSync;
}
