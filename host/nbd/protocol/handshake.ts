/**
 * The fixed-newstyle handshake of one connection as a pure state machine
 * (reference nbd.md §2): it never touches a socket or a clock. The caller
 * sends {@link NbdHandshake.greeting}, pushes what the client sends into a
 * {@link ByteQueue}, and calls {@link NbdHandshake.receive}, which consumes
 * whole frames only and returns what to do: bytes to send, then possibly
 * the start of transmission or the end of the connection. Bytes after the
 * frame that ends the handshake stay in the queue for the request parser.
 *
 * Options served: EXPORT_NAME, ABORT, LIST, STARTTLS (refused: NOTLS mode),
 * INFO and GO (with INFO_EXPORT always, BLOCK_SIZE always, NAME and
 * DESCRIPTION on request), STRUCTURED_REPLY, and LIST/SET_META_CONTEXT with
 * `base:allocation`. Anything else, EXTENDED_HEADERS included, gets
 * `ERR_UNSUP` after its data is consumed (pitfall §5.2). Lengths are
 * checked against their enclosing length as nbdkit does (§2.3, §5.7);
 * an option longer than {@link OPTION_DATA_BYTES_MAX}, too many options,
 * bad client flags or a bad option magic end the connection: nothing a
 * client sends can do more than that.
 */
import { assert } from '../../../src/assert.js';
import {
  decodeProtocolString,
  readUint16,
  readUint32,
  utf8,
  writeUint16,
  writeUint32,
  writeUint64,
} from './_internals/wire.js';
import type { ByteQueue } from './byte-queue.js';
import { type NbdExportProfile, selectsExport, transmissionFlags } from './export-profile.js';
import {
  BASE_ALLOCATION,
  BASE_ALLOCATION_CONTEXT_ID,
  BLOCK_SIZE_MINIMUM,
  BLOCK_SIZE_PREFERRED,
  EXPORT_NAME_PADDING_BYTES,
  GREETING_BYTES,
  HANDSHAKE_FLAGS,
  IHAVEOPT_HIGH,
  IHAVEOPT_LOW,
  META_QUERIES_MAX,
  NBD_FLAG_C_NO_ZEROES,
  NBD_INFO_BLOCK_SIZE,
  NBD_INFO_DESCRIPTION,
  NBD_INFO_EXPORT,
  NBD_INFO_NAME,
  NBD_MAX_STRING,
  NBD_OPT_ABORT,
  NBD_OPT_EXPORT_NAME,
  NBD_OPT_GO,
  NBD_OPT_INFO,
  NBD_OPT_LIST,
  NBD_OPT_LIST_META_CONTEXT,
  NBD_OPT_SET_META_CONTEXT,
  NBD_OPT_STARTTLS,
  NBD_OPT_STRUCTURED_REPLY,
  NBD_REP_ACK,
  NBD_REP_ERR_INVALID,
  NBD_REP_ERR_TOO_BIG,
  NBD_REP_ERR_UNKNOWN,
  NBD_REP_ERR_UNSUP,
  NBD_REP_INFO,
  NBD_REP_META_CONTEXT,
  NBD_REP_SERVER,
  NBDMAGIC_HIGH,
  NBDMAGIC_LOW,
  OPTION_DATA_BYTES_MAX,
  OPTION_HEADER_BYTES,
  OPTIONS_PER_CONNECTION_MAX,
  optionName,
  PAYLOAD_BYTES_MAX,
} from './nbd-constants.js';
import { encodeOptionReply } from './option-reply.js';

/** What a connection agreed on, for the transmission phase. */
export interface NbdSession {
  readonly structuredReplies: boolean;
  /** `base:allocation` was selected with SET_META_CONTEXT (BLOCK_STATUS is allowed). */
  readonly baseAllocation: boolean;
  readonly transmissionFlags: number;
  /** How the client entered transmission. */
  readonly enteredBy: 'GO' | 'EXPORT_NAME';
}

/** One thing the caller must do, in order. */
export type HandshakeAction =
  | { readonly kind: 'send'; readonly bytes: Uint8Array }
  | { readonly kind: 'transmission'; readonly session: NbdSession }
  | { readonly kind: 'close'; readonly reason: string };

type State = 'client-flags' | 'options' | 'finished';

/** One connection's handshake (see the file comment). */
export class NbdHandshake {
  private state: State = 'client-flags';
  private noZeroes = false;
  private structuredReplies = false;
  private baseAllocation = false;
  private optionCount = 0;
  private actions: HandshakeAction[] = [];

  constructor(private readonly profile: NbdExportProfile) {}

  /** The 18-byte greeting the server sends first (§2.1). */
  greeting(): Uint8Array {
    const bytes = new Uint8Array(GREETING_BYTES);
    writeUint32(bytes, 0, NBDMAGIC_HIGH);
    writeUint32(bytes, 4, NBDMAGIC_LOW);
    writeUint32(bytes, 8, IHAVEOPT_HIGH);
    writeUint32(bytes, 12, IHAVEOPT_LOW);
    writeUint16(bytes, 16, HANDSHAKE_FLAGS);
    return bytes;
  }

  /** True once the handshake ended (transmission began or the connection is to close). */
  get finished(): boolean {
    return this.state === 'finished';
  }

  /** Options received so far. */
  get options(): number {
    return this.optionCount;
  }

  /**
   * Consumes every whole frame in `input` and returns the actions they
   * cause. After a `transmission` or `close` action nothing more is read.
   */
  receive(input: ByteQueue): HandshakeAction[] {
    this.actions = [];
    while (this.state !== 'finished') {
      if (this.state === 'client-flags') {
        if (input.length < 4) break;
        this.clientFlags(input.peekUint32(0));
        input.skip(4);
        continue;
      }
      if (input.length < OPTION_HEADER_BYTES) break;
      if (input.peekUint32(0) !== IHAVEOPT_HIGH || input.peekUint32(4) !== IHAVEOPT_LOW) {
        this.close('option request without the IHAVEOPT magic');
        break;
      }
      const code = input.peekUint32(8);
      const length = input.peekUint32(12);
      if (length > OPTION_DATA_BYTES_MAX) {
        this.close(
          `option ${optionName(code)} carries ${length} bytes: expected at most ${OPTION_DATA_BYTES_MAX}`,
        );
        break;
      }
      if (input.length < OPTION_HEADER_BYTES + length) break;
      input.skip(OPTION_HEADER_BYTES);
      const data = input.take(length);
      this.optionCount++;
      if (this.optionCount > OPTIONS_PER_CONNECTION_MAX) {
        this.close(`more than ${OPTIONS_PER_CONNECTION_MAX} options on one connection`);
        break;
      }
      this.option(code, data);
    }
    return this.actions;
  }

  /** §2.1: an unknown flag, or one the server did not advertise, drops the connection. */
  private clientFlags(flags: number): void {
    if ((flags & ~HANDSHAKE_FLAGS) !== 0) {
      this.close(
        `client flags 0x${flags.toString(16)} include bits the server did not advertise (0x${HANDSHAKE_FLAGS.toString(16)})`,
      );
      return;
    }
    this.noZeroes = (flags & NBD_FLAG_C_NO_ZEROES) !== 0;
    this.state = 'options';
  }

  private option(code: number, data: Uint8Array): void {
    switch (code) {
      case NBD_OPT_EXPORT_NAME:
        this.exportName(data);
        return;
      case NBD_OPT_ABORT:
        // §2.3: ACK (data ignored), then close; the client may already be gone.
        this.reply(code, NBD_REP_ACK);
        this.close('the client sent ABORT');
        return;
      case NBD_OPT_LIST:
        if (data.length !== 0) {
          this.error(code, NBD_REP_ERR_INVALID, 'LIST takes no data');
          return;
        }
        this.list();
        return;
      case NBD_OPT_STARTTLS:
        if (data.length !== 0) {
          this.error(code, NBD_REP_ERR_INVALID, 'STARTTLS takes no data');
          return;
        }
        // §2.8: NOTLS mode; never ERR_TLS_REQD.
        this.error(code, NBD_REP_ERR_UNSUP, 'TLS is not supported (NOTLS mode)');
        return;
      case NBD_OPT_INFO:
      case NBD_OPT_GO:
        this.infoOrGo(code, data);
        return;
      case NBD_OPT_STRUCTURED_REPLY:
        if (data.length !== 0) {
          this.error(code, NBD_REP_ERR_INVALID, 'STRUCTURED_REPLY takes no data');
          return;
        }
        // A repeated request is acknowledged again, as nbdkit does.
        this.structuredReplies = true;
        this.reply(code, NBD_REP_ACK);
        return;
      case NBD_OPT_LIST_META_CONTEXT:
      case NBD_OPT_SET_META_CONTEXT:
        this.metaContext(code, data);
        return;
      default:
        this.error(code, NBD_REP_ERR_UNSUP, `option ${optionName(code)} is not supported`);
    }
  }

  /** §2.3 EXPORT_NAME: no reply header; the server can only disconnect on failure. */
  private exportName(data: Uint8Array): void {
    const name = data.length <= NBD_MAX_STRING ? decodeProtocolString(data) : null;
    if (name === null || !selectsExport(this.profile, name)) {
      this.close('EXPORT_NAME names no export this server has');
      return;
    }
    const flags = transmissionFlags(this.profile, this.structuredReplies);
    const bytes = new Uint8Array(10 + (this.noZeroes ? 0 : EXPORT_NAME_PADDING_BYTES));
    writeUint64(bytes, 0, this.profile.sizeBytes);
    writeUint16(bytes, 8, flags);
    this.send(bytes);
    this.enter('EXPORT_NAME', flags);
  }

  private list(): void {
    const name = utf8(this.profile.name);
    const description = utf8(this.profile.description);
    const payload = new Uint8Array(4 + name.length + description.length);
    writeUint32(payload, 0, name.length);
    payload.set(name, 4);
    payload.set(description, 4 + name.length);
    this.reply(NBD_OPT_LIST, NBD_REP_SERVER, payload);
    this.reply(NBD_OPT_LIST, NBD_REP_ACK);
  }

  /** §2.3 INFO and GO, validated as nbdkit validates them. */
  private infoOrGo(code: number, data: Uint8Array): void {
    if (data.length < 6) {
      this.error(code, NBD_REP_ERR_INVALID, 'option data shorter than 6 bytes');
      return;
    }
    const nameLength = readUint32(data, 0);
    if (nameLength > data.length - 6) {
      this.error(code, NBD_REP_ERR_INVALID, 'export name longer than the option data');
      return;
    }
    const requestCount = readUint16(data, 4 + nameLength);
    if (data.length !== 6 + nameLength + 2 * requestCount) {
      this.error(
        code,
        NBD_REP_ERR_INVALID,
        'number of information requests does not match the option length',
      );
      return;
    }
    if (nameLength > NBD_MAX_STRING) {
      this.error(code, NBD_REP_ERR_TOO_BIG, `export name longer than ${NBD_MAX_STRING} bytes`);
      return;
    }
    const name = decodeProtocolString(data.subarray(4, 4 + nameLength));
    if (name === null) {
      this.error(code, NBD_REP_ERR_INVALID, 'export name is not UTF-8 without NUL');
      return;
    }
    if (!selectsExport(this.profile, name)) {
      this.error(code, NBD_REP_ERR_UNKNOWN, `no export named "${name}"`);
      return;
    }
    const requested = new Set<number>();
    for (let index = 0; index < requestCount; index++) {
      requested.add(readUint16(data, 6 + nameLength + 2 * index));
    }
    const flags = transmissionFlags(this.profile, this.structuredReplies);
    // §2.3: INFO_EXPORT even when not asked for (qemu needs it); unknown requests are ignored.
    const exportInfo = new Uint8Array(12);
    writeUint16(exportInfo, 0, NBD_INFO_EXPORT);
    writeUint64(exportInfo, 2, this.profile.sizeBytes);
    writeUint16(exportInfo, 10, flags);
    this.reply(code, NBD_REP_INFO, exportInfo);
    if (requested.has(NBD_INFO_NAME))
      this.reply(code, NBD_REP_INFO, textInfo(NBD_INFO_NAME, this.profile.name));
    if (requested.has(NBD_INFO_DESCRIPTION)) {
      this.reply(code, NBD_REP_INFO, textInfo(NBD_INFO_DESCRIPTION, this.profile.description));
    }
    // Sent whether asked or not, so every client sees the sector minimum (§2.7, §3.8).
    const blockSize = new Uint8Array(14);
    writeUint16(blockSize, 0, NBD_INFO_BLOCK_SIZE);
    writeUint32(blockSize, 2, BLOCK_SIZE_MINIMUM);
    writeUint32(blockSize, 6, BLOCK_SIZE_PREFERRED);
    writeUint32(blockSize, 10, PAYLOAD_BYTES_MAX);
    this.reply(code, NBD_REP_INFO, blockSize);
    this.reply(code, NBD_REP_ACK);
    if (code === NBD_OPT_GO) this.enter('GO', flags);
  }

  /** §2.3 LIST_META_CONTEXT and SET_META_CONTEXT, with the checks of pitfall §5.5. */
  private metaContext(code: number, data: Uint8Array): void {
    const set = code === NBD_OPT_SET_META_CONTEXT;
    if (!this.structuredReplies) {
      this.error(code, NBD_REP_ERR_INVALID, 'meta contexts need structured replies first');
      return;
    }
    const parsed = parseMetaQueries(data);
    if (typeof parsed === 'string') {
      this.error(code, NBD_REP_ERR_INVALID, parsed);
      return;
    }
    if (parsed.tooBig) {
      this.error(
        code,
        NBD_REP_ERR_TOO_BIG,
        `more than ${META_QUERIES_MAX} queries, or a query longer than ${NBD_MAX_STRING} bytes`,
      );
      return;
    }
    if (!selectsExport(this.profile, parsed.exportName)) {
      this.error(code, NBD_REP_ERR_UNKNOWN, `no export named "${parsed.exportName}"`);
      return;
    }
    const matches = set
      ? parsed.queries.includes(BASE_ALLOCATION)
      : parsed.queries.length === 0 ||
        parsed.queries.some((query) => query === BASE_ALLOCATION || query === 'base:');
    if (matches) {
      const name = utf8(BASE_ALLOCATION);
      const payload = new Uint8Array(4 + name.length);
      // §2.3: LIST answers with ID 0; SET assigns the ID BLOCK_STATUS chunks will carry.
      writeUint32(payload, 0, set ? BASE_ALLOCATION_CONTEXT_ID : 0);
      payload.set(name, 4);
      this.reply(code, NBD_REP_META_CONTEXT, payload);
    }
    // SET replaces the earlier selection, and zero queries select nothing.
    if (set) this.baseAllocation = matches;
    this.reply(code, NBD_REP_ACK);
  }

  private enter(enteredBy: NbdSession['enteredBy'], flags: number): void {
    this.actions.push({
      kind: 'transmission',
      session: {
        structuredReplies: this.structuredReplies,
        baseAllocation: this.structuredReplies && this.baseAllocation,
        transmissionFlags: flags,
        enteredBy,
      },
    });
    this.state = 'finished';
  }

  private close(reason: string): void {
    this.actions.push({ kind: 'close', reason });
    this.state = 'finished';
  }

  private send(bytes: Uint8Array): void {
    this.actions.push({ kind: 'send', bytes });
  }

  private reply(code: number, type: number, payload?: Uint8Array): void {
    this.send(encodeOptionReply(code, type, payload));
  }

  private error(code: number, type: number, message: string): void {
    assert(type >= 0x80000000, `option error type 0x${type.toString(16)} lacks bit 31`);
    this.reply(code, type, utf8(message));
  }
}

function textInfo(type: number, text: string): Uint8Array {
  const bytes = utf8(text);
  const payload = new Uint8Array(2 + bytes.length);
  writeUint16(payload, 0, type);
  payload.set(bytes, 2);
  return payload;
}

interface MetaQueries {
  readonly exportName: string;
  readonly queries: string[];
  readonly tooBig: boolean;
}

/**
 * The data of LIST/SET_META_CONTEXT: u32 name length, name, u32 query
 * count, then each query as u32 length and string. Every inner length is
 * checked against the option length and the data must end exactly after
 * the last query. Returns the reason when it is malformed.
 */
function parseMetaQueries(data: Uint8Array): MetaQueries | string {
  if (data.length < 8) return 'meta context data shorter than 8 bytes';
  const nameLength = readUint32(data, 0);
  if (nameLength > data.length - 8) return 'export name longer than the option data';
  const exportName = decodeProtocolString(data.subarray(4, 4 + nameLength));
  if (exportName === null) return 'export name is not UTF-8 without NUL';
  let position = 4 + nameLength;
  const count = readUint32(data, position);
  position += 4;
  if (count > META_QUERIES_MAX || nameLength > NBD_MAX_STRING) {
    return { exportName, queries: [], tooBig: true };
  }
  const queries: string[] = [];
  for (let index = 0; index < count; index++) {
    if (position + 4 > data.length) return `query ${index} has no length field`;
    const length = readUint32(data, position);
    position += 4;
    if (length > data.length - position) return `query ${index} is longer than the option data`;
    if (length > NBD_MAX_STRING) return { exportName, queries: [], tooBig: true };
    const query = decodeProtocolString(data.subarray(position, position + length));
    if (query === null) return `query ${index} is not UTF-8 without NUL`;
    queries.push(query);
    position += length;
  }
  if (position !== data.length) return `${data.length - position} bytes after the last query`;
  return { exportName, queries, tooBig: false };
}
