/**
 * `end()` calls that `ws` makes on streams already ended, made cheap. When a client closes a gateway socket, ws 8.23
 * ends the socket's frame receiver when the close frame arrives, again on the TCP socket's `end` event and again on
 * its `close` event, and ends the TCP socket again on `end` after its own close reply has ended it. Node makes
 * every `end()` of a finished or destroyed Writable build an `ERR_STREAM_ALREADY_FINISHED` (or `ERR_STREAM_DESTROYED`)
 * error (its message formatted, its stack captured) and, with no callback to hand it to, drops it: three errors per
 * close. A bare `ws` server spent 120 µs of CPU per client-initiated close with them and 88 µs without (500
 * connections at a time, four interleaved rounds each), and in `npm run bench -- gateway` (its closes included) the
 * gateway spent 7% of its busy CPU time building them.
 *
 * Only a call with no arguments on a stream whose writable side has already ended and is not corked is skipped: Node's
 * own `end()` does nothing else then (no chunk to write, no callback to call, nothing to uncork). Every other call
 * goes to the `end()` the stream inherits, looked up at each call.
 */
import type { Duplex, Writable } from "node:stream";
import * as ws from "ws";

/** `end()` of a Writable; `this` is the stream. */
type End = (this: Writable, ...args: unknown[]) => Writable;

/** True for an `end()` call that would only build an error and drop it: no arguments, ended, not corked. */
function isRedundant(stream: Writable, args: readonly unknown[]): boolean {
  return args.length === 0 && stream.writableEnded && stream.writableCorked === 0;
}

/**
 * Makes `ws`'s frame receivers (the `Receiver` class ws exports, which @types/ws does not declare) skip redundant
 * `end()` calls; every other call goes to the `end()` they inherit (looked up at each call). Idempotent; does
 * nothing when this ws has no such class.
 */
export function skipRedundantReceiverEnds(): void {
  const receiver = (ws as unknown as { Receiver?: { prototype: Writable } }).Receiver;
  const prototype = receiver?.prototype;
  if (prototype === undefined || typeof prototype.end !== "function" || Object.hasOwn(prototype, "end")) return;
  const inherited = Object.getPrototypeOf(prototype) as { end: End };
  prototype.end = function (this: Writable, ...args: unknown[]): Writable {
    return isRedundant(this, args) ? this : inherited.end.apply(this, args);
  } as Writable["end"];
}

/** `end` of an upgraded socket: its prototype's `end()`, but for redundant calls. One function for every socket. */
function socketEnd(this: Writable, ...args: unknown[]): Writable {
  return isRedundant(this, args) ? this : (Object.getPrototypeOf(this) as { end: End }).end.apply(this, args);
}

/** Makes this upgraded socket skip redundant `end()` calls (ws ends it again on its `end` event). */
export function skipRedundantSocketEnd(socket: Duplex): void {
  if (typeof socket.end === "function" && !Object.hasOwn(socket, "end")) socket.end = socketEnd as Duplex["end"];
}
