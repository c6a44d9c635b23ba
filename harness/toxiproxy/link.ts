/**
 * One proxied connection: a client socket, an upstream socket, and two links. The upstream link reads the client
 * and writes the upstream through the upstream toxic chain; the downstream link does the reverse. A link without
 * toxics writes each chunk straight to its output socket with backpressure (no timers, no promises). Sockets are
 * read through a {@link SocketReader} where one is given (memory reused from read to read), else as streams.
 */
import type { Socket } from "node:net";
import type { SocketReader } from "./socket-reader.js";
import type { RandomSource } from "./random.js";
import type { ToxicDirection, ToxicSpec } from "./toxic-spec.js";
import type { ChunkSink, StageContext, ToxicStage } from "./toxic-stage.js";
import { createStage } from "./toxics.js";

/** Bytes held inside a link's stages above which the source socket is paused. */
const HELD_HIGH_WATER_BYTES = 16 * 1024 * 1024;
/** Bytes held below which a source paused for that reason resumes. */
const HELD_LOW_WATER_BYTES = 8 * 1024 * 1024;

/** Byte counters of one proxy and direction (for /metrics). */
export interface DirectionCounters {
  /** Bytes read from the link's source socket. */
  received: number;
  /** Bytes written to the link's output socket. */
  sent: number;
}

/** A link: one direction of a connection, with its toxic chain. */
export class Link implements StageContext {
  readonly direction: ToxicDirection;
  readonly random: RandomSource;
  readonly #connection: Connection;
  readonly #source: Socket;
  readonly #dest: Socket;
  readonly #counters: DirectionCounters;
  readonly #stages: ToxicStage[] = [];
  /** Stages removed while a timer of theirs must still fire (a triggered reset_peer). */
  readonly #retired: ToxicStage[] = [];
  readonly #sink: ChunkSink;
  #head: ChunkSink;
  #held = 0;
  #pausedForDrain = false;
  #pausedForHeld = false;
  #sourceEnded = false;
  #outputEnded = false;

  constructor(
    connection: Connection,
    direction: ToxicDirection,
    source: Socket,
    dest: Socket,
    toxics: readonly ToxicSpec[],
    random: RandomSource,
    counters: DirectionCounters,
  ) {
    this.#connection = connection;
    this.direction = direction;
    this.#source = source;
    this.#dest = dest;
    this.random = random;
    this.#counters = counters;
    this.#sink = { write: (data) => this.#writeOutput(data), end: () => this.#endOutput() };
    this.#head = this.#sink;
    for (const spec of toxics) this.addToxic(spec);
  }

  /** True once end of stream has reached the output socket. */
  get outputEnded(): boolean {
    return this.#outputEnded;
  }

  /** Feeds a chunk read from the source socket into the chain. */
  readonly onData = (data: Buffer): void => {
    if (this.#sourceEnded) return;
    this.#counters.received += data.length;
    if (this.#head === this.#sink) this.#writeOutput(data);
    else this.#head.write(data, performance.now());
  };

  /**
   * Feeds a chunk read into a {@link SocketReader}'s memory into the chain; returns true while that memory is still
   * referenced (queued: the kernel did not take it at once). Data a toxic may hold for longer gets a copy of its own
   * size instead.
   */
  readonly onRead = (chunk: Buffer): boolean => {
    if (this.#sourceEnded) return false;
    this.#counters.received += chunk.length;
    if (this.#head !== this.#sink) {
      this.#head.write(Buffer.from(chunk), performance.now());
      return false;
    }
    this.#writeOutput(chunk);
    return this.#dest.writableLength > 0;
  };

  /** The source reached EOF, failed, or was closed: the chain drains, then the output socket closes. */
  sourceEnded(): void {
    if (this.#sourceEnded) return;
    this.#sourceEnded = true;
    this.#head.end();
  }

  /** Appends a toxic at the end of the chain; it acts on data read from now on and on data still in the chain. */
  addToxic(spec: ToxicSpec): void {
    const stage = createStage(spec, this, this.#sink);
    const last = this.#stages.at(-1);
    if (last) last.next = stage;
    else this.#head = stage;
    this.#stages.push(stage);
  }

  /** Applies new attributes or toxicity to the named toxic's stage. */
  updateToxic(spec: ToxicSpec): void {
    this.#stages.find((stage) => stage.spec.name === spec.name)?.update(spec);
  }

  /** Takes the named toxic out of the chain; data it held moves on at once, in order. */
  removeToxic(name: string): void {
    const index = this.#stages.findIndex((stage) => stage.spec.name === name);
    if (index < 0) return;
    const [stage] = this.#stages.splice(index, 1) as [ToxicStage];
    const previous = index > 0 ? this.#stages[index - 1] : undefined;
    if (previous) previous.next = stage.next;
    else this.#head = stage.next;
    // Rewired first, flushed second: both are synchronous, so nothing can slip in between and reorder bytes.
    stage.remove();
    if (stage.spec.type === "reset_peer") this.#retired.push(stage);
    else stage.dispose();
  }

  /** Clears every stage timer. */
  dispose(): void {
    for (const stage of this.#stages) stage.dispose();
    for (const stage of this.#retired) stage.dispose();
  }

  hold(bytes: number): void {
    this.#held += bytes;
    if (this.#held > HELD_HIGH_WATER_BYTES && !this.#pausedForHeld) {
      this.#pausedForHeld = true;
      this.#source.pause();
    }
  }

  release(bytes: number): void {
    this.#held -= bytes;
    if (this.#pausedForHeld && this.#held < HELD_LOW_WATER_BYTES) {
      this.#pausedForHeld = false;
      if (!this.#pausedForDrain) this.#source.resume();
    }
  }

  reset(): void {
    this.#connection.reset();
  }

  #writeOutput(data: Buffer): void {
    if (this.#outputEnded || this.#dest.destroyed) return;
    this.#counters.sent += data.length;
    if (!this.#dest.write(data) && !this.#pausedForDrain) {
      this.#pausedForDrain = true;
      this.#source.pause();
      this.#dest.once("drain", this.#onDrain);
    }
  }

  readonly #onDrain = (): void => {
    this.#pausedForDrain = false;
    if (!this.#pausedForHeld) this.#source.resume();
  };

  #endOutput(): void {
    if (this.#outputEnded) return;
    this.#outputEnded = true;
    this.#connection.linkOutputEnded(this);
  }
}

/** Sockets and links of one proxied connection. */
export class Connection {
  readonly client: Socket;
  readonly upstream: Socket;
  readonly upstreamLink: Link;
  readonly downstreamLink: Link;
  readonly #onClosed: (connection: Connection) => void;
  #openSockets = 2;
  #disposed = false;

  constructor(
    client: Socket,
    upstream: Socket,
    toxics: { readonly upstream: readonly ToxicSpec[]; readonly downstream: readonly ToxicSpec[] },
    random: RandomSource,
    counters: { readonly upstream: DirectionCounters; readonly downstream: DirectionCounters },
    onClosed: (connection: Connection) => void,
    readers: { readonly client?: SocketReader; readonly upstream?: SocketReader } = {},
  ) {
    this.client = client;
    this.upstream = upstream;
    this.#onClosed = onClosed;
    this.upstreamLink = new Link(this, "upstream", client, upstream, toxics.upstream, random, counters.upstream);
    this.downstreamLink = new Link(this, "downstream", upstream, client, toxics.downstream, random, counters.downstream);
    this.#wire(client, this.upstreamLink, readers.client);
    this.#wire(upstream, this.downstreamLink, readers.upstream);
  }

  /** The link of `direction`. */
  link(direction: ToxicDirection): Link {
    return direction === "upstream" ? this.upstreamLink : this.downstreamLink;
  }

  #wire(socket: Socket, readBy: Link, reader: SocketReader | undefined): void {
    if (reader) reader.attach(readBy.onRead);
    else socket.on("data", readBy.onData);
    socket.on("end", () => readBy.sourceEnded());
    // Errors (ECONNRESET from a peer, EPIPE) end the link reading this socket; 'close' follows and does the rest.
    socket.on("error", () => readBy.sourceEnded());
    socket.on("close", () => {
      readBy.sourceEnded();
      if (--this.#openSockets === 0) this.#finish();
    });
    socket.resume();
  }

  /**
   * A link's chain delivered end of stream: close its output socket once written out, and stop reading that
   * socket in the other link. As in the real server a FIN from either side therefore closes the whole connection
   * after in-flight data has been flushed; there is no half-open state.
   */
  linkOutputEnded(link: Link): void {
    const output = link === this.upstreamLink ? this.upstream : this.client;
    endThenDestroy(output);
    (link === this.upstreamLink ? this.downstreamLink : this.upstreamLink).sourceEnded();
  }

  /** Closes both sockets at once with an ordinary close (disable, delete, server stop). */
  destroy(): void {
    this.client.destroy();
    this.upstream.destroy();
    this.#dispose();
  }

  /** Closes both sockets with a TCP RST (reset_peer). */
  reset(): void {
    for (const socket of [this.client, this.upstream]) {
      if (!socket.destroyed) socket.resetAndDestroy();
    }
    this.#dispose();
  }

  #finish(): void {
    this.#dispose();
    this.#onClosed(this);
  }

  #dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.upstreamLink.dispose();
    this.downstreamLink.dispose();
  }
}

function endThenDestroy(socket: Socket): void {
  if (socket.destroyed) return;
  if (socket.writableFinished) {
    socket.destroy();
    return;
  }
  socket.once("finish", () => socket.destroy());
  if (!socket.writableEnded) socket.end();
}
