/**
 * What `GET /metrics` serves, in Prometheus' text format: requests, errors
 * and bytes by command; request latency histograms in simulated time (the
 * latency the modelled hardware gives, whatever the clock); connections;
 * and, from the world at scrape time, requests in flight, every device's
 * writes and flushes (the log device's are the dirty log's cost), resync
 * progress and the oracle's findings.
 */
import { PrometheusText } from './_internals/prometheus-text.js';
import {
  commandName,
  NBD_CMD_BLOCK_STATUS,
  NBD_CMD_FLUSH,
  NBD_CMD_READ,
  NBD_CMD_TRIM,
  NBD_CMD_WRITE,
  NBD_CMD_WRITE_ZEROES,
} from './protocol/nbd-constants.js';

/** Latency bucket bounds in simulated microseconds (ticks): 25 µs to 1 s. */
const LATENCY_BOUNDS_TICKS = [
  25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000,
];
const COMMANDS = [
  NBD_CMD_READ,
  NBD_CMD_WRITE,
  NBD_CMD_FLUSH,
  NBD_CMD_TRIM,
  NBD_CMD_WRITE_ZEROES,
  NBD_CMD_BLOCK_STATUS,
];

/** One device's counters, as the world reports them at scrape time. */
export interface DeviceMetrics {
  readonly name: string;
  readonly role: 'leg' | 'log';
  readonly reads: number;
  readonly writes: number;
  readonly flushes: number;
  readonly sectorsWritten: number;
  readonly errors: number;
  readonly faulty: boolean;
  readonly volatileWrites: number;
}

/** Gauges and counters read from the world when metrics are scraped. */
export interface WorldMetrics {
  readonly requestsInFlight: number;
  readonly connectionsOpen: number;
  readonly simulatedTicks: number;
  readonly regions: number;
  /** Null when the log cannot answer without blocking (a userspace log). */
  readonly regionsInSync: number | null;
  readonly regionsRecovered: number;
  readonly sectorsResynced: number;
  readonly suspended: boolean;
  readonly devices: readonly DeviceMetrics[];
  readonly cacheWriteBacks: number;
}

class Histogram {
  readonly counts = new Float64Array(LATENCY_BOUNDS_TICKS.length);
  sumTicks = 0;
  count = 0;

  observe(ticks: number): void {
    this.count++;
    this.sumTicks += ticks;
    for (let index = 0; index < LATENCY_BOUNDS_TICKS.length; index++) {
      if (ticks <= LATENCY_BOUNDS_TICKS[index]!) {
        this.counts[index]!++;
        return;
      }
    }
  }
}

/** Counters the server updates as requests complete. */
export class ExportMetrics {
  private readonly requests = new Map<number, number>();
  private readonly errors = new Map<number, number>();
  private readonly latency = new Map<number, Histogram>(
    COMMANDS.map((type) => [type, new Histogram()]),
  );
  bytesRead = 0;
  bytesWritten = 0;
  connectionsAccepted = 0;
  /** Connections closed for a framing error (bad magic, oversized frame). */
  protocolErrors = 0;
  readViolations = 0;
  powerCuts = 0;
  powerCutViolations = 0;

  /** A request was answered; `latencyTicks` is simulated time from submission to completion. */
  completed(type: number, failed: boolean, latencyTicks: number): void {
    this.requests.set(type, (this.requests.get(type) ?? 0) + 1);
    if (failed) this.errors.set(type, (this.errors.get(type) ?? 0) + 1);
    this.latency.get(type)?.observe(latencyTicks);
  }

  /** Requests of command `type` answered so far (refused ones included). */
  requestCount(type: number): number {
    return this.requests.get(type) ?? 0;
  }

  /** Requests of command `type` answered with an error so far. */
  errorCount(type: number): number {
    return this.errors.get(type) ?? 0;
  }

  /** A request was refused before it reached the mirror (validation). */
  refused(type: number): void {
    this.requests.set(type, (this.requests.get(type) ?? 0) + 1);
    this.errors.set(type, (this.errors.get(type) ?? 0) + 1);
  }

  /** The exposition text, with the world's figures at this moment. */
  render(world: WorldMetrics): string {
    const text = new PrometheusText();
    this.renderRequests(text);
    text
      .family('mirrorsim_nbd_bytes_total', 'counter', 'Bytes moved by READ and WRITE')
      .sample('mirrorsim_nbd_bytes_total', this.bytesRead, { direction: 'read' })
      .sample('mirrorsim_nbd_bytes_total', this.bytesWritten, { direction: 'write' });
    text
      .family(
        'mirrorsim_nbd_requests_in_flight',
        'gauge',
        'Requests submitted to the mirror and not yet answered',
      )
      .sample('mirrorsim_nbd_requests_in_flight', world.requestsInFlight);
    text
      .family('mirrorsim_nbd_connections', 'gauge', 'Open NBD connections')
      .sample('mirrorsim_nbd_connections', world.connectionsOpen)
      .family('mirrorsim_nbd_connections_total', 'counter', 'NBD connections accepted')
      .sample('mirrorsim_nbd_connections_total', this.connectionsAccepted)
      .family(
        'mirrorsim_nbd_protocol_errors_total',
        'counter',
        'Connections closed for a framing error',
      )
      .sample('mirrorsim_nbd_protocol_errors_total', this.protocolErrors);
    this.renderWorld(text, world);
    text
      .family(
        'mirrorsim_oracle_read_violations_total',
        'counter',
        'Sectors a client read that the register oracle forbids',
      )
      .sample('mirrorsim_oracle_read_violations_total', this.readViolations)
      .family('mirrorsim_power_cuts_total', 'counter', 'Power cuts pulled')
      .sample('mirrorsim_power_cuts_total', this.powerCuts)
      .family(
        'mirrorsim_power_cut_violations_total',
        'counter',
        'Violations found after power cuts',
      )
      .sample('mirrorsim_power_cut_violations_total', this.powerCutViolations);
    return text.text();
  }

  private renderRequests(text: PrometheusText): void {
    text.family('mirrorsim_nbd_requests_total', 'counter', 'NBD requests answered, by command');
    for (const [type, count] of this.requests) {
      text.sample('mirrorsim_nbd_requests_total', count, { command: commandName(type) });
    }
    text.family(
      'mirrorsim_nbd_request_errors_total',
      'counter',
      'NBD requests answered with an error, by command',
    );
    for (const [type, count] of this.errors) {
      text.sample('mirrorsim_nbd_request_errors_total', count, { command: commandName(type) });
    }
    const name = 'mirrorsim_nbd_request_latency_seconds';
    text.family(name, 'histogram', 'Simulated time from submission to completion, by command');
    for (const [type, histogram] of this.latency) {
      const command = commandName(type);
      let cumulative = 0;
      LATENCY_BOUNDS_TICKS.forEach((bound, index) => {
        cumulative += histogram.counts[index]!;
        text.sample(`${name}_bucket`, cumulative, { command, le: String(bound / 1e6) });
      });
      text.sample(`${name}_bucket`, histogram.count, { command, le: '+Inf' });
      text.sample(`${name}_sum`, histogram.sumTicks / 1e6, { command });
      text.sample(`${name}_count`, histogram.count, { command });
    }
  }

  private renderWorld(text: PrometheusText, world: WorldMetrics): void {
    text
      .family('mirrorsim_simulated_seconds', 'gauge', 'Simulated time of the world')
      .sample('mirrorsim_simulated_seconds', world.simulatedTicks / 1e6)
      .family('mirrorsim_mirror_regions', 'gauge', 'Regions of the mirror')
      .sample('mirrorsim_mirror_regions', world.regions)
      .family('mirrorsim_mirror_suspended', 'gauge', '1 while the mapped device is suspended')
      .sample('mirrorsim_mirror_suspended', world.suspended ? 1 : 0);
    if (world.regionsInSync !== null) {
      text
        .family(
          'mirrorsim_mirror_regions_in_sync',
          'gauge',
          'Regions the dirty log reports in sync',
        )
        .sample('mirrorsim_mirror_regions_in_sync', world.regionsInSync);
    }
    text
      .family(
        'mirrorsim_resync_regions_total',
        'counter',
        'Regions copied by recovery since the stack last booted',
      )
      .sample('mirrorsim_resync_regions_total', world.regionsRecovered)
      .family(
        'mirrorsim_resync_bytes_total',
        'counter',
        'Bytes copied by recovery since the stack last booted',
      )
      .sample('mirrorsim_resync_bytes_total', world.sectorsResynced * 512)
      .family(
        'mirrorsim_cache_write_backs_total',
        'counter',
        'Device caches written back on their own (not a client flush)',
      )
      .sample('mirrorsim_cache_write_backs_total', world.cacheWriteBacks);
    const families = [
      ['mirrorsim_device_reads_total', 'counter', 'Reads a device served', 'reads'],
      [
        'mirrorsim_device_writes_total',
        'counter',
        "Writes a device accepted (a log device: the dirty log's writes)",
        'writes',
      ],
      ['mirrorsim_device_flushes_total', 'counter', 'Flushes a device accepted', 'flushes'],
      [
        'mirrorsim_device_sectors_written_total',
        'counter',
        'Sectors written to a device',
        'sectorsWritten',
      ],
      ['mirrorsim_device_errors_total', 'counter', 'Requests a device failed', 'errors'],
      [
        'mirrorsim_device_volatile_writes',
        'gauge',
        "Writes in a device's volatile cache or in flight",
        'volatileWrites',
      ],
    ] as const;
    for (const [name, type, help, field] of families) {
      text.family(name, type, help);
      for (const device of world.devices) {
        text.sample(name, device[field], { device: device.name, role: device.role });
      }
    }
    text.family('mirrorsim_device_faulty', 'gauge', '1 while a device fails its requests');
    for (const device of world.devices) {
      text.sample('mirrorsim_device_faulty', device.faulty ? 1 : 0, {
        device: device.name,
        role: device.role,
      });
    }
  }
}
