import { readdirSync, readFileSync } from "node:fs";
import { createLogger } from "../common/logger.js";
import { OWNER_PID_ENV, RUN_ID_ENV } from "./process-tags.js";
import { sweepOrphanTempDirs } from "./temp-dirs.js";

const log = createLogger("harness:sweep");

/** A process carrying the harness's run tag in its environment. */
export interface TaggedProcess {
  pid: number;
  /** `TRAFFIC_COP_RUN_ID` of the process. */
  runId: string;
  /** `TRAFFIC_COP_OWNER_PID`: the harness (or test worker) process that spawned it. */
  ownerPid: number;
  /** Command line, for messages. */
  command: string;
}

function readTag(pid: number): TaggedProcess | undefined {
  let environ: string;
  try {
    environ = readFileSync(`/proc/${pid}/environ`, "latin1");
  } catch {
    // Another user's process, or it ended while we looked.
    return undefined;
  }
  let runId: string | undefined;
  let ownerPid: number | undefined;
  for (const entry of environ.split("\0")) {
    if (entry.startsWith(`${RUN_ID_ENV}=`)) runId = entry.slice(RUN_ID_ENV.length + 1);
    else if (entry.startsWith(`${OWNER_PID_ENV}=`)) ownerPid = Number(entry.slice(OWNER_PID_ENV.length + 1));
  }
  if (runId === undefined || ownerPid === undefined || !Number.isInteger(ownerPid)) return undefined;
  let command = "";
  try {
    command = readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0").join(" ").trim();
  } catch {
    return undefined;
  }
  // A zombie has no command line left; it holds no port and its parent reaps it.
  if (command.length === 0) return undefined;
  return { pid, runId, ownerPid, command };
}

/**
 * Every live process whose environment carries the run tag (Linux `/proc`), except this process itself.
 * Filters by run id and/or owner pid when given. Synchronous so that it also works in an `exit` handler.
 */
export function listTaggedProcesses(filter: { runId?: string; ownerPid?: number } = {}): TaggedProcess[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  const found: TaggedProcess[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const tag = readTag(pid);
    if (!tag) continue;
    if (filter.runId !== undefined && tag.runId !== filter.runId) continue;
    if (filter.ownerPid !== undefined && tag.ownerPid !== filter.ownerPid) continue;
    found.push(tag);
  }
  return found;
}

/**
 * Whether a process with this pid runs. A zombie (ended, not yet reaped by its parent) does not: it holds no port
 * and owns nothing any more, although signal 0 still reaches it until it is reaped, which on a machine whose init
 * reaps slowly can take seconds after an owner was SIGKILLed.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  return !isZombie(pid);
}

/**
 * The fields of `/proc/PID/stat` after the command name (state, ppid, ...), or undefined when the process is gone or
 * there is no `/proc`. The command name sits in parentheses and may itself hold spaces and parentheses.
 */
export function procStatFields(pid: number): string[] | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return undefined;
  }
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** Resident memory of process `pid` in bytes (`VmRSS` of `/proc/PID/status`), or undefined once it is gone. */
export function processRssBytes(pid: number): number | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "latin1");
  } catch {
    return undefined;
  }
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  return kb === undefined ? undefined : Number(kb) * 1_024;
}

/** Whether `/proc` shows `pid` as ended and unreaped (state Z or X); false where there is no `/proc`. */
function isZombie(pid: number): boolean {
  const state = procStatFields(pid)?.[0];
  return state === "Z" || state === "X";
}

function killQuietly(pid: number): boolean {
  try {
    process.kill(pid, "SIGKILL");
    return true;
  } catch {
    return false;
  }
}

/**
 * The orphan sweep run at harness start: kills every tagged process whose owner is dead (left by a harness or
 * test run that crashed or was SIGKILLed), then removes the temporary directories such a harness made for them
 * (temp-dirs.ts). Processes and directories of live owners (concurrent runs, other test workers) are left alone.
 * Returns the processes it killed.
 */
export function sweepOrphans(): TaggedProcess[] {
  const orphans = listTaggedProcesses().filter((tag) => tag.ownerPid !== process.pid && !isProcessAlive(tag.ownerPid));
  const killed = orphans.filter((tag) => killQuietly(tag.pid));
  if (killed.length > 0) log("killed orphans", { pids: killed.map((tag) => tag.pid), runs: [...new Set(killed.map((tag) => tag.runId))] });
  const dirs = sweepOrphanTempDirs(isProcessAlive);
  if (dirs.length > 0) log("removed orphan temporary directories", { dirs });
  return killed;
}

/**
 * Last-resort cleanup: synchronously SIGKILLs every tagged process this process owns (optionally of one run).
 * Safe in `process.on("exit")`, where nothing asynchronous runs any more.
 */
export function killOwnedProcessesSync(runId?: string): TaggedProcess[] {
  const owned = listTaggedProcesses({ ownerPid: process.pid, ...(runId !== undefined ? { runId } : {}) });
  return owned.filter((tag) => killQuietly(tag.pid));
}

/**
 * Like {@link killOwnedProcessesSync}, and then the processes those owned, and so on: a harness process this one
 * started (a scenario CLI under a benchmark) tags its own gateways and Redis with itself as owner, in process groups
 * of their own, and they would outlive it until the next start-up sweep. Synchronous, for signal and `exit` handlers.
 */
export function killOwnedProcessTreesSync(): TaggedProcess[] {
  const killed: TaggedProcess[] = [];
  const owners = new Set([process.pid]);
  const seen = new Set<number>();
  for (;;) {
    const next = listTaggedProcesses().filter((tag) => owners.has(tag.ownerPid) && !seen.has(tag.pid));
    if (next.length === 0) return killed;
    for (const tag of next) {
      seen.add(tag.pid);
      owners.add(tag.pid);
      if (killQuietly(tag.pid)) killed.push(tag);
    }
  }
}
