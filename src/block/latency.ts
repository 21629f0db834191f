/**
 * Latency of one class of request (read, write, flush), as dm-delay delays
 * each class separately: a fixed number of ticks, or TigerBeetle's
 * minimum plus an exponential tail.
 */
import { drawExponentialTicks, type RandomStream } from '../world/random-stream.js';

export type LatencyModel =
  | { readonly kind: 'fixed'; readonly ticks: number }
  | { readonly kind: 'exponential'; readonly minimumTicks: number; readonly meanTicks: number };

export interface DeviceLatency {
  readonly read: LatencyModel;
  readonly write: LatencyModel;
  readonly flush: LatencyModel;
}

export const ZERO_LATENCY: LatencyModel = { kind: 'fixed', ticks: 0 };

export function fixedLatency(ticks: number): LatencyModel {
  return { kind: 'fixed', ticks };
}

export function checkLatency(deviceName: string, operation: string, model: LatencyModel): void {
  const bad = (what: string, value: number) =>
    new RangeError(
      `Device "${deviceName}" ${operation} latency ${what} ${value} is not an integer ≥ 0 ticks`,
    );
  if (model.kind === 'fixed') {
    if (!Number.isSafeInteger(model.ticks) || model.ticks < 0) throw bad('ticks', model.ticks);
    return;
  }
  if (!Number.isSafeInteger(model.minimumTicks) || model.minimumTicks < 0) {
    throw bad('minimum', model.minimumTicks);
  }
  if (!(model.meanTicks >= 0 && Number.isFinite(model.meanTicks)))
    throw bad('mean', model.meanTicks);
}

export function drawLatencyTicks(model: LatencyModel, random: RandomStream): number {
  if (model.kind === 'fixed') return model.ticks;
  return drawExponentialTicks(random, {
    minimumTicks: model.minimumTicks,
    meanTicks: model.meanTicks,
  });
}
