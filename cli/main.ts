/**
 * The `mirrorsim` command line: a thin shell that parses arguments, runs a
 * scenario from `sim/`, and prints. Exit codes: 0 success, 1 an invariant
 * was violated, 2 bad usage or bad input (one line on stderr, no stack).
 */
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import '../src/log/builtin-logs.js';
import { registerBenchCommand } from './bench-command.js';
import { type CliIo, EXIT_OK, EXIT_USAGE, processIo, UsageError } from './cli-io.js';
import { registerCtlCommand } from './ctl-command.js';
import { registerFuzzCommand } from './fuzz-command.js';
import { registerLogDaemonCommand } from './log-daemon-command.js';
import { oneLine } from './quote-value.js';
import { registerReplayCommand } from './replay-command.js';
import { registerRunCommand } from './run-command.js';
import { registerServeCommand } from './serve-command.js';

/** Runs the CLI with `argv` (without `node` and the script) and returns the exit code. */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let exitCode = EXIT_OK;
  const program = new Command('mirrorsim')
    .description(
      'A deterministic simulator of Linux device-mapper mirrors (dm-raid1) and their dirty logs.',
    )
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout(text),
      writeErr: (text) => io.stderr(text),
      outputError: () => {},
    })
    .showSuggestionAfterError(true);
  registerRunCommand(program, io, (code) => {
    exitCode = code;
  });
  registerLogDaemonCommand(program, io, (code) => {
    exitCode = code;
  });
  registerBenchCommand(program, io, (code) => {
    exitCode = code;
  });
  registerFuzzCommand(program, io, (code) => {
    exitCode = code;
  });
  registerReplayCommand(program, io, (code) => {
    exitCode = code;
  });
  registerServeCommand(program, io, (code) => {
    exitCode = code;
  });
  registerCtlCommand(program, io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    exitCode = reportError(error, io);
  }
  return exitCode;
}

/**
 * Bad usage and bad input end here: one line on stderr (newlines and
 * control characters in it escaped, values cut, see {@link oneLine}) and
 * exit 2. Anything else is a bug, and keeps its stack trace.
 */
function reportError(error: unknown, io: CliIo): number {
  if (error instanceof CommanderError) {
    // Help and version end through here too, with exit code 0.
    if (error.exitCode === 0) return EXIT_OK;
    io.stderr(`mirrorsim: ${oneLine(error.message.replace(/^error: /, ''))}\n`);
    return EXIT_USAGE;
  }
  if (error instanceof UsageError || error instanceof RangeError || error instanceof SyntaxError) {
    io.stderr(`mirrorsim: ${oneLine(error.message)}\n`);
    return EXIT_USAGE;
  }
  throw error;
}

const entryPath = process.argv[1];
if (entryPath !== undefined && import.meta.url === pathToFileURL(entryPath).href) {
  process.exitCode = await runCli(process.argv.slice(2));
}
