import { Toxiproxy, type Proxy, type ToxicType, type ToxicDirection } from "toxiproxy-node-client";
import { HarnessError } from "../errors.js";

/**
 * The harness's only door to a Toxiproxy API (the project's compatible server, or the real one): a thin wrapper
 * of toxiproxy-node-client that normalises every failure into a {@link HarnessError} with code
 * `HARNESS_ERR_TOXIPROXY` (the client rejects with bare `ToxiproxyError`s whose message is all there is).
 */

/** A toxic to add, in Toxiproxy's terms. */
export interface ToxicSpec {
  /** Unique per proxy, e.g. `partition`. */
  name: string;
  type: ToxicType;
  /** `upstream` (client → server) or `downstream` (server → client). @default "downstream" */
  stream?: ToxicDirection;
  /** Fraction of connections affected, 0..1. @default 1 */
  toxicity?: number;
  /** Attributes of the toxic type, e.g. `{ latency: 100, jitter: 20 }`, `{ timeout: 0 }`, `{ rate: 64 }` (KB/s). */
  attributes: Record<string, number>;
}

function wrap(operation: string, error: unknown): HarnessError {
  if (error instanceof HarnessError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new HarnessError("HARNESS_ERR_TOXIPROXY", `toxiproxy ${operation} failed: ${message}`, { cause: error });
}

async function call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw wrap(operation, error);
  }
}

/** A client of one Toxiproxy API, e.g. `http://127.0.0.1:8474`. */
export class ToxiproxyFaults {
  readonly apiUrl: string;
  readonly #client: Toxiproxy;

  constructor(apiUrl: string) {
    this.apiUrl = apiUrl.replace(/\/$/, "");
    this.#client = new Toxiproxy(this.apiUrl);
  }

  /** The server's version string. */
  version(): Promise<string> {
    return call("GET /version", () => this.#client.getVersion());
  }

  /** Creates a proxy `listen` (`host:port`) → `upstream` (`host:port`). */
  async createProxy(spec: { name: string; listen: string; upstream: string }): Promise<ToxiproxyProxy> {
    const proxy = await call(`create proxy ${spec.name}`, () => this.#client.createProxy({ ...spec, enabled: true }));
    return new ToxiproxyProxy(proxy);
  }

  /** Looks a proxy up by name. */
  async proxy(name: string): Promise<ToxiproxyProxy> {
    return new ToxiproxyProxy(await call(`get proxy ${name}`, () => this.#client.get(name)));
  }

  /** Names of all proxies. */
  async proxyNames(): Promise<string[]> {
    return Object.keys(await call("list proxies", () => this.#client.getAll()));
  }

  /** Enables every proxy and removes every toxic. */
  reset(): Promise<void> {
    return call("reset", () => this.#client.reset());
  }
}

/** One proxy. */
export class ToxiproxyProxy {
  readonly name: string;
  readonly listen: string;
  readonly upstream: string;
  readonly #proxy: Proxy;

  constructor(proxy: Proxy) {
    this.#proxy = proxy;
    this.name = proxy.name;
    this.listen = proxy.listen;
    this.upstream = proxy.upstream;
  }

  /** The listen port. */
  get port(): number {
    return Number(this.listen.slice(this.listen.lastIndexOf(":") + 1));
  }

  /** Enables or disables the proxy; disabling closes every connection through it and refuses new ones. */
  async setEnabled(enabled: boolean): Promise<void> {
    await call(`${enabled ? "enable" : "disable"} proxy ${this.name}`, () => this.#proxy.update({ enabled, listen: this.listen, upstream: this.upstream }));
  }

  /** Adds a toxic. */
  async addToxic(spec: ToxicSpec): Promise<void> {
    await call(`add toxic ${spec.name} (${spec.type}) to ${this.name}`, () =>
      this.#proxy.addToxic({ name: spec.name, type: spec.type, stream: spec.stream ?? "downstream", toxicity: spec.toxicity ?? 1, attributes: spec.attributes }),
    );
  }

  /** Removes a toxic by name. */
  async removeToxic(name: string): Promise<void> {
    await call(`remove toxic ${name} from ${this.name}`, async () => {
      const toxic = await this.#proxy.getToxic(name);
      await toxic.remove();
    });
  }

  /** Deletes the proxy (its listener closes). */
  async remove(): Promise<void> {
    await call(`remove proxy ${this.name}`, () => this.#proxy.remove());
  }
}
