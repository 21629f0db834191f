export { parseSeed, SeededRandom } from './random.js';
export { DeterministicScheduler, type RunOptions, StepLimitError } from './scheduler.js';
export { Trace, type TraceRecord } from './trace.js';
export { type DeviceSpec, World, type WorldCrashReport, type WorldOptions } from './world.js';
