/**
 * A vitest setup file (vitest.config.ts, `setupFiles`): gives every test worker the harness's last-resort cleanup
 * (harness/runtime/teardown.ts, `installOwnerCleanup`). Vitest ends its fork workers with SIGTERM, and Ctrl-C sends
 * SIGINT to them; either signal's default action ends a worker without running its `exit` handlers, so what a test
 * cut short had started in process groups of its own (gateways, Redis servers, proxy servers) outlived the worker
 * until the next run's start-up sweep. Installed once per worker: with `isolate: false` the file runs before every
 * test file in the same process.
 */
import { installOwnerCleanup } from "../../harness/runtime/teardown.js";

const INSTALLED = Symbol.for("traffic-cop.worker-cleanup");
const worker = globalThis as { [INSTALLED]?: true };
if (!worker[INSTALLED]) {
  worker[INSTALLED] = true;
  installOwnerCleanup();
}
