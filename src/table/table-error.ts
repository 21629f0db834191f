/**
 * A device-mapper table line that cannot be loaded: the constructor's
 * `ti->error`. Its message names the bad value and what was expected.
 */
export class TableError extends SyntaxError {
  override name = 'TableError';
}
