/**
 * How a failed seed is printed on stdout, by `fuzz` and by `fuzz merge`
 * alike (so a merge of shards prints what the unsharded campaign printed):
 * the violation, then the one line that replays it.
 */

/** `seed N failed: VIOLATION` and the replay line, indented, each ending in a newline. */
export function formatFailure(seed: number, violation: string, replay: string): string {
  return `seed ${seed} failed: ${violation}\n  ${replay}\n`;
}
