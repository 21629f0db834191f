/**
 * The kernel side of the `userspace` log's constructor (reference
 * userspace-and-cluster-logs.md §2.1, §2.6; dm-mirror.md §2.8): from the
 * table arguments `<uuid> [integrated_flush] <log type> <args…>` to the CTR
 * string sent to the daemon, and back to the TABLE status line.
 */
import { TableError } from '../../table/table-error.js';
import { firstRejectedChar, hexByte, isWordChar, quotePreview } from './_internals/wire.js';
import { ULOG_REQUEST_PAYLOAD_BYTES_MAX, ULOG_UUID_CHARS_MAX } from './ulog-constants.js';
import { UlogProtocolError } from './ulog-protocol-error.js';

/** The fewest arguments the log accepts: uuid, log type and one more (`userspace_ctr`). */
export const ULOG_CTR_ARGS_MIN = 3;
/** The argument that turns on integrated flush, matched case-insensitively. */
export const INTEGRATED_FLUSH_ARG = 'integrated_flush';

/** What `userspace_ctr` keeps from its table arguments. */
export interface UlogConstructor {
  /** `lc->uuid`. */
  readonly uuid: string;
  /** `lc->integrated_flush`: marks ride on FLUSH (§1.3, §2.2). */
  readonly integratedFlush: boolean;
  /** `lc->usr_argc`: the argument count as given, uuid and integrated_flush included. */
  readonly usrArgc: number;
  /** `lc->usr_argv_str`: `"<ti->len> <log type> <args…>"`, without its NUL. */
  readonly ctrString: string;
}

function checkWord(word: string, what: string): void {
  if (word.length === 0) throw new TableError(`${what} is empty: expected one table word`);
  const bad = firstRejectedChar(word, isWordChar);
  if (bad >= 0) {
    throw new TableError(
      `${what} ${quotePreview(word)} has character ${hexByte(word.charCodeAt(bad))} at ${bad}: expected printable ASCII without spaces`,
    );
  }
}

/**
 * `userspace_ctr` + `build_constructor_string`: `args` are the log's
 * arguments after `userspace <#args>`. The length in sectors comes first
 * in the CTR string. Throws TableError for too few arguments, a uuid
 * longer than 128 characters, or a CTR string (with its NUL) over the
 * 332-byte request payload limit.
 *
 * @example
 * ```ts
 * const ctr = buildUlogConstructor(['my-uuid', 'clustered-disk', '253:2', '1024'], 2048);
 * ctr.ctrString; // '2048 clustered-disk 253:2 1024'
 * ulogStatusTable(ctr); // 'userspace 4 my-uuid clustered-disk 253:2 1024 '
 * ```
 */
export function buildUlogConstructor(
  args: readonly string[],
  targetLengthSectors: number,
): UlogConstructor {
  if (!Number.isSafeInteger(targetLengthSectors) || targetLengthSectors < 0) {
    throw new RangeError(
      `Target length ${targetLengthSectors} sectors is not a non-negative safe integer`,
    );
  }
  if (args.length < ULOG_CTR_ARGS_MIN) {
    throw new TableError(
      `Too few arguments to userspace dirty log: got ${args.length}, expected at least ${ULOG_CTR_ARGS_MIN} (<uuid> [integrated_flush] <log type> <args…>)`,
    );
  }
  // An indexed loop, not forEach, so that a hole in a sparse array is checked (as empty) too.
  for (let index = 0; index < args.length; index++) {
    checkWord(args[index] ?? '', `Userspace log argument ${index + 1}`);
  }
  // Stryker disable next-line StringLiteral: equivalent — argument 1 was checked non-empty above.
  const [uuid = '', ...rest] = args;
  if (uuid.length > ULOG_UUID_CHARS_MAX) {
    throw new TableError(
      `UUID argument ${quotePreview(uuid)} is ${uuid.length} characters: expected at most ${ULOG_UUID_CHARS_MAX}`,
    );
  }
  const integratedFlush = rest[0]?.toLowerCase() === INTEGRATED_FLUSH_ARG;
  const logArgs = integratedFlush ? rest.slice(1) : rest;
  const ctrString = [String(targetLengthSectors), ...logArgs].join(' ');
  const payloadBytes = ctrString.length + 1;
  if (payloadBytes > ULOG_REQUEST_PAYLOAD_BYTES_MAX) {
    throw new TableError(
      `Userspace log constructor string ${quotePreview(ctrString)} needs ${payloadBytes} bytes with its NUL: expected at most ${ULOG_REQUEST_PAYLOAD_BYTES_MAX} (the request payload limit)`,
    );
  }
  return { uuid, integratedFlush, usrArgc: args.length, ctrString };
}

/**
 * The TABLE status, built in the kernel from the saved CTR string (§2.6):
 * `userspace <argc> <uuid> [integrated_flush ]<ctr string minus its length> `.
 */
export function ulogStatusTable(ctr: UlogConstructor): string {
  const space = ctr.ctrString.indexOf(' ');
  if (space < 0) {
    // The kernel BUG_ONs here: build_constructor_string always puts a space after the length.
    throw new RangeError(`CTR string ${quotePreview(ctr.ctrString)} has no space after its length`);
  }
  const flush = ctr.integratedFlush ? `${INTEGRATED_FLUSH_ARG} ` : '';
  return `userspace ${ctr.usrArgc} ${ctr.uuid} ${flush}${ctr.ctrString.slice(space + 1)} `;
}

/** The daemon's reading of a CTR string: the length, the log type, its arguments. */
export interface UlogCtrArgs {
  readonly targetLengthSectors: number;
  readonly logType: string;
  readonly args: readonly string[];
}

/**
 * Splits a CTR string the way cmirrord's `clog_ctr` does: on single
 * spaces, the first word the device length in sectors (decimal), the next
 * the log type. Throws {@link UlogProtocolError} (-EINVAL) otherwise.
 */
export function parseUlogCtrString(ctrString: string): UlogCtrArgs {
  const words = ctrString.split(' ');
  // Stryker disable next-line StringLiteral: equivalent — split always yields a first element.
  const [lengthWord = '', logType, ...args] = words;
  if (!/^\d+$/.test(lengthWord) || !Number.isSafeInteger(Number(lengthWord))) {
    throw new UlogProtocolError(
      `CTR string ${quotePreview(ctrString)} starts with ${quotePreview(lengthWord)}: expected the device length in sectors`,
    );
  }
  if (logType === undefined || logType.length === 0) {
    throw new UlogProtocolError(
      `CTR string ${quotePreview(ctrString)} has no log type: expected "<length> <log type> <args…>"`,
    );
  }
  const empty = args.findIndex((arg) => arg.length === 0);
  if (empty >= 0) {
    throw new UlogProtocolError(
      `CTR string ${quotePreview(ctrString)} has an empty argument ${empty + 1}: expected words separated by single spaces`,
    );
  }
  return { targetLengthSectors: Number(lengthWord), logType, args };
}
