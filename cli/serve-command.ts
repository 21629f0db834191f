/**
 * `mirrorsim serve`: exports a simulated mirror over NBD, so fio, qemu-img,
 * qemu-io, nbdcopy and nbdinfo can drive it (see host/nbd/). It runs until
 * SIGINT or SIGTERM, then closes its sockets (and the `--record` file) and
 * exits 0, or 1 when the oracle found a violation while it ran (a read or
 * a power cut that broke what the mirror promises).
 */
import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { CACHE_WRITES_MAX_DEFAULT } from '../host/nbd/drive-write-back.js';
import type { NbdListenAddress } from '../host/nbd/nbd-server.js';
import { ServeService } from '../host/nbd/serve-service.js';
import { CLOCK_KINDS, type ClockKind } from '../host/nbd/simulation-clock.js';
import { parseSeed } from '../sim/random.js';
import { buildTable } from '../sim/scenario/run-scenario.js';
import { CRASH_STRATEGIES, type CrashStrategy } from '../src/block/crash-state.js';
import { dirtyLogTypeNames } from '../src/log/registry.js';
import { type CliIo, EXIT_OK, EXIT_VIOLATION, UsageError } from './cli-io.js';
import { parseCount, parseSizeSectors } from './parse-size.js';
import { RUN_LEG_LATENCY, RUN_LOG_LATENCY } from './run-command.js';

interface ServeFlags {
  table?: string;
  log: string;
  legs: string;
  regionSize: string;
  size: string;
  socket?: string;
  port?: string;
  host: string;
  control?: string;
  seed: string;
  clock: ClockKind;
  crashState: CrashStrategy;
  writeCache: boolean;
  cacheWrites: string;
  check: boolean;
  record?: string;
  name: string;
  verbose?: boolean;
}

/** Registers `serve` on the program. */
export function registerServeCommand(
  program: Command,
  io: CliIo,
  setExitCode: (code: number) => void,
): void {
  program
    .command('serve')
    .description(
      'export a simulated mirror over NBD to real clients (fio, qemu-img, qemu-io, nbdcopy, nbdinfo)',
    )
    .option('--table <line>', 'the dm table line of the mirror')
    .option(
      '--log <type>',
      `log type when no --table is given (${dirtyLogTypeNames().join(', ')})`,
      'disk',
    )
    .option('--legs <n>', 'legs when no --table is given (2-9)', '2')
    .option('--region-size <sectors>', 'region size in sectors when no --table is given', '1024')
    .option(
      '--size <size>',
      'mirror size when no --table is given (512, 4KiB, 64MiB, 1GiB)',
      '64MiB',
    )
    .option('--socket <path>', 'listen on this Unix socket (nbd+unix:///?socket=PATH)')
    .option('--port <n>', 'listen on this TCP port instead (0: any free port)')
    .option('--host <address>', 'the address --port binds to', '127.0.0.1')
    .option(
      '--control <path>',
      'the control endpoint: HTTP over this Unix socket (see mirrorsim ctl)',
    )
    .option('--seed <n>', 'the one seed the simulated world derives from', '1')
    .addOption(
      new Option(
        '--clock <clock>',
        'virtual: as fast as requests come; real: completions wait out their simulated latency',
      )
        .choices([...CLOCK_KINDS])
        .default('virtual'),
    )
    .addOption(
      new Option(
        '--crash-state <s>',
        'what each device keeps of its not-yet-durable writes at a power cut',
      )
        .choices([...CRASH_STRATEGIES])
        .default('random'),
    )
    .option(
      '--no-write-cache',
      'devices without a volatile write cache (every completed write is durable)',
    )
    .option(
      '--cache-writes <n>',
      'writes a device cache holds before it writes back on its own',
      String(CACHE_WRITES_MAX_DEFAULT),
    )
    .option('--no-check', 'skip the white-box invariant checks on every leg and log write (faster)')
    .option(
      '--record <file>',
      "record the clients' requests as a fio iolog v3 (replay: mirrorsim run --workload fio:FILE)",
    )
    .option('--name <name>', 'the export name (the empty name selects it too)', 'mirror')
    .option('--verbose', 'log connections, refused frames and control actions on stderr')
    .action(async (flags: ServeFlags) => {
      const service = await ServeService.start(serveOptions(flags, io));
      const control = flags.control === undefined ? '' : `, control on ${resolve(flags.control)}`;
      io.stderr(
        `mirrorsim serve: listening on ${service.uri} (export "${flags.name}", ${service.mirrorExport.stack.tableText}, clock ${flags.clock}, seed ${flags.seed}${control})\n`,
      );
      await waitForTerminationSignal();
      const summary = service.status();
      await service.close();
      const violations =
        summary.readViolations +
        summary.invariantViolations.length +
        summary.powerCuts.reduce((sum, cut) => sum + cut.violationCount, 0);
      io.stderr(
        `mirrorsim serve: stopped; ${summary.writesTracked} writes, ${summary.powerCuts.length} power cuts, ${violations === 0 ? 'oracle ok' : `${violations} violations`}\n`,
      );
      setExitCode(violations === 0 ? EXIT_OK : EXIT_VIOLATION);
    });
}

function serveOptions(flags: ServeFlags, io: CliIo) {
  const table =
    flags.table ??
    buildTable({
      logType: flags.log,
      legCount: parseCount(flags.legs, '--legs', { minimum: 1 }),
      regionSizeSectors: parseCount(flags.regionSize, '--region-size', { minimum: 1 }),
      sizeSectors: parseSizeSectors(flags.size, '--size'),
    });
  let seed: number;
  try {
    seed = parseSeed(flags.seed);
  } catch (error) {
    throw new UsageError(`Invalid --seed: ${(error as Error).message}`);
  }
  const log = flags.verbose === true ? (line: string) => io.stderr(`serve: ${line}\n`) : undefined;
  return {
    table,
    seed,
    clock: flags.clock,
    writeCache: flags.writeCache,
    legLatency: RUN_LEG_LATENCY,
    logLatency: RUN_LOG_LATENCY,
    cacheWritesMax: parseCount(flags.cacheWrites, '--cache-writes', { minimum: 1 }),
    whiteBox: flags.check,
    name: flags.name,
    listen: listenAddress(flags),
    controlPath: flags.control === undefined ? null : resolve(flags.control),
    crashState: flags.crashState,
    ...(flags.record === undefined ? {} : { recordPath: resolve(flags.record) }),
    ...(log === undefined ? {} : { log }),
  };
}

function listenAddress(flags: ServeFlags): NbdListenAddress {
  if ((flags.socket === undefined) === (flags.port === undefined)) {
    throw new UsageError('serve needs exactly one of --socket PATH or --port N');
  }
  if (flags.socket !== undefined) {
    if (flags.socket === '') throw new UsageError('Invalid --socket "": expected a path');
    return { kind: 'unix', path: resolve(flags.socket) };
  }
  const port = parseCount(flags.port!, '--port');
  if (port > 65535) throw new UsageError(`Invalid --port "${flags.port}": expected 0 to 65535`);
  return { kind: 'tcp', host: flags.host, port };
}

/** Resolves on the first SIGINT or SIGTERM. */
function waitForTerminationSignal(): Promise<void> {
  return new Promise((resolvePromise) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolvePromise();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
