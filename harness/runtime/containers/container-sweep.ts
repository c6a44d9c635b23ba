import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { createLogger } from "../../common/logger.js";
import { isProcessAlive } from "../sweep.js";
import { LABELS } from "./images.js";

const run = promisify(execFile);
const log = createLogger("harness:sweep");
const SYNC_TIMEOUT_MS = 20_000;

/** A container or network of some run, as its labels describe it. */
export interface LabelledObject {
  kind: "container" | "network";
  id: string;
  name: string;
  runId: string;
  ownerPid: number;
}

const format = (name: string) => `{{.ID}}\t{{.${name}}}\t{{.Label "${LABELS.runId}"}}\t{{.Label "${LABELS.ownerPid}"}}`;

function parse(kind: LabelledObject["kind"], stdout: string): LabelledObject[] {
  return stdout
    .split("\n")
    .filter((line) => line.trim().length > 0)
    .map((line) => {
      const [id = "", name = "", runId = "", owner = ""] = line.split("\t");
      return { kind, id, name, runId, ownerPid: Number(owner) };
    });
}

function filters(runId?: string): string[] {
  return ["--filter", `label=${LABELS.managed}=1`, ...(runId !== undefined ? ["--filter", `label=${LABELS.runId}=${runId}`] : [])];
}

/** Every container (any state) and network labelled by the harness, optionally of one run. */
export async function listLabelledObjects(runId?: string): Promise<LabelledObject[]> {
  const [containers, networks] = await Promise.all([
    run("docker", ["ps", "-a", "--no-trunc", ...filters(runId), "--format", format("Names")]),
    run("docker", ["network", "ls", "--no-trunc", ...filters(runId), "--format", format("Name")]),
  ]);
  return [...parse("container", containers.stdout), ...parse("network", networks.stdout)];
}

async function remove(objects: LabelledObject[]): Promise<void> {
  const containers = objects.filter((o) => o.kind === "container").map((o) => o.id);
  const networks = objects.filter((o) => o.kind === "network").map((o) => o.id);
  // Containers first: a network with endpoints cannot be removed.
  if (containers.length > 0) await run("docker", ["rm", "-f", "-v", ...containers]).catch((error: unknown) => log("rm failed", { error: String(error) }));
  if (networks.length > 0) await run("docker", ["network", "rm", ...networks]).catch((error: unknown) => log("network rm failed", { error: String(error) }));
}

/**
 * The containers half of the start-up sweep: removes every labelled container and network whose owner process
 * is gone (a harness or test worker that crashed or was SIGKILLed; Ryuk cannot run here). Objects of live owners
 * (concurrent runs) are left alone. Returns what it removed.
 */
export async function sweepDeadRunObjects(): Promise<LabelledObject[]> {
  const dead = (await listLabelledObjects()).filter((o) => o.ownerPid !== process.pid && !(Number.isInteger(o.ownerPid) && o.ownerPid > 0 && isProcessAlive(o.ownerPid)));
  if (dead.length > 0) {
    log("removing objects of dead runs", { runs: [...new Set(dead.map((o) => o.runId))], count: dead.length });
    await remove(dead);
  }
  return dead;
}

/** Removes every labelled container and network of one run (teardown's last resort). */
export async function removeRunObjects(runId: string): Promise<LabelledObject[]> {
  const objects = await listLabelledObjects(runId);
  await remove(objects);
  return objects;
}

/**
 * Synchronous variant for `process.on("exit")` (an uncaught exception, a second Ctrl-C): removes the run's
 * containers and networks with blocking `docker` calls. Never throws.
 */
export function removeRunObjectsSync(runId: string): void {
  try {
    const options = { timeout: SYNC_TIMEOUT_MS, stdio: ["ignore", "pipe", "ignore"] as ("ignore" | "pipe")[], encoding: "utf8" as const };
    const containers = execFileSync("docker", ["ps", "-aq", ...filters(runId)], options).split("\n").filter(Boolean);
    if (containers.length > 0) execFileSync("docker", ["rm", "-f", "-v", ...containers], options);
    const networks = execFileSync("docker", ["network", "ls", "-q", ...filters(runId)], options).split("\n").filter(Boolean);
    if (networks.length > 0) execFileSync("docker", ["network", "rm", ...networks], options);
  } catch {
    // The engine is gone or the objects are: the next run's sweep removes whatever is left.
  }
}
