/**
 * Process checks for tests. Whether a process is alive is asked of `isProcessAlive` (harness/runtime/sweep.ts): an
 * EPERM answer means the process exists, ESRCH or a zombie (ended, not yet reaped) that it is gone.
 */
import { readFile } from "node:fs/promises";

export { isProcessAlive } from "../../harness/runtime/sweep.js";

/** The environment of a live process, from /proc. */
export async function environOf(pid: number): Promise<Record<string, string>> {
  const raw = await readFile(`/proc/${pid}/environ`, "utf8");
  return Object.fromEntries(raw.split("\0").filter(Boolean).map((entry) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]));
}
