/**
 * Packet faults on a gateway container's own links (`packetFaults` on the containers runtime): the same loss,
 * duplication, reordering and silenced Redis connections as the local runtime's network namespaces
 * (network-namespaces.ts), made on the links Docker gave the container. Each network the container is on is a veth
 * pair: one end (`eth0`, `eth1`) in the container's namespace, the other on the host, a port of the network's bridge.
 * A fault sits on both ends of every such pair, so it hits the container's clients and its Redis traffic alike:
 *
 * - loss: dropped on the host end, as packets arrive from the container (netdev `ingress`) and as they leave towards it
 *   (netdev `egress`). Neither sender learns of it, so both must retransmit, as on a lossy wire (a bridge forwards a
 *   frame and never hears what became of it);
 * - duplication: a copy of a random fraction of the packets leaving each end (`dup to` the same device, on its egress);
 * - reordering: a random fraction of the packets leaving each end goes through the slow class of an HTB on that end
 *   ({@link ensureSlowPath}), as in the namespaces;
 * - silenced connections: every packet of the Redis connections the container holds when the fault starts dropped on
 *   the host end both ways, by the container's local port (its outgoing connections: it accepts on its listening
 *   port only), while new connections get through.
 *
 * One segment per packet, as on a wire and as in the namespaces: {@link ContainerLinks.segment} sets `gso_max_segs 1`
 * on every device of a container that sends on these links (the gateways, the proxy container, the run's bridges, from
 * which the host's own sockets send) and flushes the container's route cache so that its open connections take it up.
 *
 * A fault outlives a restart of its instance, as it does in the local runtime's namespaces (which outlive the
 * gateway process): a restarted container is on new veth pairs in a new namespace, and so is a container joined to a
 * network again, so {@link ContainerLinks.relink} (called whenever a container's links are new) removes the rules of
 * the old devices and makes the same fault on the new ones. A silence keeps the ports it silenced: connections of a
 * new process are new connections, which get through.
 *
 * Cleanup: the rules and qdiscs inside a container go with its namespace; the host-end rules live in one nftables
 * table per faulted instance, family netdev,
 * named as the namespaces' host tables (`trafficcop_<ownerPid>_<run>_<id>`). Heal and teardown delete it, the `exit`
 * handler deletes it synchronously, and the next containers run's sweep deletes those whose owner died. An HTB on a
 * host end goes with its veth when the container goes.
 */
import { execFileSync } from "node:child_process";
import { createLogger } from "../../common/logger.js";
import { HarnessError } from "../../errors.js";
import { isProcessAlive } from "../sweep.js";
import {
  chance,
  COMMAND_TIMEOUT_MS,
  ensureSlowPath,
  hostTableName,
  NETNS_PREFIX,
  networkNamespacesUnavailable,
  onPath,
  openPorts,
  ownerOf,
  parseNetStats,
  run,
  runIn,
  sanitize,
  slowPathPackets,
  tcpCountersOf,
  type PacketImpairment,
  type TcpCounters,
} from "../network-namespaces.js";

const log = createLogger("harness:links");

/** The nftables family of the host-end tables. */
const FAMILY = "netdev";
/** Name of the table inside a container (gone with its namespace). */
const INNER_TABLE = NETNS_PREFIX;

/** One of a container's veth pairs. */
export interface ContainerLink {
  /** The container's end (`eth0`) and its address. */
  readonly device: string;
  readonly address: string;
  /** The host's end (`veth...`, a port of the network's bridge). */
  readonly hostDevice: string;
}

/**
 * Why this process cannot make packet faults on container links, or `undefined` when it can: root, `ip`, `nft`, `tc`
 * (as for the namespaces), and `nsenter` and `ss` to act inside a container's namespace.
 */
export function containerLinksUnavailable(): string | undefined {
  const namespaces = networkNamespacesUnavailable();
  if (namespaces) return namespaces;
  const missing = ["nsenter", "ss"].filter((tool) => !onPath(tool));
  return missing.length > 0 ? `packet faults on containers need ${missing.join(", ")}: apt-get install -y util-linux iproute2` : undefined;
}

/** The command prefix that runs a program in the network namespace of process `pid` (a container's main process). */
function inside(pid: number): string[] {
  return ["nsenter", "-t", String(pid), "-n"];
}

function runInside(pid: number, args: readonly string[], input?: string): Promise<string> {
  return runIn(inside(pid), args, input);
}

/** The veth pairs of the container whose main process is `pid`: its end, that end's IPv4 address, the host's end. */
export async function containerLinks(pid: number): Promise<ContainerLink[]> {
  type Address = { ifname: string; link_index?: number; addr_info?: { family: string; local: string }[] };
  const own = JSON.parse(await runInside(pid, ["ip", "-j", "address", "show"])) as Address[];
  const host = JSON.parse(await run("ip", ["-j", "link", "show"])) as { ifindex: number; ifname: string }[];
  const links: ContainerLink[] = [];
  for (const device of own) {
    const address = device.addr_info?.find((a) => a.family === "inet")?.local;
    if (device.ifname === "lo" || device.link_index === undefined || address === undefined) continue;
    const hostDevice = host.find((h) => h.ifindex === device.link_index)?.ifname;
    if (hostDevice) links.push({ device: device.ifname, address, hostDevice });
  }
  return links;
}

/** An nftables script: `table` of the netdev family with one chain per device and hook, each with `rule` (none: no chain). */
function netdevScript(table: string, chains: { device: string; hook: "ingress" | "egress"; rule: string }[]): string {
  const lines = [`create table ${FAMILY} ${table}`];
  chains.forEach(({ device, hook, rule }, i) => {
    lines.push(`add chain ${FAMILY} ${table} c${i} { type filter hook ${hook} device "${device}" priority -300; }`, `add rule ${FAMILY} ${table} c${i} ${rule}`);
  });
  return `${lines.join("\n")}\n`;
}

/** Makes a fault's rules on `links`, the links of the container whose main process is `pid`. */
type MakeFault = (pid: number, links: ContainerLink[]) => Promise<void>;

/** An instance's fault: the namespace its container-side rules are in, and how to make it on new links. */
interface ActiveFault {
  pid: number;
  make: MakeFault;
}

/** The packet faults of one run's gateway containers. */
export class ContainerLinks {
  readonly runId: string;
  /**
   * Faulted instances: the pid whose namespace holds the container-side rules, and how to make the fault on a set of
   * links (again, when the container's links are new: {@link relink}).
   */
  readonly #faulted = new Map<string, ActiveFault>();
  /** The host devices each faulted instance's slow paths are on, with its container's devices (for `heldBack`). */
  readonly #links = new Map<string, ContainerLink[]>();

  constructor(runId: string) {
    this.runId = runId;
  }

  /**
   * One segment per packet on the links of the container whose main process is `pid` (see the module comment):
   * `gso_max_segs 1` on its devices, then its route cache flushed so that connections it already holds take it up.
   */
  static async segment(pid: number): Promise<void> {
    for (const link of await containerLinks(pid)) await runInside(pid, ["ip", "link", "set", link.device, "gso_max_segs", "1"]);
    await runInside(pid, ["ip", "route", "flush", "cache"]);
  }

  /** `gso_max_segs 1` on a network's bridge (`br-<id>`), from which the host's own sockets send into the network. */
  static async segmentBridge(networkId: string): Promise<void> {
    await run("ip", ["link", "set", `br-${networkId.slice(0, 12)}`, "gso_max_segs", "1"]);
  }

  #table(instanceId: string): string {
    return hostTableName(this.runId, instanceId);
  }

  /**
   * Applies `impairment` to both directions of every link of instance `instanceId`, whose container's main process is
   * `pid`. One fault per instance at a time (`HARNESS_ERR_INVALID_STATE`).
   */
  async impair(instanceId: string, pid: number, impairment: PacketImpairment): Promise<void> {
    if (!(impairment.percent > 0 && impairment.percent <= 100)) throw new RangeError(`percent must be in (0, 100] (got ${impairment.percent})`);
    await this.#fault(instanceId, pid, async (links) => {
      await this.#impairLinks(instanceId, pid, links, impairment);
      return { result: undefined, make: (p, l) => this.#impairLinks(instanceId, p, l, impairment) };
    });
  }

  async #impairLinks(instanceId: string, pid: number, links: ContainerLink[], impairment: PacketImpairment): Promise<void> {
    const test = chance(impairment.percent);
    if (impairment.form === "loss") {
      await run("nft", ["-f", "-"], netdevScript(this.#table(instanceId), links.flatMap((l) => [
        { device: l.hostDevice, hook: "ingress" as const, rule: `${test} drop` },
        { device: l.hostDevice, hook: "egress" as const, rule: `${test} drop` },
      ])));
      return;
    }
    if (impairment.form === "reorder") {
      for (const l of links) {
        await ensureSlowPath(l.hostDevice);
        await ensureSlowPath(l.device, inside(pid));
      }
    }
    const action = (device: string) => (impairment.form === "duplicate" ? `dup to "${device}"` : "meta priority set 1:20");
    await runInside(pid, ["nft", "-f", "-"], netdevScript(INNER_TABLE, links.map((l) => ({ device: l.device, hook: "egress" as const, rule: `${test} ${action(l.device)}` }))));
    await run("nft", ["-f", "-"], netdevScript(this.#table(instanceId), links.map((l) => ({ device: l.hostDevice, hook: "egress" as const, rule: `${test} ${action(l.hostDevice)}` }))));
  }

  /**
   * Silences the connections instance `instanceId` (main process `pid`) opened, its Redis links, until {@link heal}:
   * every packet of them dropped on the host end both ways, by the container's local port, while connections opened
   * later get through. Resolves with the ports; rejects when it holds no such connection (the fault would prove nothing).
   */
  silence(instanceId: string, pid: number): Promise<number[]> {
    return this.#fault(instanceId, pid, async (links) => {
      const ss = (...args: string[]) => runInside(pid, ["ss", "-Htn", ...args]);
      const listening = new Set(openPorts(await ss("state", "listening"), "", true));
      const established = await ss("state", "established");
      const ports = [...new Set(links.flatMap((l) => openPorts(established, l.address)))].filter((port) => !listening.has(port)).sort((a, b) => a - b);
      if (ports.length === 0) throw new HarnessError("HARNESS_ERR_INVALID_STATE", `instance ${instanceId} holds no connection it opened (its Redis links) to silence`);
      await this.#silencePorts(instanceId, links, ports);
      return { result: ports, make: (_pid, l) => this.#silencePorts(instanceId, l, ports) };
    });
  }

  async #silencePorts(instanceId: string, links: ContainerLink[], ports: number[]): Promise<void> {
    const set = `{ ${ports.join(", ")} }`;
    await run("nft", ["-f", "-"], netdevScript(this.#table(instanceId), links.flatMap((l) => [
      { device: l.hostDevice, hook: "ingress" as const, rule: `ip saddr ${l.address} tcp sport ${set} drop` },
      { device: l.hostDevice, hook: "egress" as const, rule: `ip daddr ${l.address} tcp dport ${set} drop` },
    ])));
  }

  async #fault<T>(instanceId: string, pid: number, apply: (links: ContainerLink[]) => Promise<{ result: T; make: MakeFault }>): Promise<T> {
    if (this.#faulted.has(instanceId)) throw new HarnessError("HARNESS_ERR_INVALID_STATE", `the links of ${instanceId} already have a packet fault; faults on one instance must not overlap`);
    const fault: ActiveFault = { pid, make: () => Promise.resolve() };
    this.#faulted.set(instanceId, fault);
    try {
      const links = await containerLinks(pid);
      if (links.length === 0) throw new HarnessError("HARNESS_ERR_INVALID_STATE", `instance ${instanceId} (pid ${pid}) is on no network`);
      this.#links.set(instanceId, links);
      log("fault", { instance: instanceId, links });
      const { result, make } = await apply(links);
      fault.make = make;
      return result;
    } catch (error) {
      await this.heal(instanceId).catch(() => undefined);
      throw error;
    }
  }

  /**
   * Carries instance `instanceId`'s fault, if it has one, over to its container's new links (main process `pid`):
   * after a restart (a new container, a new namespace, new veth pairs) or after it joined a network again (a new
   * veth pair on that network). The old rules go, the same fault is made on every current link. A heal that comes
   * meanwhile wins: what this made is removed again.
   */
  async relink(instanceId: string, pid: number): Promise<void> {
    const old = this.#faulted.get(instanceId);
    if (!old) return;
    await this.#removeRules(instanceId, old.pid);
    if (this.#faulted.get(instanceId) !== old) return;
    const fault: ActiveFault = { pid, make: old.make };
    this.#faulted.set(instanceId, fault);
    const links = await containerLinks(pid);
    this.#links.set(instanceId, links);
    log("relink", { instance: instanceId, links });
    await fault.make(pid, links);
    if (this.#faulted.get(instanceId) !== fault) await this.#removeRules(instanceId, pid);
  }

  /**
   * The TCP counters of the container whose main process is `pid` (its own stack: every connection of the instance),
   * with the packets its last fault's slow paths held back on both ends.
   */
  async tcpCounters(instanceId: string, pid: number): Promise<TcpCounters> {
    const all = parseNetStats(await runInside(pid, ["cat", "/proc/net/snmp", "/proc/net/netstat"]));
    let heldBack = 0;
    for (const l of this.#links.get(instanceId) ?? []) heldBack += (await slowPathPackets(l.hostDevice)) + (await slowPathPackets(l.device, inside(pid)));
    return tcpCountersOf(all, heldBack);
  }

  /**
   * Removes instance `instanceId`'s packet fault from both ends (idempotent). Inside a container that has since exited
   * there is nothing left to remove. A reordering's slow classes keep no further packets and drain by themselves.
   */
  async heal(instanceId: string): Promise<void> {
    const fault = this.#faulted.get(instanceId);
    if (fault === undefined) return;
    this.#faulted.delete(instanceId);
    await this.#removeRules(instanceId, fault.pid);
  }

  /** Deletes instance `instanceId`'s rules on the host end and inside the namespace of `pid` (gone with it if it exited). */
  async #removeRules(instanceId: string, pid: number): Promise<void> {
    const gone = (error: unknown) => /No such file or directory|No such process|can't open|failed to execute|reassociate/i.test(String((error as Error).message));
    const results = await Promise.allSettled([
      runInside(pid, ["nft", "delete", "table", FAMILY, INNER_TABLE]),
      run("nft", ["delete", "table", FAMILY, this.#table(instanceId)]),
    ]);
    const failed = results.find((r) => r.status === "rejected" && !gone(r.reason));
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  /** Removes every fault of the run (idempotent). */
  async stop(): Promise<void> {
    const results = await Promise.allSettled([...this.#faulted.keys()].map((id) => this.heal(id)));
    const errors = results.flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
    if (errors.length > 0) throw new AggregateError(errors, `removing ${errors.length} packet fault(s) failed`);
  }
}

/** The host-end tables of container packet faults on this machine (netdev family), whatever their run or owner. */
export function listLinkTables(): string[] {
  if (containerLinksUnavailable()) return [];
  try {
    const out = execFileSync("nft", ["list", "tables", FAMILY], { encoding: "utf8", timeout: COMMAND_TIMEOUT_MS, stdio: ["ignore", "pipe", "ignore"] });
    return out
      .split("\n")
      .map((line) => line.trim().replace(new RegExp(`^table ${FAMILY} `), ""))
      .filter((name) => ownerOf(name, "_") !== undefined);
  } catch {
    return [];
  }
}

/** The host-end tables of run `runId` still on this machine (none after teardown). */
export function findLinkTables(runId: string): string[] {
  const part = `_${sanitize(runId)}_`;
  return listLinkTables().filter((name) => name.replace(/^[^_]+_\d+/, "").startsWith(part));
}

function deleteTablesSync(tables: readonly string[]): string[] {
  const removed: string[] = [];
  for (const table of tables) {
    try {
      execFileSync("nft", ["delete", "table", FAMILY, table], { timeout: COMMAND_TIMEOUT_MS, stdio: "ignore" });
      removed.push(table);
    } catch {
      // Gone meanwhile.
    }
  }
  return removed;
}

/** The sweep: deletes the host-end tables whose owner process is dead (a run that crashed). Returns them. */
export function sweepDeadLinkTables(): string[] {
  const dead = listLinkTables().filter((name) => {
    const owner = ownerOf(name, "_")!;
    return owner !== process.pid && !isProcessAlive(owner);
  });
  if (dead.length > 0) log("swept", { tables: dead });
  return deleteTablesSync(dead);
}

/** The `exit` handler's part: deletes this process's host-end tables of run `runId`, synchronously. */
export function removeLinkTablesSync(runId: string): string[] {
  const prefix = `${NETNS_PREFIX}_${process.pid}_${sanitize(runId)}_`;
  return deleteTablesSync(listLinkTables().filter((name) => name.startsWith(prefix)));
}
