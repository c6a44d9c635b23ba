/**
 * `npm run gateway`: one gateway instance configured by environment variables (docs/protocol.md). Prints one JSON
 * line with `"event":"listening"`; SIGTERM drains and exits 0; a bad configuration exits 2 with a message.
 */
import { createFailpoints } from "./failpoints.js";
import { gatewayOptionsFromEnv, type ResolvedGatewayOptions } from "./gateway-options.js";
import { GatewayServer } from "./gateway-server.js";

const EXIT_CONFIG = 2;
const EXIT_FAILURE = 1;

function fail(code: number, message: string): never {
  process.stderr.write(`traffic-cop gateway: ${message}\n`);
  process.exit(code);
}

let options: ResolvedGatewayOptions;
try {
  options = gatewayOptionsFromEnv(process.env);
} catch (error) {
  fail(EXIT_CONFIG, `invalid configuration: ${(error as Error).message}`);
}

// The negative-control policy is built here, once, from TRAFFIC_COP_DEFECTS (validated with the other options).
const gateway = new GatewayServer(options, undefined, createFailpoints(options.defects));
/** Once listening: the signals drain or stop the gateway, and an uncaught exception is reported as a line. */
function serve(): void {
  let exiting = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (exiting) return;
    exiting = true;
    const work = signal === "SIGTERM" ? gateway.drain() : gateway.stop();
    work.then(
      () => process.exit(0),
      (error: unknown) => fail(EXIT_FAILURE, `shutdown after ${signal} failed: ${(error as Error).message}`),
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("uncaughtException", (error) => {
    process.stdout.write(`${JSON.stringify({ event: "uncaught_exception", message: error.message, stack: error.stack })}\n`);
    process.exit(EXIT_FAILURE);
  });
}

// No top-level await: the harness runs this module as a classic script too (harness/common/bundle.ts), whose
// compiled code V8 can cache between starts. Until the start ends, signals and errors keep Node's defaults.
gateway.start().then(
  () => {
    process.stdout.write(
      `${JSON.stringify({
        event: "listening",
        port: gateway.port,
        host: options.host,
        instance_id: gateway.instanceId,
        registry: options.registry,
        ready: gateway.ready,
        defects: [...options.defects],
        // The instance's own wall clock: shows a skewed host (the registry judges expiry on Redis's clock instead).
        time: Date.now(),
      })}\n`,
    );
    serve();
  },
  (error: unknown) => fail(EXIT_FAILURE, `could not start on ${options.host}:${options.port}: ${(error as Error).message}`),
);
