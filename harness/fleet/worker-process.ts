/**
 * The entry of a fleet worker process, forked by `ClientFleet` (see worker-entry.ts): it holds one
 * {@link FleetWorker}, talks to the parent only over IPC (fleet-ipc.ts) and exits by itself when that channel closes.
 */
import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { watchLoopStalls } from "../recorder/loop-stalls.js";
import type { ParentMessage, WorkerMessage } from "./fleet-ipc.js";
import { FleetWorker } from "./fleet-worker.js";

function runAsChildProcess(): void {
  const send = (message: WorkerMessage, callback?: () => void): void => {
    if (process.connected) process.send?.(message, undefined, {}, callback ? () => callback() : undefined);
    else callback?.();
  };
  let worker: FleetWorker | undefined;
  process.on("disconnect", () => {
    // The parent is gone (stopped us, exited or crashed): the kernel closes our sockets as we exit.
    process.exit(0);
  });
  process.on("uncaughtException", (error) => {
    send({ type: "fatal", message: error.message, ...(error.stack !== undefined ? { stack: error.stack } : {}) }, () => process.exit(1));
  });
  process.on("message", (message: ParentMessage) => {
    switch (message.type) {
      case "init":
        worker = new FleetWorker(message.worker, message.options, message.events, send);
        // Its clients answer pings here: a stall of this loop holds their pongs up (degraded-mode weighs that).
        watchLoopStalls((from, durationMs) => send({ type: "stall", from, duration_ms: durationMs }));
        send({ type: "ready", clients: worker.size });
        return;
      case "start":
        worker?.start();
        return;
      case "set_rate":
        worker?.applyMessageRate(message.perSecond, message.seq);
        return;
      case "set_targets":
        worker?.setTargets(message.targets);
        return;
      case "set_ramp_limit":
        worker?.setRampLimit(message.count);
        return;
      case "stop":
        if (worker === undefined) {
          process.exit(0);
        }
        void worker.stop(message.abrupt === true).then((stats) => send({ type: "stopped", stats }, () => process.exit(0)));
        return;
    }
  });
}

// Node names the main module by its real path: the bundle lives under node_modules, which may be a symbolic link.
if (process.send !== undefined && process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  runAsChildProcess();
}
