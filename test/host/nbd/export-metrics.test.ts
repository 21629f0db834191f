/** The Prometheus text of /metrics (exposition format 0.0.4): families, labels, cumulative buckets. */
import { describe, expect, it } from 'vitest';
import { PrometheusText } from '../../../host/nbd/_internals/prometheus-text.js';
import { ExportMetrics, type WorldMetrics } from '../../../host/nbd/export-metrics.js';
import { invariantMessage } from '../../assert-test-kit.js';

const WORLD: WorldMetrics = {
  requestsInFlight: 2,
  connectionsOpen: 1,
  simulatedTicks: 1_500_000,
  regions: 8,
  regionsInSync: null,
  regionsRecovered: 3,
  sectorsResynced: 768,
  suspended: false,
  cacheWriteBacks: 4,
  devices: [
    {
      name: 'leg0',
      role: 'leg',
      reads: 1,
      writes: 2,
      flushes: 3,
      sectorsWritten: 16,
      errors: 0,
      faulty: false,
      volatileWrites: 5,
    },
    {
      name: 'log0',
      role: 'log',
      reads: 0,
      writes: 9,
      flushes: 9,
      sectorsWritten: 9,
      errors: 1,
      faulty: true,
      volatileWrites: 0,
    },
  ],
};

describe('PrometheusText', () => {
  it('writes HELP and TYPE once per family and escapes label values', () => {
    const text = new PrometheusText()
      .family('a_total', 'counter', 'A help\\text\nwith a newline')
      .sample('a_total', 3, { device: 'x"y\\z\nw' })
      .sample('a_total', Number.POSITIVE_INFINITY)
      .text();
    expect(text).toBe(
      '# HELP a_total A help\\\\text\\nwith a newline\n# TYPE a_total counter\na_total{device="x\\"y\\\\z\\nw"} 3\na_total +Inf\n',
    );
    const twice = new PrometheusText().family('b', 'gauge', 'b');
    expect(invariantMessage(() => twice.family('b', 'gauge', 'b'))).toBe(
      'metric family "b" declared twice',
    );
    expect(invariantMessage(() => twice.sample('no-dash', 1))).toBe(
      'metric name "no-dash" is not valid',
    );
  });
});

describe('ExportMetrics', () => {
  it('counts by command, keeps cumulative latency buckets, and reads the world', () => {
    const metrics = new ExportMetrics();
    metrics.completed(1, false, 40);
    metrics.completed(1, false, 300);
    metrics.completed(1, true, 2_000_000);
    metrics.refused(99);
    metrics.bytesWritten = 8192;
    expect(metrics.requestCount(1)).toBe(3);
    expect(metrics.errorCount(1)).toBe(1);
    expect(metrics.requestCount(99)).toBe(1);
    const lines = metrics.render(WORLD).split('\n');
    const value = (name: string) =>
      lines.find((line) => line.startsWith(`${name} `))?.split(' ')[1];
    expect(value('mirrorsim_nbd_requests_total{command="WRITE"}')).toBe('3');
    expect(value('mirrorsim_nbd_requests_total{command="CMD_99"}')).toBe('1');
    expect(value('mirrorsim_nbd_request_errors_total{command="WRITE"}')).toBe('1');
    expect(
      value('mirrorsim_nbd_request_latency_seconds_bucket{command="WRITE",le="0.00005"}'),
    ).toBe('1');
    expect(value('mirrorsim_nbd_request_latency_seconds_bucket{command="WRITE",le="0.0005"}')).toBe(
      '2',
    );
    expect(value('mirrorsim_nbd_request_latency_seconds_bucket{command="WRITE",le="1"}')).toBe('2');
    expect(value('mirrorsim_nbd_request_latency_seconds_bucket{command="WRITE",le="+Inf"}')).toBe(
      '3',
    );
    expect(value('mirrorsim_nbd_request_latency_seconds_sum{command="WRITE"}')).toBe('2.00034');
    expect(value('mirrorsim_nbd_bytes_total{direction="write"}')).toBe('8192');
    expect(value('mirrorsim_simulated_seconds')).toBe('1.5');
    expect(value('mirrorsim_resync_bytes_total')).toBe(String(768 * 512));
    expect(value('mirrorsim_device_writes_total{device="log0",role="log"}')).toBe('9');
    expect(value('mirrorsim_device_faulty{device="log0",role="log"}')).toBe('1');
    expect(
      lines.some((line) => line.startsWith('mirrorsim_mirror_regions_in_sync')),
      'no sync count when the log cannot say',
    ).toBe(false);
  });
});
