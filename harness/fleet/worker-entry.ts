/**
 * Where a fleet worker process starts from: the compiled worker when running from JavaScript, else an esbuild bundle
 * of the TypeScript sources (cached by content hash), else the sources on tsx (harness/common/child-entry.ts).
 */
import { childEntry } from "../common/child-entry.js";

/**
 * V8 flags of the workers. A small young generation keeps a worker's resident memory close to what its sockets
 * really hold (the default lets the nursery grow to tens of MB during a ramp).
 */
const WORKER_V8_FLAGS = ["--max-semi-space-size=2"];

/** Path of the worker entry and the Node flags it needs (a bundle when running from TypeScript sources, else tsx). */
export const workerEntry = childEntry(import.meta.url, "./worker-process", "fleet-worker", WORKER_V8_FLAGS);
