/**
 * The userspace-log plumbing of one simulated machine (one {@link World}):
 * the channel to a log daemon — by default an in-process simulated daemon
 * behind a simulated link, or a channel to a real daemon — and the
 * kernel's transfer layer of the current boot, shared by every `userspace`
 * log the machine's mirrors build.
 *
 * A reboot after a crash starts a new kernel (a new sequence space, a new
 * `is_remote_recovering` deadline) and restarts the in-process daemon,
 * which loses its memory as the machine did; `luid`s keep counting, so a
 * long-lived external daemon never sees one twice.
 */

import type { SimulatedDevice } from '../../src/block/simulated-device.js';
import type { UlogChannel } from '../../src/log/userspace/ulog-channel.js';
import { UlogTransfer } from '../../src/log/userspace/ulog-transfer.js';
import type { DeviceDefaults, World } from '../world.js';
import { SimUlogDaemon } from './sim-ulog-daemon.js';
import { resolveSimUlogFaults, type SimUlogFaults } from './sim-ulog-faults.js';
import { SimUlogTransport } from './sim-ulog-transport.js';

/** How a machine's userspace-log plumbing is set up. */
export interface UlogMachineOptions {
  /** A channel to an external daemon; the in-process daemon when absent. */
  readonly channel?: UlogChannel;
  /** The in-process link's fault model (ignored with an external channel). */
  readonly faults?: SimUlogFaults;
  /** How the in-process daemon's backing devices are created when missing. */
  readonly deviceDefaults?: DeviceDefaults;
}

/** The userspace-log side of one simulated machine (see the file comment). */
export class UlogMachine {
  readonly world: World;
  readonly channel: UlogChannel;
  /** The in-process daemon, or null with an external channel. */
  readonly daemon: SimUlogDaemon | null;
  /** The in-process link, or null with an external channel. */
  readonly transport: SimUlogTransport | null;
  /** Every kernel this machine booted, oldest first. */
  readonly kernels: UlogTransfer[] = [];
  private kernel: UlogTransfer | null = null;
  private luidNext: bigint;
  private readonly deviceDefaults: DeviceDefaults;

  constructor(world: World, options: UlogMachineOptions = {}) {
    this.world = world;
    this.deviceDefaults = options.deviceDefaults ?? {};
    if (options.channel !== undefined) {
      this.channel = options.channel;
      this.daemon = null;
      this.transport = null;
    } else {
      const faults = resolveSimUlogFaults(options.faults);
      const transport = new SimUlogTransport({
        scheduler: world.scheduler,
        random: world.random,
        faults,
      });
      this.daemon = new SimUlogDaemon({
        scheduler: world.scheduler,
        random: world.random,
        faults,
        getDevice: (name, minimumSizeSectors) => this.backingDevice(name, minimumSizeSectors),
        sendReply: (reply) => transport.sendReply(reply),
      });
      transport.connectDaemon(this.daemon);
      this.channel = transport;
      this.transport = transport;
    }
    this.luidNext = this.channel.luidBase ?? 1n;
  }

  /** The transfer layer of the current boot, created at first use. */
  transfer(): UlogTransfer {
    if (this.kernel === null) {
      this.kernel = new UlogTransfer({
        scheduler: this.world.scheduler,
        channel: this.channel,
        allocateLuid: () => {
          const luid = this.luidNext;
          this.luidNext += 1n;
          return luid;
        },
      });
      this.kernels.push(this.kernel);
    }
    return this.kernel;
  }

  /** The machine came back up after a crash: a new kernel, a freshly started daemon. */
  reboot(): void {
    this.kernel = null;
    this.transport?.reset();
    this.daemon?.restart();
  }

  /** Requests every kernel of this machine sent, resends included. */
  get requestsSent(): number {
    return this.kernels.reduce((sum, kernel) => sum + kernel.stats.requestsSent, 0);
  }

  private backingDevice(name: string, minimumSizeSectors: number): SimulatedDevice {
    return this.world.openDevice(name, minimumSizeSectors, this.deviceDefaults);
  }
}

const machines = new WeakMap<World, UlogMachine>();

/**
 * The world's userspace-log machine, created with `options` on first use.
 * Asking again with a different external channel is an error.
 */
export function ulogMachineOf(world: World, options: UlogMachineOptions = {}): UlogMachine {
  const existing = machines.get(world);
  if (existing !== undefined) {
    if (options.channel !== undefined && options.channel !== existing.channel) {
      throw new RangeError('This world already reaches a different userspace log daemon');
    }
    return existing;
  }
  const machine = new UlogMachine(world, options);
  machines.set(world, machine);
  return machine;
}

/** The world's userspace-log machine if one was created. */
export function existingUlogMachine(world: World): UlogMachine | undefined {
  return machines.get(world);
}
