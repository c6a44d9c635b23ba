/**
 * Network namespaces of a run's own, for packet faults the Toxiproxy-compatible proxy cannot make (it sees streams,
 * not packets): each gateway instance runs in a namespace (`ip netns exec`), joined to the host by one veth pair
 * (host end `10.201.a.b+1/30`, namespace end `+2`); the fleet reaches the instance on the namespace address, the
 * instance reaches its Redis proxy on the host end. Packet faults sit on the two ends of that pair, both directions:
 *
 * - loss: nftables drops a random fraction of the packets where they arrive (prerouting of the receiving end), so the
 *   sender's stack does not know and must retransmit, as on a lossy wire (a drop on the sending side's output hook is
 *   reported to the local socket and never retransmitted: measured, no `TcpRetransSegs`);
 * - duplication: nftables `dup to <peer> device <end>` sends a copy of a random fraction of the packets leaving each
 *   end;
 * - reordering: nftables sets `meta priority` of a random fraction of the packets leaving each end to the slow class
 *   of an HTB qdisc on that end ({@link SLOW_PATH_RATE_KBIT}), so later packets overtake them. A held packet waits
 *   behind those held before it (a token bucket has no fixed delay): one alone after a quiet spell passes at once, so
 *   what is reordered grows with the link's traffic; bursts (multi-segment writes, pipelined Redis batches) are,
 *   sparse one-segment messages mostly are not. A fault's detail says what TCP saw ({@link TcpCounters}).
 *
 * netem (`tc qdisc ... netem loss|duplicate|reorder`) would do all three, but a kernel may lack `sch_netem`: the one
 * this was written and measured on has neither it nor module loading (nor the `fw` classifier and the `gact` action,
 * hence `meta priority` straight to an HTB class id). The nftables/HTB forms work on any kernel with nftables and
 * HTB, are measured (`test/integration/network-namespaces.test.ts`), and are the only ones used even where netem
 * exists, so that the one code path is the tested one.
 *
 * Cleanup: a namespace carries the owner's pid and the run id in its name (`trafficcop-<ownerPid>-<runId>-<id>`),
 * deleting it removes its veth pair (and the qdiscs and rules on both ends); the host-side rules of a fault live in an
 * nftables table named the same way (`trafficcop_<ownerPid>_<run>_<id>`). Teardown removes both, the `exit` handler
 * removes them synchronously, and the next run's sweep removes those whose owner died (network-sweep.ts).
 */
import { execFile } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { isIP } from "node:net";
import { networkInterfaces } from "node:os";
import { delimiter, join } from "node:path";
import { createLogger } from "../common/logger.js";
import { HarnessError } from "../errors.js";

/** Prefix of every namespace (`-`) and nftables table (`_`) the harness makes. */
export const NETNS_PREFIX = "trafficcop";
/** Where `ip netns` keeps its named namespaces. */
export const NETNS_DIR = "/run/netns";
/** Addresses of the pairs: 10.201.0.0/16 cut into /30s (16,384 pairs), an index per pair. */
const SUBNET_BASE = [10, 201] as const;
const PAIRS = 16_384;
/**
 * Rate of the slow class packets are reordered through, in kbit/s: a full segment (1,500 B) waits 30 ms behind the
 * one before it, a heartbeat-sized one about 2 ms, long enough for the packets after it on the fast class to overtake
 * (measured: 10% of the packets of a 1,000 msg/s stream through it give 77 out-of-order queue entries on 3,000
 * messages, `TcpExtTCPOFOQueue`), small enough that the slow class does not build a queue of seconds at ci loads.
 */
export const SLOW_PATH_RATE_KBIT = 400;
/** A bound on each `ip`/`nft`/`tc` call, in ms (they take a few ms; a hang means a wedged kernel or tool). */
export const COMMAND_TIMEOUT_MS = 10_000;
/** The tools a namespace needs (Debian: iproute2, nftables). */
const TOOLS = ["ip", "nft", "tc"] as const;

/** What a packet fault does to a link; `percent` of the packets, each direction. */
export interface PacketImpairment {
  /** Lost where they arrive, sent twice, or held on the slow path (see the module comment). */
  form: "loss" | "duplicate" | "reorder";
  /** Share of the packets hit, each direction, in percent (0.01 steps). */
  percent: number;
}

/** TCP counters of a namespace's own stack (see {@link RunNetwork.tcpCounters}); a fault's detail holds their change. */
export interface TcpCounters {
  /** `TcpRetransSegs`: segments sent again (the namespace's packets lost at the host end). */
  retransmitted: number;
  /** `TcpExtTCPOFOQueue`: segments that arrived out of order (the host's packets lost or reordered). */
  outOfOrder: number;
  /** `TcpExtTCPDSACKOldSent`: D-SACKs sent for data received twice (the host's packets duplicated). */
  dsackSent: number;
  /** `TcpExtTCPDSACKRecv`: D-SACKs received (the namespace's packets duplicated, or retransmitted needlessly). */
  dsackReceived: number;
  /** `TcpExtTCPSACKReorder` + `TCPTSReorder` + `TCPRenoReorder`: reorderings the namespace's senders detected. */
  reordersSeen: number;
  /** Packets sent through the slow path of a reordering, both ends (0 before the link's first reordering). */
  heldBack: number;
}

/** One instance's namespace and veth pair. */
export interface InstanceLink {
  readonly instanceId: string;
  /** Name of the namespace (`ip netns exec <namespace>`). */
  readonly namespace: string;
  /** Host end of the pair and its address. */
  readonly hostDevice: string;
  readonly hostAddress: string;
  /** Namespace end of the pair and its address (the instance binds it; the fleet connects to it). */
  readonly namespaceDevice: string;
  readonly namespaceAddress: string;
}

const log = createLogger("harness:netns");

/** Whether `tool` is an executable on PATH (or in /usr/sbin, /sbin). @internal */
export function onPath(tool: string): boolean {
  for (const dir of (process.env.PATH ?? "").split(delimiter).concat(["/usr/sbin", "/sbin"])) {
    try {
      accessSync(join(dir, tool), constants.X_OK);
      return true;
    } catch {
      // Not in this directory.
    }
  }
  return false;
}

/**
 * Why this process cannot make network namespaces, or `undefined` when it can: it must run as root (creating a
 * namespace and a veth pair needs CAP_NET_ADMIN and CAP_SYS_ADMIN) with `ip`, `nft` and `tc` installed.
 */
export function networkNamespacesUnavailable(): string | undefined {
  if (process.platform !== "linux") return `packet faults need Linux network namespaces (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return "packet faults need network namespaces of the run's own: run the harness as root (CAP_NET_ADMIN and CAP_SYS_ADMIN)";
  const missing = TOOLS.filter((tool) => !onPath(tool));
  if (missing.length > 0) return `packet faults need ${missing.join(", ")}: apt-get install -y iproute2 nftables`;
  return undefined;
}

/** Throws `HARNESS_ERR_NETNS_UNAVAILABLE` naming what is missing, unless network namespaces can be made. */
export function assertNetworkNamespaces(): void {
  const reason = networkNamespacesUnavailable();
  if (reason) throw new HarnessError("HARNESS_ERR_NETNS_UNAVAILABLE", reason);
}

/** Runs `command` (bounded by {@link COMMAND_TIMEOUT_MS}); rejects with `HARNESS_ERR_NETNS` and its stderr. @internal */
export function run(command: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { timeout: COMMAND_TIMEOUT_MS, encoding: "utf8" }, (error, stdout, stderr) => {
      if (error) reject(new HarnessError("HARNESS_ERR_NETNS", `${command} ${args.join(" ")} failed: ${stderr.trim() || error.message}`, { cause: error }));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** A run or instance id as an nftables identifier part (`[A-Za-z0-9_]`). @internal */
export function sanitize(text: string): string {
  return text.replace(/[^A-Za-z0-9]/g, "_");
}

/** Name of the namespace of instance `instanceId` of run `runId` owned by `ownerPid`. */
export function namespaceName(runId: string, instanceId: string, ownerPid: number = process.pid): string {
  return `${NETNS_PREFIX}-${ownerPid}-${runId}-${instanceId}`;
}

/** Name of the host-side nftables table of a packet fault on instance `instanceId`. */
export function hostTableName(runId: string, instanceId: string, ownerPid: number = process.pid): string {
  return `${NETNS_PREFIX}_${ownerPid}_${sanitize(runId)}_${sanitize(instanceId)}`;
}

/** The owner pid a harness namespace (`-`) or table (`_`) name carries, or `undefined` for another name. @internal */
export function ownerOf(name: string, separator: "-" | "_"): number | undefined {
  const match = new RegExp(`^${NETNS_PREFIX}${separator}(\\d+)${separator}`).exec(name);
  return match ? Number(match[1]) : undefined;
}

function addressOf(index: number, host: 1 | 2): string {
  return `${SUBNET_BASE[0]}.${SUBNET_BASE[1]}.${index >> 6}.${(index & 63) * 4 + host}`;
}

/**
 * Whether `address` is the namespace end of a pair on this machine: in 10.201.0.0/16, the second address of its /30,
 * with the first (the host end) on one of this host's interfaces. Load aimed there stays on this machine.
 */
export function isLocalNamespaceAddress(address: string): boolean {
  if (isIP(address) !== 4 || !address.startsWith(`${SUBNET_BASE[0]}.${SUBNET_BASE[1]}.`)) return false;
  const octets = address.split(".").map(Number);
  if (octets[3]! % 4 !== 2) return false;
  const hostEnd = `${octets[0]}.${octets[1]}.${octets[2]}.${octets[3]! - 1}`;
  return Object.values(networkInterfaces()).some((addresses) => addresses?.some((a) => a.address === hostEnd));
}

/**
 * Runs `args` (a command and its arguments) through the command prefix `prefix`, which enters a namespace (`ip netns
 * exec <ns>`, `nsenter -t <pid> -n`); an empty prefix runs it on the host. As {@link run}. @internal
 */
export function runIn(prefix: readonly string[], args: readonly string[], input?: string): Promise<string> {
  const [command, ...rest] = prefix.length > 0 ? [...prefix, ...args] : args;
  return run(command!, rest, input);
}

/** The command prefix that runs a program inside network namespace `namespace`. */
function namespacePrefix(namespace: string): string[] {
  return ["ip", "netns", "exec", namespace];
}

/** The nftables probability test of `percent`: `numgen random mod 10000 < n` (0.01 % steps). @internal */
export function chance(percent: number): string {
  return `numgen random mod 10000 < ${Math.round(percent * 100)}`;
}

/**
 * The rules of one side of a link, as an nftables script creating `table`: `ownDevice` is this side's end,
 * `peerAddress` the other end's address.
 */
function impairmentScript(table: string, impairment: PacketImpairment, ownDevice: string, peerAddress: string): string {
  const test = chance(impairment.percent);
  // Dropped where it arrives: the sender's stack never learns of it and must retransmit.
  if (impairment.form === "loss") return dropOnArrivalScript(table, `iifname "${ownDevice}" ${test}`);
  const lines = [`create table ip ${table}`];
  if (impairment.form === "duplicate") {
    lines.push(`add chain ip ${table} leave { type filter hook postrouting priority 0; }`, `add rule ip ${table} leave oifname "${ownDevice}" ${test} dup to ${peerAddress} device "${ownDevice}"`);
  } else {
    lines.push(`add chain ip ${table} leave { type filter hook postrouting priority 0; }`, `add rule ip ${table} leave oifname "${ownDevice}" ${test} meta priority set 1:20`);
  }
  return `${lines.join("\n")}\n`;
}

/** An nftables script creating `table` that drops, where they arrive (prerouting), the packets `match` selects. */
function dropOnArrivalScript(table: string, match: string): string {
  return `create table ip ${table}\nadd chain ip ${table} arrive { type filter hook prerouting priority -300; }\nadd rule ip ${table} arrive ${match} drop\n`;
}

/**
 * The local ports of the sockets an `ss -Htn state <state>` listing shows on `localAddress` (lines `Recv-Q Send-Q
 * local:port peer:port`), or with `anyAddress` on any address (listening on `*` or `0.0.0.0` too), ascending, each
 * once. @internal
 */
export function openPorts(listing: string, localAddress: string, anyAddress = false): number[] {
  const ports = new Set<number>();
  for (const line of listing.split("\n")) {
    const local = line.trim().split(/\s+/)[2];
    const colon = local?.lastIndexOf(":") ?? -1;
    if (!local || colon < 0 || (local.slice(0, colon) !== localAddress && !anyAddress)) continue;
    const port = Number(local.slice(colon + 1));
    if (Number.isInteger(port) && port > 0 && port < 65_536) ports.add(port);
  }
  return [...ports].sort((a, b) => a - b);
}

/** The `/proc/net/snmp` and `/proc/net/netstat` counters in `text` (name and value lines by pairs), by prefixed name. @internal */
export function parseNetStats(text: string): Record<string, number> {
  const lines = text.trim().split("\n");
  const all: Record<string, number> = {};
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const names = lines[i]!.split(/\s+/);
    const values = lines[i + 1]!.split(/\s+/);
    const prefix = names[0]!.replace(/:$/, "");
    names.slice(1).forEach((name, j) => (all[`${prefix}${name}`] = Number(values[j + 1])));
  }
  return all;
}

/** The {@link TcpCounters} of a stack whose counters {@link parseNetStats} read, with `heldBack` packets on slow paths. @internal */
export function tcpCountersOf(all: Record<string, number>, heldBack: number): TcpCounters {
  return {
    heldBack,
    retransmitted: all.TcpRetransSegs ?? 0,
    outOfOrder: all.TcpExtTCPOFOQueue ?? 0,
    dsackSent: all.TcpExtTCPDSACKOldSent ?? 0,
    dsackReceived: all.TcpExtTCPDSACKRecv ?? 0,
    reordersSeen: (all.TcpExtTCPSACKReorder ?? 0) + (all.TcpExtTCPTSReorder ?? 0) + (all.TcpExtTCPRenoReorder ?? 0),
  };
}

/** Packets sent so far through the slow class of `device`'s reordering HTB (0 without one); `inside` as {@link ensureSlowPath}. @internal */
export async function slowPathPackets(device: string, inside: readonly string[] = []): Promise<number> {
  const args = ["-s", "class", "show", "dev", device, "classid", "1:20"];
  const text = await runIn(inside, ["tc", ...args]).catch(() => "");
  return Number(/Sent \d+ bytes (\d+) pkt/.exec(text)?.[1] ?? 0);
}

/**
 * The HTB of a reordering end: everything on the unlimited class 1:10, the packets nftables marks on the slow 1:20.
 * `inside` is the command prefix that enters the end's namespace (none: the host's). @internal
 */
export async function ensureSlowPath(device: string, inside: readonly string[] = []): Promise<void> {
  const tc = (...args: string[]) => runIn(inside, ["tc", ...args]);
  if ((await tc("qdisc", "show", "dev", device)).includes("qdisc htb 1:")) return;
  await tc("qdisc", "replace", "dev", device, "root", "handle", "1:", "htb", "default", "10", "r2q", "100000");
  await tc("class", "add", "dev", device, "parent", "1:", "classid", "1:10", "htb", "rate", "10gbit");
  // burst/cburst of one byte: no bucket to save up, so every marked packet waits its turn at the slow rate.
  await tc("class", "add", "dev", device, "parent", "1:", "classid", "1:20", "htb", "rate", `${SLOW_PATH_RATE_KBIT}kbit`, "burst", "1", "cburst", "1");
}

/**
 * The namespaces of one run: one per instance, made on demand, with its veth pair. `stop()` removes them all; an
 * instance's process must be stopped before (a process inside keeps the namespace).
 */
export class RunNetwork {
  readonly runId: string;
  readonly #links = new Map<string, InstanceLink>();
  readonly #impaired = new Set<string>();
  #stopping?: Promise<void>;

  constructor(runId: string) {
    this.runId = runId;
  }

  /** The link of instance `instanceId`, if it has one. */
  link(instanceId: string): InstanceLink | undefined {
    return this.#links.get(instanceId);
  }

  /**
   * Makes the namespace and veth pair of instance `instanceId` (once; later calls return the same link). The pair's
   * /30 is claimed by its host end's name (`tcn<index>`, created atomically), so concurrent runs never share one.
   */
  async create(instanceId: string): Promise<InstanceLink> {
    const existing = this.#links.get(instanceId);
    if (existing) return existing;
    assertNetworkNamespaces();
    const namespace = namespaceName(this.runId, instanceId);
    await run("ip", ["netns", "add", namespace]);
    try {
      const start = Math.floor(Math.random() * PAIRS);
      for (let tried = 0; tried < PAIRS; tried++) {
        const index = (start + tried) % PAIRS;
        const hostDevice = `tcn${index}`;
        const namespaceDevice = `tcn${index}p`;
        try {
          await run("ip", ["link", "add", hostDevice, "type", "veth", "peer", "name", namespaceDevice, "netns", namespace]);
        } catch (error) {
          if (/File exists/.test((error as Error).message)) continue;
          throw error;
        }
        const link: InstanceLink = { instanceId, namespace, hostDevice, hostAddress: addressOf(index, 1), namespaceDevice, namespaceAddress: addressOf(index, 2) };
        this.#links.set(instanceId, link);
        await run("ip", ["addr", "add", `${link.hostAddress}/30`, "dev", hostDevice]);
        // One segment per packet, as on a wire: a veth otherwise passes 64 KB GSO packets, and a fault would lose,
        // copy or hold back 40 segments at once (and the slow path would hold one for a second).
        await run("ip", ["link", "set", hostDevice, "gso_max_segs", "1", "up"]);
        await run("ip", ["-n", namespace, "addr", "add", `${link.namespaceAddress}/30`, "dev", namespaceDevice]);
        await run("ip", ["-n", namespace, "link", "set", namespaceDevice, "gso_max_segs", "1", "up"]);
        await run("ip", ["-n", namespace, "link", "set", "lo", "up"]);
        log("created", { ...link });
        return link;
      }
      throw new HarnessError("HARNESS_ERR_NETNS", `no free veth pair among ${PAIRS} (tcn0..tcn${PAIRS - 1} all exist)`);
    } catch (error) {
      this.#links.delete(instanceId);
      await run("ip", ["netns", "delete", namespace]).catch(() => undefined);
      throw error;
    }
  }

  /**
   * The TCP counters of instance `instanceId`'s namespace (its own stack: every connection of the instance) that
   * show what a packet fault did: retransmitted segments, segments queued out of order, D-SACKs sent (copies
   * received) and received (copies sent), reorderings detected. Read from its /proc/net/snmp and netstat.
   */
  async tcpCounters(instanceId: string): Promise<TcpCounters> {
    const link = this.#links.get(instanceId);
    if (!link) throw new HarnessError("HARNESS_ERR_INVALID_STATE", `instance ${instanceId} has no network namespace`);
    const all = parseNetStats(await runIn(namespacePrefix(link.namespace), ["cat", "/proc/net/snmp", "/proc/net/netstat"]));
    const heldBack = (await slowPathPackets(link.hostDevice)) + (await slowPathPackets(link.namespaceDevice, namespacePrefix(link.namespace)));
    return tcpCountersOf(all, heldBack);
  }

  /** The command prefix that runs a program inside instance `instanceId`'s namespace. */
  execPrefix(instanceId: string): string[] {
    const link = this.#links.get(instanceId);
    if (!link) throw new HarnessError("HARNESS_ERR_INVALID_STATE", `instance ${instanceId} has no network namespace`);
    return namespacePrefix(link.namespace);
  }

  /**
   * Applies `impairment` to both directions of instance `instanceId`'s link: the namespace end's rules in a table of
   * the namespace, the host end's in a host table. One impairment per link at a time (`HARNESS_ERR_INVALID_STATE`).
   */
  async impair(instanceId: string, impairment: PacketImpairment): Promise<void> {
    if (!(impairment.percent > 0 && impairment.percent <= 100)) throw new RangeError(`percent must be in (0, 100] (got ${impairment.percent})`);
    await this.#fault(instanceId, async (link) => {
      if (impairment.form === "reorder") {
        await ensureSlowPath(link.hostDevice);
        await ensureSlowPath(link.namespaceDevice, namespacePrefix(link.namespace));
      }
      await runIn(namespacePrefix(link.namespace), ["nft", "-f", "-"], impairmentScript(NETNS_PREFIX, impairment, link.namespaceDevice, link.hostAddress));
      await run("nft", ["-f", "-"], impairmentScript(hostTableName(this.runId, instanceId), impairment, link.hostDevice, link.namespaceAddress));
    });
  }

  /**
   * Silences the connections instance `instanceId` holds open to the host end of its pair (its Redis links: every
   * proxy it reaches is there) until {@link heal}: every packet of them is dropped where it arrives, both ways, by
   * their port on the namespace side, while connections opened later (other ports) get through. Resolves with the
   * ports silenced; rejects when the instance holds no such connection (the fault would prove nothing) or its link
   * already has a fault.
   */
  silence(instanceId: string): Promise<number[]> {
    return this.#fault(instanceId, async (link) => {
      // Connections the instance opened, not those it accepted (the fleet's, which come from the host end too).
      const inNamespace = (...args: string[]) => runIn(namespacePrefix(link.namespace), ["ss", "-Htn", ...args]);
      const listening = new Set(openPorts(await inNamespace("state", "listening"), link.namespaceAddress, true));
      const ports = openPorts(await inNamespace("state", "established", "dst", link.hostAddress), link.namespaceAddress).filter((port) => !listening.has(port));
      if (ports.length === 0) throw new HarnessError("HARNESS_ERR_INVALID_STATE", `instance ${instanceId} holds no connection to ${link.hostAddress} (its Redis proxies) to silence`);
      const set = `{ ${ports.join(", ")} }`;
      await runIn(namespacePrefix(link.namespace), ["nft", "-f", "-"], dropOnArrivalScript(NETNS_PREFIX, `iifname "${link.namespaceDevice}" ip saddr ${link.hostAddress} tcp dport ${set}`));
      await run("nft", ["-f", "-"], dropOnArrivalScript(hostTableName(this.runId, instanceId), `iifname "${link.hostDevice}" ip saddr ${link.namespaceAddress} tcp sport ${set}`));
      return ports;
    });
  }

  /**
   * Puts one fault on instance `instanceId`'s link with `apply`, which must leave it healable by {@link heal}: refused
   * outside a namespace or while the link has a fault already; healed at once when `apply` fails.
   */
  async #fault<T>(instanceId: string, apply: (link: InstanceLink) => Promise<T>): Promise<T> {
    const link = this.#links.get(instanceId);
    if (!link) throw new HarnessError("HARNESS_ERR_UNSUPPORTED", `instance ${instanceId} runs outside a network namespace; start the runtime with networkNamespaces: true (local runtime, as root)`);
    if (this.#impaired.has(instanceId)) throw new HarnessError("HARNESS_ERR_INVALID_STATE", `the link of ${instanceId} already has a packet fault; faults on one link must not overlap`);
    this.#impaired.add(instanceId);
    try {
      return await apply(link);
    } catch (error) {
      await this.heal(instanceId).catch(() => undefined);
      throw error;
    }
  }

  /**
   * Removes instance `instanceId`'s packet fault from both ends (idempotent). A reordering's slow class keeps no
   * further packets and drains by itself (its qdisc stays until the pair goes: an unlimited default class).
   */
  async heal(instanceId: string): Promise<void> {
    const link = this.#links.get(instanceId);
    if (!link) return;
    const results = await Promise.allSettled([
      runIn(namespacePrefix(link.namespace), ["nft", "delete", "table", "ip", NETNS_PREFIX]),
      run("nft", ["delete", "table", "ip", hostTableName(this.runId, instanceId)]),
    ]);
    this.#impaired.delete(instanceId);
    const failed = results.find((r) => r.status === "rejected" && !/No such file or directory/.test(String((r.reason as Error).message)));
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  /**
   * Removes every packet fault, namespace and veth pair of the run (SIGKILLing any process still inside); idempotent.
   * The kernel frees a namespace, and so its veth pair, shortly after its last user is gone.
   */
  stop(): Promise<void> {
    return (this.#stopping ??= (async () => {
      const links = [...this.#links.values()];
      const results = await Promise.allSettled(
        links.map(async (link) => {
          // The host table goes before the namespace, and the namespace stays when the table cannot go (for the exit
          // handler or a later run's sweep): network-sweep.ts lists host tables only while a namespace exists.
          await this.heal(link.instanceId).catch(async (error: unknown) => {
            const left = await run("nft", ["list", "table", "ip", hostTableName(this.runId, link.instanceId)]).then(() => true, () => false);
            if (left) throw error;
          });
          // A process still inside would keep the namespace, and its veth pair, alive after its name is gone.
          const pids = await run("ip", ["netns", "pids", link.namespace]).catch(() => "");
          for (const pid of pids.split(/\s+/).filter(Boolean)) {
            try {
              process.kill(Number(pid), "SIGKILL");
            } catch {
              // Already gone.
            }
          }
          await run("ip", ["netns", "delete", link.namespace]);
        }),
      );
      this.#links.clear();
      const errors = results.flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
      if (errors.length > 0) throw new AggregateError(errors, `removing ${errors.length} network namespace(s) failed`);
    })());
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
