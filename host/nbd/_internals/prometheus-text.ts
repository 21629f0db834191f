/**
 * A writer for Prometheus' text exposition format (version 0.0.4): one
 * `# HELP` and one `# TYPE` line per metric family, then its samples,
 * label values escaped as the format requires (backslash, quote, newline).
 */
import { assert } from '../../../src/assert.js';

/** The metric types this writer declares. */
export type MetricType = 'counter' | 'gauge' | 'histogram';

const NAME_PATTERN = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** Builds one exposition text, family by family. */
export class PrometheusText {
  private readonly lines: string[] = [];
  private readonly families = new Set<string>();

  /** Starts a family; its samples follow. Each family is declared once. */
  family(name: string, type: MetricType, help: string): this {
    assert(NAME_PATTERN.test(name), `metric name "${name}" is not valid`);
    assert(!this.families.has(name), `metric family "${name}" declared twice`);
    this.families.add(name);
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
    this.lines.push(`# TYPE ${name} ${type}`);
    return this;
  }

  /** One sample of `name` (a declared family, or its `_bucket`/`_sum`/`_count`). */
  sample(name: string, value: number, labels: Readonly<Record<string, string>> = {}): this {
    assert(NAME_PATTERN.test(name), `metric name "${name}" is not valid`);
    const pairs = Object.entries(labels).map(([key, text]) => `${key}="${escapeLabel(text)}"`);
    const labelText = pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
    this.lines.push(`${name}${labelText} ${formatValue(value)}`);
    return this;
  }

  text(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

function escapeLabel(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  if (Number.isNaN(value)) return 'NaN';
  return String(value);
}
