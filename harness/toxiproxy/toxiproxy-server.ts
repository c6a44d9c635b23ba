/**
 * The Toxiproxy-compatible server, in-process: the HTTP API plus every proxy it creates. The harness drives it
 * only through HTTP (toxiproxy-node-client), exactly as it drives the real Toxiproxy image.
 */
import { createServer, type Server } from "node:http";
import { isIP } from "node:net";
import { HarnessError } from "../errors.js";
import { resolveHost } from "./listen-address.js";
import { createSeededRandom } from "./random.js";
import { ToxiproxyApi } from "./toxiproxy-api.js";

/** Options of {@link ToxiproxyServer}. */
export interface ToxiproxyServerOptions {
  /** Address the API listens on; a hostname resolves to IPv4 first. @default "127.0.0.1" */
  host?: string;
  /** API port; 0 picks a free one (read it back from `StartedToxiproxyServer.port`). @default 8474 */
  port?: number;
  /** Serve `toxiproxy_proxy_{received,sent}_bytes_total` on GET /metrics. @default false */
  proxyMetrics?: boolean;
  /** Serve the process's runtime figures on GET /metrics. @default false */
  runtimeMetrics?: boolean;
  /** Seed of the random draws (toxicity, jitter, slicer cuts); a run with the same seed replays them. @default random */
  seed?: number;
}

/** {@link ToxiproxyServerOptions} with every default applied. */
export interface ResolvedToxiproxyServerOptions {
  readonly host: string;
  readonly port: number;
  readonly proxyMetrics: boolean;
  readonly runtimeMetrics: boolean;
  readonly seed: number;
}

/** Defaults of {@link ToxiproxyServerOptions} (the seed, when absent, is drawn at construction). */
export const DEFAULT_TOXIPROXY_SERVER_OPTIONS = Object.freeze({
  host: "127.0.0.1",
  port: 8474,
  proxyMetrics: false,
  runtimeMetrics: false,
});

/** Applies defaults and validates; throws a TypeError stating the rule that was broken. */
export function resolveToxiproxyServerOptions(options: ToxiproxyServerOptions = {}): ResolvedToxiproxyServerOptions {
  const port = options.port ?? DEFAULT_TOXIPROXY_SERVER_OPTIONS.port;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new TypeError(`ToxiproxyServer: port must be an integer in 0..65535, got ${String(options.port)}`);
  }
  const host = options.host ?? DEFAULT_TOXIPROXY_SERVER_OPTIONS.host;
  if (typeof host !== "string" || host === "") throw new TypeError("ToxiproxyServer: host must be a non-empty string");
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 32);
  if (!Number.isInteger(seed)) throw new TypeError(`ToxiproxyServer: seed must be an integer, got ${String(options.seed)}`);
  return Object.freeze({
    host,
    port,
    proxyMetrics: options.proxyMetrics ?? DEFAULT_TOXIPROXY_SERVER_OPTIONS.proxyMetrics,
    runtimeMetrics: options.runtimeMetrics ?? DEFAULT_TOXIPROXY_SERVER_OPTIONS.runtimeMetrics,
    seed,
  });
}

/** An unstarted Toxiproxy-compatible server. */
export class ToxiproxyServer {
  /** The options with defaults applied. */
  readonly options: ResolvedToxiproxyServerOptions;

  constructor(options: ToxiproxyServerOptions = {}) {
    this.options = resolveToxiproxyServerOptions(options);
  }

  /**
   * Binds the API. Rejects with `HARNESS_ERR_TOXIPROXY_LISTEN` when the address cannot be resolved or bound.
   * Each call starts an independent server.
   */
  async start(): Promise<StartedToxiproxyServer> {
    const { host, port } = this.options;
    const api = new ToxiproxyApi({
      random: createSeededRandom(this.options.seed),
      proxyMetrics: this.options.proxyMetrics,
      runtimeMetrics: this.options.runtimeMetrics,
    });
    const server = createServer({ keepAliveTimeout: 60_000, requestTimeout: 30_000 }, api.handle);
    try {
      const ip = isIP(host) === 0 ? await resolveHost(host) : host;
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen({ host: ip, port, exclusive: true }, () => {
          server.off("error", reject);
          resolve();
        });
      });
    } catch (error) {
      server.close();
      throw new HarnessError(
        "HARNESS_ERR_TOXIPROXY_LISTEN",
        `Toxiproxy API could not listen on ${host}:${port} (${(error as Error).message}); pick another --port/--host or stop what holds it`,
        { cause: error },
      );
    }
    const address = server.address();
    const boundPort = typeof address === "object" && address ? address.port : port;
    return new StartedToxiproxyServer(host, boundPort, server, api);
  }
}

/** A running server. `stop()` closes the API listener, every proxy listener and every proxied socket. */
export class StartedToxiproxyServer implements AsyncDisposable {
  /** The host the API listens on, as given in the options. */
  readonly host: string;
  /** The bound API port. */
  readonly port: number;
  /** Base URL of the API, `http://host:port`, for `new Toxiproxy(url)`. */
  readonly url: string;
  readonly #server: Server;
  readonly #api: ToxiproxyApi;
  #stopping: Promise<void> | undefined;

  /** @internal Created by {@link ToxiproxyServer.start}. */
  constructor(host: string, port: number, server: Server, api: ToxiproxyApi) {
    this.host = host;
    this.port = port;
    this.url = `http://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
    this.#server = server;
    this.#api = api;
  }

  /** Stops everything; idempotent and safe to call concurrently (later calls share the first call's promise). */
  stop(): Promise<void> {
    return (this.#stopping ??= this.#stopAll());
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  async #stopAll(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await this.#api.stopAll();
    await closed;
  }
}
