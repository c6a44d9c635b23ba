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

/** Host-side nftables tables of the harness on this machine. */
export function listHarnessTables(): string[] {
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

function removeSync(namespaces: readonly string[], tables: readonly string[]): void {
  for (const table of tables) {
    try {
      execFileSync("nft", ["delete", "table", "ip", table], { timeout: COMMAND_TIMEOUT_MS, stdio: "ignore" });
    } catch {
      // Gone meanwhile.
    }
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
  removeSync(namespaces, tables);
  if (namespaces.length + tables.length > 0) log("swept", { namespaces, tables });
  return { namespaces, tables };
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
  removeSync(namespaces, tables);
  return { namespaces, tables };
}
