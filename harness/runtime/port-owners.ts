import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { procStatFields } from "./sweep.js";

/** `st` of a listening socket in /proc/net/tcp (TCP_LISTEN). */
const TCP_LISTEN = "0A";

/** Inodes of the sockets listening on TCP `port` (any address, IPv4 and IPv6), from /proc/net/tcp{,6}. */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(table, "latin1");
    } catch {
      continue;
    }
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...; local_address is ADDR:PORT in hex.
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || fields[3] !== TCP_LISTEN) continue;
      const local = fields[1]!;
      if (Number.parseInt(local.slice(local.lastIndexOf(":") + 1), 16) === port && fields[9] !== "0") inodes.add(fields[9]!);
    }
  }
  return inodes;
}

/**
 * The pids of the processes whose sockets listen on TCP `port` in this network namespace (Linux `/proc`: the
 * listening sockets' inodes, then every process's open files). Empty when nothing listens, when `/proc` cannot say
 * (no `/proc`, another user's process) or when the listener closed meanwhile. Synchronous, and it reads every
 * process's fd table: for the rare port that turns out to accept, not for polling.
 */
export function listenerPids(port: number): number[] {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return [];
  const links = new Set([...inodes].map((inode) => `socket:[${inode}]`));
  const pids: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${entry}/fd/${fd}`);
      } catch {
        continue;
      }
      if (links.has(link)) {
        pids.push(Number(entry));
        break;
      }
    }
  }
  return pids;
}

/** The parent pid of `pid` from /proc (undefined when it is gone or unreadable). */
export function parentPid(pid: number): number | undefined {
  const ppid = Number(procStatFields(pid)?.[1]);
  return Number.isInteger(ppid) ? ppid : undefined;
}

/** Whether `pid` is `ancestor` or one of its descendants (by the parent chain in /proc). */
export function isDescendantOf(pid: number, ancestor: number): boolean {
  const seen = new Set<number>();
  for (let current: number | undefined = pid; current !== undefined && current > 0 && !seen.has(current); current = parentPid(current)) {
    if (current === ancestor) return true;
    seen.add(current);
  }
  return false;
}

/** The executable name of `pid` (/proc/PID/comm, at most 15 characters), or "" when it is gone or unreadable. */
export function commandName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "latin1").trim();
  } catch {
    return "";
  }
}
