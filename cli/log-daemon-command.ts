/**
 * `mirrorsim log-daemon --socket PATH [--state-dir DIR]`: the userspace
 * log daemon as a real process (see host/ulog-daemon-server.ts). It runs
 * until SIGINT or SIGTERM, then removes its socket and exits 0.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { UlogDaemonServer, type UlogDaemonServerOptions } from '../host/ulog-daemon-server.js';
import { type CliIo, EXIT_OK, UsageError } from './cli-io.js';
import { prepareOutputDirectory } from './output-file.js';
import { oneLine, quotePath } from './quote-value.js';
import { checkSocketPath } from './socket-path.js';

interface LogDaemonFlags {
  socket?: string;
  stateDir?: string;
  verbose?: boolean;
}

/** Registers `log-daemon` on the program. */
export function registerLogDaemonCommand(
  program: Command,
  io: CliIo,
  setExitCode: (code: number) => void,
): void {
  program
    .command('log-daemon')
    .description('serve userspace dirty logs on a Unix socket (the daemon as a real process)')
    .option('--socket <path>', 'the Unix socket to listen on (created with mode 0600)')
    .option(
      '--state-dir <dir>',
      'keep disk-backed logs as files here (<device>.img, disk log format), synced on flush',
    )
    .option('--verbose', 'log every refused request and opened device on stderr')
    .action(async (flags: LogDaemonFlags) => {
      if (flags.socket === undefined) throw new UsageError('log-daemon needs --socket PATH');
      const socketPath = checkSocketPath(flags.socket, '--socket');
      const stateDir = flags.stateDir === undefined ? null : resolve(flags.stateDir);
      // The state directory must take files now: a log device is created there at the first CTR.
      if (stateDir !== null) prepareOutputDirectory(stateDir, '--state-dir', 0o700);
      const server = await startServer({
        socketPath,
        stateDir,
        ...(flags.verbose === true
          ? { log: (line: string) => io.stderr(`log-daemon: ${line}\n`) }
          : {}),
      });
      io.stderr(
        `mirrorsim log-daemon: listening on ${oneLine(socketPath)}${stateDir === null ? ' (logs in memory)' : `, state in ${oneLine(stateDir)}`}\n`,
      );
      await waitForTerminationSignal();
      await server.close();
      setExitCode(EXIT_OK);
    });
}

/** Starts the server; a socket that cannot be bound is bad input (one line), not a crash. */
async function startServer(options: UlogDaemonServerOptions): Promise<UlogDaemonServer> {
  try {
    return await UlogDaemonServer.start(options);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === undefined) throw error;
    throw new UsageError(
      `Cannot listen on --socket ${quotePath(options.socketPath)}: ${code}; expected a path where a Unix socket can be created`,
    );
  }
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
