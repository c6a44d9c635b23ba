/**
 * The cleanup of network namespaces and host nftables tables (network-namespaces.ts) that teardown did not reach: the
 * start-up sweep of those whose owner died, the `exit` handler's synchronous removal of a process's own, and the
 * leftovers a test asserts are gone. Synchronous, like the process sweep (sweep.ts), so it also works in `exit`.
 */
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { createLogger } from "../common/logger.js";
import { COMMAND_TIMEOUT_MS, NETNS_DIR, NETNS_PREFIX, networkNamespacesUnavailable, ownerOf, sanitize } from "./network-namespaces.js";
import { isProcessAlive } from "./sweep.js";

const log = createLogger("harness:netns");

/** Namespaces of the harness on this machine (`/run/netns`). */
export function listHarnessNamespaces(): string[] {
  try {
    return readdirSync(NETNS_DIR).filter((name) => ownerOf(name, "-") !== undefined);
  } catch {
    return [];
  }
}

/** Whether this process has listed the host's tables yet (see {@link listHarnessTables}). */
let tablesListed = false;

/**
 * Host-side nftables tables of the harness on this machine. A host table exists only beside a namespace of the
 * harness: impair() makes it after its namespace, and heal(), stop() and the sweeps remove it before the namespace
 * (which stays when the table cannot go). So while no namespace exists, `nft` is not asked: each call blocks the
 * event loop about 12 ms and costs about 20 ms of CPU on a 2-core machine whose syscalls are slow, and a run's start,
 * its runtime's start and every test's leftover check each list the tables. The first call of a process always asks,
 * which finds tables left beside no namespace otherwise (an older harness, a namespace deleted by hand).
 */
export function listHarnessTables(): string[] {
  if (tablesListed && listHarnessNamespaces().length === 0) return [];
  tablesListed = true;
  try {
    const out = execFileSync("nft", ["list", "tables", "ip"], { encoding: "utf8", timeout: COMMAND_TIMEOUT_MS, stdio: ["ignore", "pipe", "ignore"] });
    return out
      .split("\n")
      .map((line) => line.trim().replace(/^table ip /, ""))
      .filter((name) => ownerOf(name, "_") !== undefined);
  } catch {
    return [];
  }
}

/** Removes `tables`, then `namespaces` (with any process inside); returns the namespaces it removed. */
function removeSync(namespaces: readonly string[], tables: readonly string[]): string[] {
  for (const table of tables) {
    try {
      execFileSync("nft", ["delete", "table", "ip", table], { timeout: COMMAND_TIMEOUT_MS, stdio: "ignore" });
    } catch {
      // Gone meanwhile.
    }
  }
  // Namespaces go only once their tables have (listHarnessTables relies on it); else the next sweep tries again.
  if (tables.length > 0) {
    const left = new Set(listHarnessTables());
    if (tables.some((table) => left.has(table))) return [];
  }
  for (const namespace of namespaces) {
    try {
      // Processes still inside would keep the namespace (and its veth pair) alive after the name is gone.
      const pids = execFileSync("ip", ["netns", "pids", namespace], { encoding: "utf8", timeout: COMMAND_TIMEOUT_MS, stdio: ["ignore", "pipe", "ignore"] });
      for (const pid of pids.split(/\s+/).filter(Boolean)) {
        try {
          process.kill(Number(pid), "SIGKILL");
        } catch {
          // Already gone.
        }
      }
      execFileSync("ip", ["netns", "delete", namespace], { timeout: COMMAND_TIMEOUT_MS, stdio: "ignore" });
    } catch {
      // Gone meanwhile.
    }
  }
  return [...namespaces];
}

/** The namespaces and host tables of run `runId` still on this machine, whatever their owner (both empty after teardown). */
export function findNetworkLeftovers(runId: string): { namespaces: string[]; tables: string[] } {
  const tablePart = `_${sanitize(runId)}_`;
  return {
    namespaces: listHarnessNamespaces().filter((name) => name.replace(/^[^-]+-\d+-/, "").startsWith(`${runId}-`)),
    tables: listHarnessTables().filter((name) => name.replace(/^[^_]+_\d+/, "").startsWith(tablePart)),
  };
}

/**
 * The start-up sweep: removes the namespaces (with their veth pairs, qdiscs and rules) and host tables whose owner
 * process is dead, left by a run that crashed or was SIGKILLed. Those of live owners (concurrent runs) stay.
 * Synchronous, like the process sweep. Returns what it removed.
 */
export function sweepNetworkLeftovers(): { namespaces: string[]; tables: string[] } {
  if (networkNamespacesUnavailable()) return { namespaces: [], tables: [] };
  const dead = (name: string, separator: "-" | "_") => {
    const owner = ownerOf(name, separator)!;
    return owner !== process.pid && !isProcessAlive(owner);
  };
  const namespaces = listHarnessNamespaces().filter((name) => dead(name, "-"));
  const tables = listHarnessTables().filter((name) => dead(name, "_"));
  const removed = removeSync(namespaces, tables);
  if (namespaces.length + tables.length > 0) log("swept", { namespaces: removed, tables, kept: namespaces.filter((n) => !removed.includes(n)) });
  return { namespaces: removed, tables };
}

/**
 * Last-resort cleanup in an `exit` handler: synchronously removes every namespace and host table this process owns
 * (optionally of one run). Returns what it removed.
 */
export function removeOwnedNetworkSync(runId?: string): { namespaces: string[]; tables: string[] } {
  if (networkNamespacesUnavailable()) return { namespaces: [], tables: [] };
  // The separator after the run id keeps run `r-1` from matching run `r-10`.
  const nsPrefix = `${NETNS_PREFIX}-${process.pid}-${runId !== undefined ? `${runId}-` : ""}`;
  const tablePrefix = `${NETNS_PREFIX}_${process.pid}_${runId !== undefined ? `${sanitize(runId)}_` : ""}`;
  const namespaces = listHarnessNamespaces().filter((name) => name.startsWith(nsPrefix));
  const tables = listHarnessTables().filter((name) => name.startsWith(tablePrefix));
  return { namespaces: removeSync(namespaces, tables), tables };
}
