/**
 * One Toxiproxy proxy: a TCP listener that dials `upstream` for every accepted client and joins the two sockets
 * through toxic chains. Toxics live on the proxy, survive disable/enable, and are applied to live connections.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { ApiError } from "./api-error.js";
import { Connection, type DirectionCounters } from "./link.js";
import { formatHostPort, isWildcard, resolveListen, splitHostPort } from "./listen-address.js";
import type { RandomSource } from "./random.js";
import { createSharedLookup } from "./shared-lookup.js";
import { SocketReader, adoptAccepted } from "./socket-reader.js";
import type { ToxicDirection, ToxicSpec } from "./toxic-spec.js";

/** A proxy as the API serializes it (key order as the real server). */
export interface ProxyJson {
  name: string;
  listen: string;
  upstream: string;
  enabled: boolean;
  toxics: ToxicJson[];
}

/** A toxic as the API serializes it (key order as the real server). */
export interface ToxicJson {
  attributes: Record<string, number>;
  name: string;
  type: string;
  stream: string;
  toxicity: number;
}

/** Serializes a toxic with the real server's key order. */
export function toxicToJson(spec: ToxicSpec): ToxicJson {
  return { attributes: { ...spec.attributes }, name: spec.name, type: spec.type, stream: spec.stream, toxicity: spec.toxicity };
}

const BIND_ERRORS: Record<string, string> = {
  EADDRINUSE: "address already in use",
  EACCES: "permission denied",
  EADDRNOTAVAIL: "cannot assign requested address",
  EAFNOSUPPORT: "address family not supported by protocol",
};

/** A proxy of the collection. */
export class FaultProxy {
  readonly name: string;
  /** As given by the client until first started; then the bound address as Go prints it. */
  listen: string;
  /** Stored verbatim; dialled for each client. */
  upstream: string;
  /** Byte counters per direction, for /metrics. */
  readonly counters: { readonly upstream: DirectionCounters; readonly downstream: DirectionCounters } = {
    upstream: { received: 0, sent: 0 },
    downstream: { received: 0, sent: 0 },
  };
  readonly #random: RandomSource;
  readonly #toxics: Record<ToxicDirection, ToxicSpec[]> = { upstream: [], downstream: [] };
  readonly #connections = new Set<Connection>();
  /** Accepted clients whose upstream dial has not finished yet. */
  readonly #dialing = new Set<Socket>();
  #server: Server | undefined;

  constructor(name: string, listen: string, upstream: string, random: RandomSource) {
    this.name = name;
    this.listen = listen;
    this.upstream = upstream;
    this.#random = random;
  }

  /** Whether the proxy is listening. */
  get enabled(): boolean {
    return this.#server !== undefined;
  }

  /** Number of open proxied connections (dialling ones included). */
  get connectionCount(): number {
    return this.#connections.size + this.#dialing.size;
  }

  /**
   * Resolves `listen` and binds it; `listen` then holds the bound address. Throws a 500 ApiError worded as Go's
   * `listen tcp ...` errors when the address is malformed, does not resolve, or cannot be bound.
   */
  async start(): Promise<void> {
    if (this.#server) return;
    const resolved = await resolveListen(this.listen);
    const wildcard = isWildcard(resolved.ip);
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (client) => this.#accept(client));
    try {
      if (!wildcard) await listen(server, resolved.ip, resolved.port);
      else {
        // Dual-stack like Go's wildcard listener; a host without IPv6 falls back to IPv4 only.
        await listen(server, "::", resolved.port).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== "EAFNOSUPPORT" && error.code !== "EADDRNOTAVAIL") throw error;
          return listen(server, "0.0.0.0", resolved.port);
        });
      }
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "";
      const text = wildcard ? `:${resolved.port}` : resolved.text;
      throw new ApiError(`listen tcp ${text}: bind: ${BIND_ERRORS[code] ?? (error as Error).message}`, 500, { cause: error });
    }
    const address = server.address();
    if (address === null || typeof address === "string") throw new ApiError("listen tcp: no address bound", 500);
    this.#server = server;
    this.listen = wildcard ? `[::]:${address.port}` : formatHostPort(address.address, address.port);
  }

  /** Closes the listener (new connects are refused) and every live client and upstream socket. */
  stop(): void {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    server.close();
    for (const client of this.#dialing) client.destroy();
    this.#dialing.clear();
    for (const connection of this.#connections) connection.destroy();
    this.#connections.clear();
  }

  /** Upstream toxics in insertion order, then downstream toxics in insertion order. */
  toxics(): ToxicSpec[] {
    return [...this.#toxics.upstream, ...this.#toxics.downstream];
  }

  /** The toxic called `name` in either direction. */
  findToxic(name: string): ToxicSpec | undefined {
    return this.#toxics.upstream.find((t) => t.name === name) ?? this.#toxics.downstream.find((t) => t.name === name);
  }

  /** Appends a toxic to its direction's chain, on every live connection too. */
  addToxic(spec: ToxicSpec): void {
    this.#toxics[spec.direction].push(spec);
    for (const connection of this.#connections) connection.link(spec.direction).addToxic(spec);
  }

  /** Replaces the toxic of the same name (same direction) and applies it live. */
  updateToxic(spec: ToxicSpec): void {
    const list = this.#toxics[spec.direction];
    const index = list.findIndex((t) => t.name === spec.name);
    if (index < 0) return;
    list[index] = spec;
    for (const connection of this.#connections) connection.link(spec.direction).updateToxic(spec);
  }

  /** Removes a toxic from the proxy and from every live connection; held data moves on at once. */
  removeToxic(name: string): boolean {
    const spec = this.findToxic(name);
    if (!spec) return false;
    const list = this.#toxics[spec.direction];
    list.splice(list.indexOf(spec), 1);
    for (const connection of [...this.#connections]) connection.link(spec.direction).removeToxic(name);
    return true;
  }

  /** Removes every toxic (POST /reset). */
  removeAllToxics(): void {
    for (const spec of this.toxics()) this.removeToxic(spec.name);
  }

  /** The proxy as the API returns it. */
  toJSON(): ProxyJson {
    return {
      name: this.name,
      listen: this.listen,
      upstream: this.upstream,
      enabled: this.enabled,
      toxics: this.toxics().map(toxicToJson),
    };
  }

  #accept(client: Socket): void {
    client.on("error", noop);
    let target: { host: string; port: number };
    try {
      target = splitHostPort(this.upstream);
    } catch {
      client.destroy();
      return;
    }
    this.#dialing.add(client);
    const readers = { client: new SocketReader(), upstream: new SocketReader() };
    const upstream = connect({
      host: target.host || "localhost",
      port: target.port,
      allowHalfOpen: true,
      noDelay: true,
      lookup: upstreamLookup,
      onread: readers.upstream.onread,
    });
    upstream.on("error", noop);
    const failDial = (): void => {
      // The real server accepts, then closes the client at once when the upstream cannot be dialled (EOF).
      if (this.#dialing.delete(client)) client.destroy();
    };
    upstream.once("error", failDial);
    upstream.once("connect", () => {
      upstream.off("error", failDial);
      if (!this.#dialing.delete(client) || client.destroyed) {
        upstream.destroy();
        return;
      }
      // The accepted socket's connection moves to a socket that reads through a reader too; the accepted one,
      // which holds the server's count of connections, goes once the connection has closed.
      const adopted = adoptAccepted(client, readers.client, { allowHalfOpen: true });
      const connection = new Connection(
        adopted ?? client,
        upstream,
        { upstream: [...this.#toxics.upstream], downstream: [...this.#toxics.downstream] },
        this.#random,
        this.counters,
        (closed) => {
          this.#connections.delete(closed);
          if (adopted) client.destroy();
        },
        adopted ? readers : { upstream: readers.upstream },
      );
      this.#connections.add(connection);
    });
  }
}

function noop(): void {}

/** Every proxy's upstream names, looked up once at a time each (shared-lookup.ts). */
const upstreamLookup = createSharedLookup();

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once("error", onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off("error", onError);
      resolve();
    });
  });
}
