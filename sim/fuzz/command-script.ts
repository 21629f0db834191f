/**
 * Crash-consistency commands written as text, exactly as a run prints them
 * once resolved (`write(sector=40, 8, fua)`, `crash(now; leg0:torn,
 * leg1:none, log0:prefix)`, `failLeg(leg1 [default])`, …), so a shrunk
 * counterexample pasted from a report runs again as it is: the regression
 * tests are such lists. Whatever follows a command (` → EIO`,
 * ` (pending)`, ` [skipped: …]`) is ignored.
 */
import { type CrashStrategy, isCrashStrategy } from '../../src/block/crash-state.js';
import {
  CrashCommand,
  DaemonCrashCommand,
  FailLegCommand,
  FailLogCommand,
  LegFlushErrorCommand,
  LegReadErrorCommand,
  LegWriteErrorCommand,
  LogWriteErrorCommand,
  RecoverCommand,
  ReloadCommand,
  RestoreLegCommand,
  SuspendResumeCommand,
  UlogMessageCommand,
} from './fault-commands.js';
import type { CrashPoint } from './fuzz-system.js';
import {
  AdvanceCommand,
  BatchCommand,
  type BatchOp,
  DiscardCommand,
  FlushCommand,
  type FuzzCommand,
  ReadCommand,
  ReadTwiceCommand,
  WriteCommand,
} from './io-commands.js';
import type { RequestKind } from './user-requests.js';

/** Fault commands from a script always run (the budget still decides at run time). */
const FORCED = -1;

/** Parses one command line; throws SyntaxError naming the line when it is not one. */
export function parseCommand(line: string): FuzzCommand {
  const text = line.trim();
  const match = /^([A-Za-z]+)\((.*)$/.exec(text);
  if (match === null) throw syntax(text, 'expected name(arguments)');
  const name = match[1]!;
  const args = innerArguments(match[2]!, text);
  const parser = PARSERS[name];
  if (parser === undefined) throw syntax(text, `unknown command "${name}"`);
  return parser(args, text);
}

/** Parses a list of command lines. */
export function parseCommands(lines: readonly string[]): FuzzCommand[] {
  return lines.map((line) => parseCommand(line));
}

type Parser = (args: string, line: string) => FuzzCommand;

const PARSERS: Record<string, Parser> = {
  write: (args, line) => {
    const { sector, count, flags } = rangeArgs(args, line);
    return new WriteCommand(sector, count - 1, flags.has('fua'), !flags.has('nowait'));
  },
  read: (args, line) => {
    const { sector, count } = rangeArgs(args, line);
    return new ReadCommand(sector, count - 1);
  },
  readTwice: (args, line) => {
    const { sector, count } = rangeArgs(args, line);
    return new ReadTwiceCommand(sector, count - 1);
  },
  discard: (args, line) => {
    const { sector, count, flags } = rangeArgs(args, line);
    return new DiscardCommand(sector, count - 1, !flags.has('nowait'));
  },
  flush: (args) => new FlushCommand(args.trim() !== 'nowait'),
  batch: (args, line) => new BatchCommand(splitTopLevel(args).map((op) => batchOp(op, line))),
  advance: (args, line) => new AdvanceCommand(integer(/^(\d+) events?$/.exec(args.trim()), line)),
  crash: (args, line) => crashCommand(args, line),
  recover: () => new RecoverCommand(),
  legWriteError: (args, line) => {
    const [leg, request] = legAndRequest(args, line);
    const { sector, count } = rangeArgs(request, line);
    return new LegWriteErrorCommand(FORCED, leg, sector, count - 1);
  },
  legReadError: (args, line) => {
    const [leg, request] = legAndRequest(args, line);
    const { sector, count } = rangeArgs(request, line);
    return new LegReadErrorCommand(FORCED, leg, sector, count - 1);
  },
  failLeg: (args, line) => new FailLegCommand(FORCED, legName(args, line)),
  restoreLeg: (args, line) => new RestoreLegCommand(FORCED, legName(args, line)),
  legFlushError: (args, line) => new LegFlushErrorCommand(FORCED, legName(args, line)),
  logWriteError: () => new LogWriteErrorCommand(FORCED),
  failLog: () => new FailLogCommand(FORCED, false),
  restoreLog: () => new FailLogCommand(FORCED, true),
  suspendResume: (args) => new SuspendResumeCommand(args.trim() === 'noflush'),
  reload: (args) => new ReloadCommand(args.trim() === 'noflush'),
  daemonCrash: (args, line) =>
    new DaemonCrashCommand(FORCED, integer(/^restart in (\d+) ticks$/.exec(args.trim()), line)),
  ulogLoss: (args, line) => {
    const what = args.trim();
    if (what !== 'request' && what !== 'reply') throw syntax(line, 'expected request or reply');
    return new UlogMessageCommand(FORCED, what);
  },
  ulogLateReply: () => new UlogMessageCommand(FORCED, 'late'),
};

/** The text between the command's parentheses (nested ones kept), the rest of the line dropped. */
function innerArguments(afterOpen: string, line: string): string {
  let depth = 1;
  for (let index = 0; index < afterOpen.length; index++) {
    const char = afterOpen[index];
    if (char === '(') depth++;
    if (char === ')') depth--;
    if (depth === 0) return afterOpen.slice(0, index);
  }
  throw syntax(line, 'unbalanced parentheses');
}

/** `sector=40, 8, fua, nowait` (any order of flags). */
function rangeArgs(
  args: string,
  line: string,
): { sector: number; count: number; flags: Set<string> } {
  const parts = args.split(',').map((part) => part.trim());
  const sector = integer(/^sector=(\d+)$/.exec(parts[0] ?? ''), line);
  const count = integer(/^(\d+)$/.exec(parts[1] ?? ''), line);
  if (count < 1) throw syntax(line, 'a range needs at least one sector');
  return { sector, count, flags: new Set(parts.slice(2)) };
}

/** A batch part: `write 0+8 fua`, `read 16+4`, `flush`, `discard 0+9`, with any suffix. */
function batchOp(text: string, line: string): BatchOp {
  const match = /^(write|read|discard|flush)(?: (\d+)\+(\d+))?( fua)?/.exec(text.trim());
  if (match === null) throw syntax(line, `cannot read batch request "${text}"`);
  const kind = match[1] as RequestKind;
  if (kind === 'flush') return { kind, at: 0, length: 0, fua: false };
  const sector = integer(match[2] === undefined ? null : [match[2], match[2]], line);
  const count = integer(match[3] === undefined ? null : [match[3], match[3]], line);
  return { kind, at: sector, length: count - 1, fua: match[4] !== undefined };
}

function crashCommand(args: string, line: string): CrashCommand {
  const [pointText, statesText] = args.split(';').map((part) => part.trim());
  let point: CrashPoint;
  if (pointText === 'now') point = { kind: 'now' };
  else if (/^after \d+ events$/.test(pointText ?? '')) {
    point = { kind: 'events', events: integer(/(\d+)/.exec(pointText!), line) };
  } else if (/^at persistence point \d+$/.test(pointText ?? '')) {
    point = { kind: 'persistence', count: integer(/(\d+)/.exec(pointText!), line) };
  } else throw syntax(line, `cannot read crash point "${pointText}"`);
  const choices: (number | CrashStrategy)[] = ['none', 'none', 'none', 'none'];
  for (const state of (statesText ?? '').split(',').map((part) => part.trim())) {
    if (state === '' || state === 'not crashed') continue;
    const [device, strategy] = state.split(':');
    const index = device === 'log0' ? 3 : Number(/^leg(\d)$/.exec(device ?? '')?.[1] ?? Number.NaN);
    if (!Number.isInteger(index) || strategy === undefined || !isCrashStrategy(strategy)) {
      throw syntax(line, `cannot read crash state "${state}"`);
    }
    choices[index] = strategy;
  }
  return new CrashCommand(point, choices);
}

/** `leg1 [other], write(sector=0, 9)` → the leg and the request's arguments. */
function legAndRequest(args: string, line: string): [string, string] {
  const match = /^(leg\d)(?: \[[a-z]+\])?, (?:write|read)\((.*)\)$/.exec(args.trim());
  if (match === null) throw syntax(line, 'expected legN, write(…) or read(…)');
  return [match[1]!, match[2]!];
}

/** `leg1` or `leg1 [default]`. */
function legName(args: string, line: string): string {
  const match = /^(leg\d)(?: \[[a-z]+\])?$/.exec(args.trim());
  if (match === null) throw syntax(line, 'expected a leg name such as leg1');
  return match[1]!;
}

/** Splits on commas outside parentheses. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (char === '(') depth++;
    else if (char === ')') depth--;
    else if (char === ',' && depth === 0) {
      parts.push(text.slice(start, index));
      start = index + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((part) => part.trim()).filter((part) => part !== '');
}

function integer(match: readonly string[] | null, line: string): number {
  const value = Number(match?.[1]);
  if (match === null || !Number.isSafeInteger(value)) throw syntax(line, 'expected a whole number');
  return value;
}

function syntax(line: string, expected: string): SyntaxError {
  return new SyntaxError(`Cannot read command "${line}": ${expected}`);
}
