/**
 * Real TCP peers for exercising proxies: an echo server that records what each of its connections received, and
 * a client that records what it read and how its socket ended. Used by the tests and the benchmark.
 */
import { connect, createServer, type Server, type Socket } from "node:net";

/** What one server-side connection of {@link startEchoServer} saw. */
export interface PeerRecord {
  /** Bytes read so far. */
  readonly data: Buffer[];
  /** Total bytes read. */
  bytes: number;
  /** performance.now() of the first byte read. */
  firstDataAt?: number;
  /** The peer sent FIN. */
  ended: boolean;
  /** The socket is closed. */
  closed: boolean;
  /** Error code seen on the socket (e.g. ECONNRESET). */
  errorCode?: string;
}

/** A running echo server. */
export interface StartedEchoServer extends AsyncDisposable {
  readonly host: string;
  readonly port: number;
  /** `host:port`, usable as a proxy upstream. */
  readonly address: string;
  /** One record per accepted connection, in accept order. */
  readonly connections: PeerRecord[];
  /** Closes the listener and every connection. */
  stop(): Promise<void>;
}

/** Options of {@link startEchoServer}. */
export interface EchoServerOptions {
  /** Write back what is read. @default true */
  echo?: boolean;
  /** Bind address. @default "127.0.0.1" */
  host?: string;
}

/** Starts a TCP server on a free port of 127.0.0.1 that echoes (or only records) what each connection sends. */
export async function startEchoServer(options: EchoServerOptions = {}): Promise<StartedEchoServer> {
  const echo = options.echo ?? true;
  const host = options.host ?? "127.0.0.1";
  const sockets = new Set<Socket>();
  const connections: PeerRecord[] = [];
  const server: Server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    const record: PeerRecord = { data: [], bytes: 0, ended: false, closed: false };
    connections.push(record);
    socket.on("data", (chunk: Buffer) => {
      record.firstDataAt ??= performance.now();
      record.data.push(chunk);
      record.bytes += chunk.length;
      if (echo && !socket.write(chunk)) {
        socket.pause();
        socket.once("drain", () => socket.resume());
      }
    });
    socket.on("end", () => (record.ended = true));
    socket.on("error", (error: NodeJS.ErrnoException) => (record.errorCode ??= error.code));
    socket.on("close", () => {
      record.closed = true;
      sockets.delete(socket);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port: 0 }, () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    }));
  return { host, port, address: `${host}:${port}`, connections, stop, [Symbol.asyncDispose]: stop };
}

/** A connected TCP client that records everything it reads. */
export class RecordingClient implements AsyncDisposable {
  readonly socket: Socket;
  readonly #chunks: Buffer[] = [];
  /** Total bytes read. */
  bytes = 0;
  /** The peer sent FIN (EOF). */
  ended = false;
  /** The socket is closed. */
  closed = false;
  /** Error code seen on the socket (e.g. ECONNRESET). */
  errorCode: string | undefined;
  /** performance.now() of each chunk's arrival, with the running byte count. */
  readonly arrivals: Array<{ at: number; bytes: number }> = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => {
      this.#chunks.push(chunk);
      this.bytes += chunk.length;
      this.arrivals.push({ at: performance.now(), bytes: this.bytes });
    });
    socket.on("end", () => (this.ended = true));
    socket.on("error", (error: NodeJS.ErrnoException) => (this.errorCode ??= error.code));
    socket.on("close", () => (this.closed = true));
  }

  /** Connects to `host:port`; rejects with the socket error (e.g. ECONNREFUSED). */
  static connect(port: number, host = "127.0.0.1"): Promise<RecordingClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port, noDelay: true });
      socket.once("error", reject);
      socket.once("connect", () => {
        socket.off("error", reject);
        resolve(new RecordingClient(socket));
      });
    });
  }

  /** Everything read so far, joined. */
  get received(): Buffer {
    return Buffer.concat(this.#chunks);
  }

  /** performance.now() at which the running byte count first reached `bytes`, if it has. */
  reachedAt(bytes: number): number | undefined {
    return this.arrivals.find((arrival) => arrival.bytes >= bytes)?.at;
  }

  /** Writes and resolves once the data is handed to the kernel. */
  write(data: Buffer | string): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (error) => (error ? reject(error) : resolve())));
  }

  /** Destroys the socket. */
  async close(): Promise<void> {
    this.socket.destroy();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
