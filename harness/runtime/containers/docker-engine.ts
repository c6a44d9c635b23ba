import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { HarnessError } from "../../errors.js";

const run = promisify(execFile);
const ENGINE_PROBE_TIMEOUT_MS = 10_000;

/** How to get an engine, in every message that says none answers. */
export const DOCKER_INSTALL_HINT = "install Docker (as root: `apt-get install -y docker.io`) and start its engine (`dockerd &`, or `systemctl start docker`), then check with `docker info`";

/**
 * Resolves with the engine's server version, or rejects with `HARNESS_ERR_DOCKER_UNAVAILABLE` when the `docker`
 * CLI is missing or no engine answers it.
 */
export async function requireDockerEngine(): Promise<string> {
  try {
    const { stdout } = await run("docker", ["version", "--format", "{{.Server.Version}}"], { timeout: ENGINE_PROBE_TIMEOUT_MS });
    const version = stdout.trim();
    if (version.length > 0) return version;
    throw new Error("empty server version");
  } catch (error) {
    const missingCli = (error as NodeJS.ErrnoException).code === "ENOENT";
    const detail = missingCli ? "the `docker` command is not installed" : `no Docker engine answers (${((error as { stderr?: string }).stderr ?? (error as Error).message).trim().split("\n")[0]})`;
    throw new HarnessError("HARNESS_ERR_DOCKER_UNAVAILABLE", `--runtime containers needs a Docker engine: ${detail}; ${DOCKER_INSTALL_HINT}`, { cause: error });
  }
}
