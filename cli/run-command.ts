/**
 * `mirrorsim run`: one scenario — build the stack, run a workload,
 * optionally crash, reboot, recover, verify — printed for a person or as one
 * JSON object (`--json`). Exit 0 when verification passed, 1 when an
 * invariant was violated, 2 for bad usage or input.
 */
import { join } from 'node:path';
import { type Command, Option } from 'commander';
import { LogDaemonUnreachableError, UlogSocketChannel } from '../host/ulog-socket-channel.js';
import { CrashPointError, type RunResult, runScenario } from '../sim/scenario/run-scenario.js';
import { CRASH_STRATEGIES } from '../src/block/crash-state.js';
import type { DeviceLatency } from '../src/block/latency.js';
import { dirtyLogTypeNames } from '../src/log/registry.js';
import type { UlogChannel } from '../src/log/userspace/ulog-channel.js';
import { type CliIo, EXIT_OK, EXIT_VIOLATION, UsageError } from './cli-io.js';
import { dumpImages } from './dump-images.js';
import { prepareOutputDirectory } from './output-file.js';
import { parseCount } from './parse-size.js';
import {
  parseRunFlags,
  type RunFlags,
  type RunScenarioInput,
  replayRunLine,
} from './run-options.js';
import { endProgress, runProgressReporter } from './run-progress.js';
import { formatRunReport, runJson } from './run-report.js';
import { checkSocketPath } from './socket-path.js';

/** Device latencies `run` uses: a fast SSD-like leg and log device, in ticks (µs). */
export const RUN_LEG_LATENCY: Partial<DeviceLatency> = {
  read: { kind: 'exponential', minimumTicks: 50, meanTicks: 100 },
  write: { kind: 'exponential', minimumTicks: 50, meanTicks: 150 },
  flush: { kind: 'fixed', ticks: 500 },
};
export const RUN_LOG_LATENCY: Partial<DeviceLatency> = {
  read: { kind: 'fixed', ticks: 80 },
  write: { kind: 'exponential', minimumTicks: 50, meanTicks: 100 },
  flush: { kind: 'fixed', ticks: 300 },
};

export function registerRunCommand(
  program: Command,
  io: CliIo,
  setExitCode: (code: number) => void,
): void {
  program
    .command('run')
    .description('build a mirror, run a workload, crash, reboot, recover and verify')
    .option(
      '--table <line>',
      'the dm table line, e.g. "0 131072 mirror disk 2 log0 1024 2 leg0 0 leg1 0"',
    )
    .option(
      '--log <type>',
      `log type when no --table is given (${dirtyLogTypeNames().join(', ')})`,
      'disk',
    )
    .option('--legs <n>', 'legs when no --table is given (2 to 9)', '2')
    .option('--region-size <sectors>', 'region size in sectors when no --table is given', '1024')
    .option(
      '--size <size>',
      'mirror size when no --table is given (512, 4KiB, 64MiB, 1GiB, 16TiB)',
      '64MiB',
    )
    .option(
      '--workload <w>',
      'randwrite, seqwrite, zipf, zipf:THETA, mixed, or fio:FILE',
      'randwrite',
    )
    .option('--ops <n>', 'requests issued', '10000')
    .option('--depth <n>', 'requests in flight', '16')
    .option('--block-size <size>', 'request size', '4KiB')
    .option('--seed <n>', 'the one seed everything derives from', '1')
    .option(
      '--crash <when>',
      'never, random, or at:EVENT (after that many simulation events)',
      'random',
    )
    .addOption(
      new Option('--crash-state <s>', 'what each device keeps of its not-yet-durable writes')
        .choices([...CRASH_STRATEGIES])
        .default('random'),
    )
    .option('--fsync <n>', 'issue a flush after every N writes (0: never)', '64')
    .option(
      '--no-write-cache',
      'devices without a volatile write cache (every completed write is durable)',
    )
    .option('--json', 'print one JSON object instead of the summary')
    .option('--dump <dir>', 'write device images to DIR/crash/NAME.img and DIR/recovered/NAME.img')
    .option(
      '--log-daemon <path>',
      'userspace logs talk to the real log daemon on this socket (mirrorsim log-daemon) instead of the in-process one',
    )
    .option(
      '--log-daemon-timeout <seconds>',
      'give up when the log daemon has not answered for this long (the kernel would retry forever)',
      String(LOG_DAEMON_TIMEOUT_SECONDS),
    )
    .option('--progress', 'show progress on stderr even when it is not a terminal')
    .option(
      '--faithful-resync',
      'copy every region on resync, as Linux does, even where every leg is unwritten (slow for big mirrors)',
    )
    .action(async (flags: RunFlags, command: Command) => {
      const input = parseRunFlags(flags, command);
      const giveUpMs = parseCount(flags.logDaemonTimeout, '--log-daemon-timeout', {
        minimum: 1,
        maximum: LOG_DAEMON_TIMEOUT_SECONDS_MAX,
      });
      const channel =
        flags.logDaemon === undefined
          ? undefined
          : new UlogSocketChannel({
              socketPath: checkSocketPath(flags.logDaemon, '--log-daemon'),
              giveUpAfterMs: giveUpMs * 1000,
            });
      let result: RunResult;
      try {
        result = executeRun({ flags, input, io, channel });
      } catch (error) {
        throw explainRunError(error);
      } finally {
        endProgress(io);
        await channel?.close();
      }
      setExitCode(result.oracle === 'ok' ? EXIT_OK : EXIT_VIOLATION);
    });
}

/** Default of `--log-daemon-timeout`: longer than a daemon takes to restart. */
export const LOG_DAEMON_TIMEOUT_SECONDS = 30;
const LOG_DAEMON_TIMEOUT_SECONDS_MAX = 86_400;

interface RunContext {
  readonly flags: RunFlags;
  readonly input: RunScenarioInput;
  readonly io: CliIo;
  readonly channel: UlogChannel | undefined;
}

function executeRun(context: RunContext): RunResult {
  const { flags, input, io, channel } = context;
  const dump = flags.dump;
  // Created now, so a dump that cannot be written fails before the run, not after it.
  if (dump !== undefined) {
    for (const phase of ['crash', 'recovered']) prepareOutputDirectory(join(dump, phase), '--dump');
  }
  let regionSizeSectors = input.regionSizeSectors;
  const result = runScenario({
    ...input,
    legLatency: RUN_LEG_LATENCY,
    logLatency: RUN_LOG_LATENCY,
    ...(channel === undefined ? {} : { userspaceChannel: channel }),
    ...(dump === undefined
      ? {}
      : {
          onCrashImages: (devices) => dumpImages(join(dump, 'crash'), devices),
          onRecoveredImages: (devices) => dumpImages(join(dump, 'recovered'), devices),
        }),
    onWorkloadStart: (stack) => {
      regionSizeSectors = stack.mirror.rh.regionSizeSectors;
    },
    onProgress: runProgressReporter({
      io,
      asked: flags.progress === true,
      regionSizeSectors: () => regionSizeSectors,
    }),
  });
  endProgress(io);
  const replay = replayRunLine(result, input, flags);
  if (flags.json === true) io.stdout(`${JSON.stringify(runJson(result, replay), null, 2)}\n`);
  else io.stdout(formatRunReport(result, flags, replay));
  return result;
}

/** A run's own errors that are the user's input, as one line naming the option. */
function explainRunError(error: unknown): unknown {
  if (error instanceof CrashPointError) {
    return new UsageError(`Invalid --crash: ${error.message}`);
  }
  if (error instanceof LogDaemonUnreachableError) return new UsageError(error.message);
  return error;
}
