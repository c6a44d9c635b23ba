/**
 * Reads of a proxied socket into memory the proxy keeps and reuses (Node's `onread` option), instead of a new
 * 64 KB allocation, a `Buffer` and a stream 'data' event per read. Reads are most of a proxy's work: streaming
 * through it (`npm run bench -- toxiproxy`'s throughput, as a proxy process of its own) cost about 1,100 µs of the
 * proxy's CPU per MB on the stream path and about 600 µs on this one.
 *
 * A read's memory may be reused for the next read only once nothing references it any more: the chunk's consumer
 * says whether it still does (a write that the kernel did not take at once keeps it until it is flushed), and the
 * reader then reads into new memory. The memory starts small, so that the many idle connections of a client proxy
 * cost little, doubles while reads fill it (a bulk stream), and halves while they use a sixteenth of it.
 */
import { Socket, type SocketConstructorOpts } from "node:net";

/** Memory of a new reader, bytes: WebSocket frames and Redis commands mostly fit. */
const INITIAL_BYTES = 4 * 1024;
/** Largest read, bytes: four times libuv's own, so that a bulk stream pays a quarter of the reads. */
const MAX_BYTES = 256 * 1024;

/**
 * Where a reader hands each chunk read. The chunk is a view of the reader's memory; returns true while that memory
 * is still referenced after the call (queued for a write), false once the consumer is done with it (written out
 * at once, or copied).
 */
export type ChunkConsumer = (chunk: Buffer) => boolean;

/** The reads of one socket. */
export class SocketReader {
  #memory = Buffer.allocUnsafeSlow(INITIAL_BYTES);
  #consumer: ChunkConsumer | undefined;
  /** Chunks read before a consumer was attached (copies). */
  #early: Buffer[] = [];

  /** The `onread` option of the socket read through this reader. */
  readonly onread = {
    buffer: (): Buffer => this.#memory,
    // Never false, which would stop reading: pausing is the consumer's call (socket.pause()).
    callback: (bytesRead: number, memory: Uint8Array): true => {
      this.#onRead(bytesRead, memory as Buffer);
      return true;
    },
  };

  /** Starts handing chunks to `consumer`, those read so far first. */
  attach(consumer: ChunkConsumer): void {
    this.#consumer = consumer;
    const early = this.#early;
    this.#early = [];
    for (const chunk of early) consumer(chunk);
  }

  #onRead(bytesRead: number, memory: Buffer): void {
    const chunk = memory.subarray(0, bytesRead);
    const consumer = this.#consumer;
    if (consumer === undefined) {
      this.#early.push(Buffer.from(chunk));
      return;
    }
    const held = consumer(chunk);
    const size = memory.length;
    if (bytesRead === size && size < MAX_BYTES) this.#memory = Buffer.allocUnsafeSlow(size * 2);
    else if (bytesRead * 16 <= size && size > INITIAL_BYTES) this.#memory = Buffer.allocUnsafeSlow(size / 2);
    else if (held) this.#memory = Buffer.allocUnsafeSlow(size);
  }
}

/**
 * A socket on the connection of `accepted` (a socket a server accepted paused, not read yet) that reads through
 * `reader`. Node offers `onread` only to sockets it connects, so the accepted socket's handle moves to a new
 * socket; `accepted` keeps the server's count of connections and must be destroyed once the new socket has closed.
 * Undefined when this Node's sockets do not expose their handle: the caller then reads `accepted` as a stream.
 */
export function adoptAccepted(accepted: Socket, reader: SocketReader, options: { allowHalfOpen: boolean }): Socket | undefined {
  const holder = accepted as unknown as { _handle?: { readStart?: unknown; useUserBuffer?: unknown } | null };
  const handle = holder._handle;
  if (handle === undefined || handle === null || typeof handle.readStart !== "function" || typeof handle.useUserBuffer !== "function") return undefined;
  const socket = new Socket({ handle, allowHalfOpen: options.allowHalfOpen, onread: reader.onread } as SocketConstructorOpts);
  holder._handle = null;
  return socket;
}
