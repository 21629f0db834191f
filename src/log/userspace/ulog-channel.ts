/**
 * The link between the kernel's transfer layer and a log daemon: in Linux a
 * netlink connector socket (reference userspace-and-cluster-logs.md §1.1,
 * §3). Implementations carry whole `dm_ulog_request` records: the
 * simulator's transport with latency, loss and daemon crashes (sim/), and a
 * Unix-socket client of a real daemon process (host/).
 */
import type { Scheduler } from '../../world/scheduler.js';

/** The kernel side a channel hands replies to: the connector callback `cn_ulog_callback`. */
export interface UlogChannelEndpoint {
  /** The kernel's scheduler: a channel that defers a reply schedules it here. */
  readonly scheduler: Scheduler;
  /** Takes one reply record (header and payload); called at most once per scheduler event. */
  receive(reply: Uint8Array): void;
}

/** What a synchronous round trip ({@link UlogChannel.roundTripNow}) came to. */
export type UlogRoundTrip =
  | { readonly kind: 'reply'; readonly reply: Uint8Array }
  /** Nobody listens: the kernel's `-ESRCH`. */
  | { readonly kind: 'no-listener' }
  /** The request or its reply was lost; the kernel would resend after its timeout. */
  | { readonly kind: 'lost' };

/**
 * A channel from the kernel's transfer layer to a daemon.
 *
 * @example
 * ```ts
 * channel.attach({ scheduler, receive: (reply) => transfer.receive(reply) });
 * const sent = channel.send(encodeUlogRequest(request)); // 0, or ESRCH when no daemon listens
 * ```
 */
export interface UlogChannel {
  /**
   * Where replies go from now on (`dm_ulog_tfr_init` registering the
   * connector callback). A rebooted kernel attaches again and replaces the
   * previous endpoint.
   */
  attach(endpoint: UlogChannelEndpoint): void;
  /**
   * `cn_netlink_send`: hands a request record to the daemon and returns at
   * once, 0 when a daemon listens and `ESRCH` when none does. The reply, if
   * any, arrives later through the endpoint, never inside this call.
   */
  send(record: Uint8Array): number;
  /**
   * A round trip that completes inside the call, for the table-load path
   * only (`userspace_ctr`'s CTR and GET_REGION_SIZE): the simulator's table
   * load is synchronous and untimed, so the constructor cannot wait on
   * scheduler events. Implementations answer without latency or injected
   * loss where they can.
   */
  roundTripNow(record: Uint8Array): UlogRoundTrip;
  /**
   * Where the kernel starts numbering log instances (`luid`, the address of
   * `log_c` in Linux). A channel to a long-lived daemon shared by several
   * simulator processes gives each a different base, so that their luids do
   * not collide. Default 1.
   */
  readonly luidBase?: bigint;
}
