/**
 * The NBD listener of `mirrorsim serve`: a Unix stream socket (mode 0600)
 * or a TCP port (loopback unless told otherwise, `TCP_NODELAY` as §1
 * advises), one {@link NbdConnection} per client, all serving one backend.
 * Several connections share the export (fio opens one per job).
 */
import { chmodSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { claimSocketPath, releaseSocketPath } from './_internals/unix-socket.js';
import { type NbdBackend, NbdConnection } from './nbd-connection.js';

/** Where the server listens. */
export type NbdListenAddress =
  | { readonly kind: 'unix'; readonly path: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number };

/** How an {@link NbdServer} is started. */
export interface NbdServerOptions {
  readonly backend: NbdBackend;
  readonly listen: NbdListenAddress;
  /** Called once per accepted connection. */
  readonly onAccepted?: () => void;
  /** Called when a connection is closed for a framing error. */
  readonly onProtocolError?: (reason: string) => void;
  /** Where connection events are logged (default: nowhere). */
  readonly log?: (line: string) => void;
}

/** The listener and its connections (see the file comment). */
export class NbdServer {
  private readonly server: Server;
  private readonly connections = new Set<NbdConnection>();
  private readonly options: NbdServerOptions;
  private connectionIdNext = 1;
  private boundPort = 0;

  private constructor(options: NbdServerOptions) {
    this.options = options;
    this.server = createServer({ noDelay: true }, (socket) => this.accept(socket));
  }

  /** Listens; a stale Unix socket file is replaced, a live one refused. */
  static async start(options: NbdServerOptions): Promise<NbdServer> {
    const listen = options.listen;
    if (listen.kind === 'unix') await claimSocketPath(listen.path, '--socket');
    const server = new NbdServer(options);
    await server.listen();
    return server;
  }

  /** The URI clients use for the default export (`nbd+unix:///?socket=…` or `nbd://host:port/`). */
  get uri(): string {
    const listen = this.options.listen;
    if (listen.kind === 'unix') return `nbd+unix:///?socket=${listen.path}`;
    const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
    return `nbd://${host}:${this.boundPort}/`;
  }

  /** The TCP port listened on (0 for a Unix socket). */
  get port(): number {
    return this.boundPort;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Hard-closes every connection at once (a power cut); returns how many there were. */
  dropAll(): number {
    const count = this.connections.size;
    for (const connection of [...this.connections]) connection.destroy();
    this.connections.clear();
    return count;
  }

  /** Stops listening, drops every connection and removes the socket file. */
  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.options.listen.kind === 'unix') releaseSocketPath(this.options.listen.path);
  }

  private async listen(): Promise<void> {
    const listen = this.options.listen;
    const previousUmask = listen.kind === 'unix' ? process.umask(0o177) : null;
    try {
      await new Promise<void>((resolve, reject) => {
        this.server.once('error', reject);
        const ready = () => {
          this.server.off('error', reject);
          resolve();
        };
        if (listen.kind === 'unix') this.server.listen(listen.path, ready);
        else this.server.listen(listen.port, listen.host, ready);
      });
    } finally {
      if (previousUmask !== null) process.umask(previousUmask);
    }
    if (listen.kind === 'unix') chmodSync(listen.path, 0o600);
    else {
      const address = this.server.address();
      this.boundPort = typeof address === 'object' && address !== null ? address.port : 0;
    }
    // A failing accept must not take the process down.
    this.server.on('error', (error) => this.log(`listener: ${error.message}`));
  }

  private accept(socket: Socket): void {
    const connection = new NbdConnection(this.connectionIdNext++, socket, this.options.backend, {
      closed: (closed) => this.connections.delete(closed),
      protocolError: (_connection, reason) => this.options.onProtocolError?.(reason),
      log: (line) => this.log(line),
    });
    this.connections.add(connection);
    this.options.onAccepted?.();
    connection.start();
  }

  private log(line: string): void {
    this.options.log?.(line);
  }
}
