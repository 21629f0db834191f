/**
 * The one error a cluster message decoder throws (reference
 * userspace-and-cluster-logs.md §4.4): it names the field that is wrong
 * and what was expected, so that a daemon can log it and drop the message.
 */

/** A cluster message that breaks `struct clog_request`'s format. */
export class ClogRequestError extends Error {
  override name = 'ClogRequestError';
  /** The field, e.g. `version[0]`, `data_size`, `u_rq.uuid`. */
  readonly field: string;

  constructor(field: string, problem: string, expected: string) {
    super(`clog_request ${field} ${problem}: expected ${expected}`);
    this.field = field;
  }
}
