/**
 * `mirrorsim replay --path`: the path `fuzz` printed for a failure,
 * `<fast-check path>@<replay path>`, checked before anything runs so that a
 * mistyped or made-up path is refused with one line instead of a stack
 * trace, a hang or a silent run of something else.
 *
 * - The fast-check path is the run index and then one index per shrink
 *   step (`0:3:1`). A fuzz seed is one run, so it starts with 0; fast-check
 *   walks to each index one candidate at a time, so an index is bounded
 *   (a huge one would walk for hours).
 * - The replay path is fast-check's record of which commands ran:
 *   `<counts>:<changes>` in base64 digits, one change digit per six counts.
 *   It only means something after a shrink, so it needs a fast-check path.
 * - `@` alone (the default) is the seed's own scenario, unshrunk.
 */
import { UsageError } from './cli-io.js';
import { quoteValue } from './quote-value.js';

/**
 * The largest index of a shrink step: fast-check tries candidates one by
 * one and each try runs a scenario, so a campaign never gets near it.
 */
export const SHRINK_INDEX_MAX = 100_000;

const BASE64_DIGITS = /^[A-Za-z0-9+/]*$/;

/** Checks `text`; returns it, or throws a UsageError saying what is wrong. */
export function checkReplayPath(text: string): string {
  const fail = (why: string) =>
    new UsageError(
      `Invalid --path ${quoteValue(text)}: ${why}; expected <fast-check path>@<replay path> as fuzz printed it`,
    );
  const separator = text.indexOf('@');
  if (separator < 0) throw fail('no "@"');
  const fastCheckPath = text.slice(0, separator);
  const replayPath = text.slice(separator + 1);
  if (fastCheckPath === '') {
    if (replayPath !== '') throw fail('a replay path needs a fast-check path before the "@"');
    return text;
  }
  const segments = fastCheckPath.split(':');
  if (!segments.every((segment) => /^\d+$/.test(segment))) {
    throw fail('the fast-check path is not numbers separated by ":"');
  }
  if (segments.some((segment) => Number(segment) > SHRINK_INDEX_MAX)) {
    throw fail(`an index is over ${SHRINK_INDEX_MAX}`);
  }
  if (Number(segments[0]) !== 0) {
    throw fail('the fast-check path of a fuzz seed starts with 0 (one run)');
  }
  if (replayPath !== '') checkCommandsReplayPath(replayPath, fail);
  return text;
}

function checkCommandsReplayPath(replayPath: string, fail: (why: string) => UsageError): void {
  const parts = replayPath.split(':');
  const [counts = '', changes = ''] = parts;
  if (parts.length !== 2 || !BASE64_DIGITS.test(counts) || !BASE64_DIGITS.test(changes)) {
    throw fail('the replay path is not <counts>:<changes> in base64 digits');
  }
  if (changes.length !== Math.ceil(counts.length / 6)) {
    throw fail(
      `the replay path has ${counts.length} counts and ${changes.length} change digits, not one per six counts`,
    );
  }
}
