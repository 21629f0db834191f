/**
 * The control endpoint beside the export (`mirrorsim serve --control PATH`):
 * HTTP/1.1 over a Unix socket (mode 0600), with Node's own http module.
 *
 * | request                         | answer                                              |
 * |---------------------------------|-----------------------------------------------------|
 * | `GET /status`                   | JSON: table and status lines, regions in sync, requests in flight, devices, power cuts |
 * | `GET /metrics`                  | Prometheus text                                     |
 * | `POST /fail?device=NAME`        | the device fails every request from now on           |
 * | `POST /restore?device=NAME`     | heals it and reloads the table                       |
 * | `POST /suspend`, `POST /resume` | `dmsetup suspend` / `dmsetup resume`                 |
 * | `POST /power-cut[?crash-state=S]` | every connection drops, crash, reboot, recover, verify: JSON report |
 *
 * A bad request gets 400 (bad parameter), 404 (no such path) or 405 (wrong
 * method) with `{ "error": "…" }`; nothing a control client sends stops the
 * server.
 */
import { chmodSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { claimSocketPath, releaseSocketPath } from './_internals/unix-socket.js';

/** What the control endpoint can ask of the service. */
export interface ControlTarget {
  status(): unknown;
  metricsText(): string;
  fail(device: string): unknown;
  restore(device: string): unknown;
  suspend(): unknown;
  resume(): unknown;
  powerCut(crashState: string | null): unknown;
}

/** A control request that names something wrong: answered with 400 and the message. */
export class ControlRequestError extends RangeError {
  override name = 'ControlRequestError';
}

/** A route's answer; its body may be a promise (a power cut waits for requests in flight). */
type Route = (query: URLSearchParams) => { readonly type: 'json' | 'text'; readonly body: unknown };

/** The listening control endpoint (see the file comment). */
export class ControlServer {
  private readonly server: Server;

  private constructor(
    readonly socketPath: string,
    private readonly target: ControlTarget,
    private readonly log: (line: string) => void,
  ) {
    this.server = createServer((request, response) => this.serve(request, response));
  }

  /** Listens on `socketPath` (a stale socket file is replaced). */
  static async start(
    socketPath: string,
    target: ControlTarget,
    log: (line: string) => void = () => {},
  ): Promise<ControlServer> {
    await claimSocketPath(socketPath, '--control');
    const control = new ControlServer(socketPath, target, log);
    const previousUmask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        control.server.once('error', reject);
        control.server.listen(socketPath, () => {
          control.server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(previousUmask);
    }
    chmodSync(socketPath, 0o600);
    control.server.on('error', (error) => log(`control: ${error.message}`));
    return control;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    releaseSocketPath(this.socketPath);
  }

  private routes(): Record<string, { readonly method: 'GET' | 'POST'; readonly route: Route }> {
    const target = this.target;
    const json = (body: unknown) => ({ type: 'json' as const, body });
    return {
      '/status': { method: 'GET', route: () => json(target.status()) },
      '/metrics': { method: 'GET', route: () => ({ type: 'text', body: target.metricsText() }) },
      '/fail': { method: 'POST', route: (query) => json(target.fail(device(query))) },
      '/restore': { method: 'POST', route: (query) => json(target.restore(device(query))) },
      '/suspend': { method: 'POST', route: () => json(target.suspend()) },
      '/resume': { method: 'POST', route: () => json(target.resume()) },
      '/power-cut': {
        method: 'POST',
        route: (query) => json(target.powerCut(query.get('crash-state'))),
      },
    };
  }

  private serve(request: IncomingMessage, response: ServerResponse): void {
    response.on('error', (error) => this.log(`control: ${error.message}`));
    // The body is not used; reading it lets a client that sends one get its answer.
    request.resume();
    const url = new URL(request.url ?? '/', 'http://control');
    const entry = this.routes()[url.pathname];
    if (entry === undefined) {
      reply(response, 404, {
        error: `No control path "${url.pathname}": expected one of ${Object.keys(this.routes()).join(', ')}`,
      });
      return;
    }
    if (request.method !== entry.method) {
      response.setHeader('Allow', entry.method);
      reply(response, 405, {
        error: `${url.pathname} takes ${entry.method}, not ${request.method}`,
      });
      return;
    }
    let answer: ReturnType<Route>;
    try {
      answer = entry.route(url.searchParams);
    } catch (error) {
      this.fail(response, url.pathname, error);
      return;
    }
    Promise.resolve(answer.body).then(
      (body) => {
        if (answer.type === 'text') {
          response.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
          response.end(body as string);
        } else reply(response, 200, body);
      },
      (error: unknown) => this.fail(response, url.pathname, error),
    );
  }

  /** 400 for a request that names something wrong, 500 (and a log line) for anything else. */
  private fail(response: ServerResponse, path: string, error: unknown): void {
    const status = error instanceof RangeError || error instanceof SyntaxError ? 400 : 500;
    if (status === 500) this.log(`control ${path}: ${(error as Error).stack ?? error}`);
    reply(response, status, { error: (error as Error).message });
  }
}

function device(query: URLSearchParams): string {
  const name = query.get('device');
  if (name === null || name === '') {
    throw new ControlRequestError('This action needs ?device=NAME (a leg or the log device)');
  }
  return name;
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
  response.end(`${JSON.stringify(body, null, 2)}\n`);
}
