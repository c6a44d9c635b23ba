/**
 * The Toxiproxy v2 HTTP API over a proxy collection: routes, statuses, error bodies, headers and quirks as real
 * clients see them (see harness/toxiproxy/README.md for the deliberate deviations).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { PROXY_STRUCT, TOXIC_STRUCT, TOXIC_UPDATE_STRUCT, parsePopulateBody, type PopulateItem } from "./api-bodies.js";
import { API_ERRORS, ApiError } from "./api-error.js";
import { ApiRouter, json, type ApiRequest, type Handler, type Reply } from "./api-router.js";
import { FaultProxy, toxicToJson, type ProxyJson } from "./fault-proxy.js";
import { decodeFirstJsonValue, decodeStruct } from "./go-json.js";
import { resolveListen } from "./listen-address.js";
import { renderMetrics, type MetricsSelection } from "./metrics.js";
import type { RandomSource } from "./random.js";
import {
  TOXIC_ATTRIBUTE_STRUCTS,
  completeAttributes,
  isToxicType,
  validateAttributes,
  type ToxicDirection,
  type ToxicSpec,
} from "./toxic-spec.js";

/** The version this server reports on GET /version (the real server's latest release). */
export const TOXIPROXY_VERSION = "2.12.0";

/** Options of {@link ToxiproxyApi}. */
export interface ToxiproxyApiOptions extends MetricsSelection {
  readonly random: RandomSource;
}

/** The proxy collection and the HTTP handler that serves the Toxiproxy API over it. */
export class ToxiproxyApi {
  readonly #proxies = new Map<string, FaultProxy>();
  readonly #options: ToxiproxyApiOptions;
  readonly #router: ApiRouter;
  /** Serializes the operations that start listeners (await DNS and bind), as the real server's collection lock. */
  #lock: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(options: ToxiproxyApiOptions) {
    this.#options = options;
    const routes: Array<[string, Record<string, Handler>]> = [
      ["/reset", { POST: () => this.#reset() }],
      ["/populate", { POST: (r) => this.#populate(r) }],
      ["/proxies", { GET: () => this.#listProxies(), POST: (r) => this.#createProxy(r) }],
      [
        "/proxies/{proxy}",
        { GET: (r) => this.#getProxy(r), POST: (r) => this.#updateProxy(r), PATCH: (r) => this.#updateProxy(r), DELETE: (r) => this.#deleteProxy(r) },
      ],
      ["/proxies/{proxy}/toxics", { GET: (r) => this.#listToxics(r), POST: (r) => this.#createToxic(r) }],
      [
        "/proxies/{proxy}/toxics/{toxic}",
        { GET: (r) => this.#getToxic(r), POST: (r) => this.#updateToxic(r), PATCH: (r) => this.#updateToxic(r), DELETE: (r) => this.#deleteToxic(r) },
      ],
      ["/version", { GET: () => this.#version() }],
    ];
    if (options.proxyMetrics || options.runtimeMetrics) routes.push(["/metrics", { GET: () => this.#metrics() }]);
    this.#router = new ApiRouter(routes);
  }

  /** Node `http` request listener. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => this.#router.handle(req, res);

  /**
   * Stops every proxy (listeners and all live sockets) and refuses further lifecycle operations. Waits for an
   * operation in flight, then stops again, so that a proxy whose bind was pending is not left listening.
   */
  async stopAll(): Promise<void> {
    this.#closed = true;
    for (const proxy of this.#proxies.values()) proxy.stop();
    await this.#lock;
    for (const proxy of this.#proxies.values()) proxy.stop();
  }

  #exclusive<T>(operation: () => Promise<T>): Promise<T> {
    const guarded = (): Promise<T> => {
      if (this.#closed) return Promise.reject(new ApiError("server is shutting down", 503));
      return operation();
    };
    const run = this.#lock.then(guarded, guarded);
    this.#lock = run.catch(() => undefined);
    return run;
  }

  #proxy(name: string): FaultProxy {
    const proxy = this.#proxies.get(name);
    if (!proxy) throw API_ERRORS.proxyNotFound();
    return proxy;
  }

  #sortedProxies(): FaultProxy[] {
    return [...this.#proxies.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  #listProxies(): Reply {
    const out: Record<string, ProxyJson> = {};
    for (const proxy of this.#sortedProxies()) out[proxy.name] = proxy.toJSON();
    return json(200, out);
  }

  #createProxy(request: ApiRequest): Promise<Reply> {
    const input = { listen: "", upstream: "", name: "", enabled: true, ...decodeStruct(decodeFirstJsonValue(request.body), PROXY_STRUCT) } as {
      name: string;
      listen: string;
      upstream: string;
      enabled: boolean;
    };
    if (input.name === "") throw API_ERRORS.missingField("name");
    if (input.upstream === "") throw API_ERRORS.missingField("upstream");
    return this.#exclusive(async () => {
      if (this.#proxies.has(input.name)) throw API_ERRORS.proxyAlreadyExists();
      const proxy = new FaultProxy(input.name, input.listen, input.upstream, this.#options.random);
      if (input.enabled) await proxy.start();
      this.#proxies.set(proxy.name, proxy);
      return json(201, proxy.toJSON());
    });
  }

  #getProxy(request: ApiRequest): Reply {
    return json(200, this.#proxy(request.params[0]!).toJSON());
  }

  #updateProxy(request: ApiRequest): Promise<Reply> {
    return this.#exclusive(async () => {
      const proxy = this.#proxy(request.params[0]!);
      const input = {
        listen: proxy.listen,
        upstream: proxy.upstream,
        enabled: proxy.enabled,
        ...decodeStruct(decodeFirstJsonValue(request.body), PROXY_STRUCT),
      } as { listen: string; upstream: string; enabled: boolean };
      const resolved = await resolveListen(input.listen);
      if (resolved.text !== proxy.listen || input.upstream !== proxy.upstream) {
        proxy.stop();
        proxy.listen = input.listen;
        proxy.upstream = input.upstream;
      }
      if (input.enabled !== proxy.enabled) {
        if (input.enabled) await proxy.start();
        else proxy.stop();
      }
      return json(200, proxy.toJSON());
    });
  }

  #deleteProxy(request: ApiRequest): Promise<Reply> {
    return this.#exclusive(async () => {
      const proxy = this.#proxy(request.params[0]!);
      proxy.stop();
      this.#proxies.delete(proxy.name);
      return { status: 204 };
    });
  }

  async #populate(request: ApiRequest): Promise<Reply> {
    let items: Array<{ name: string; listen: string; upstream: string; enabled: boolean }>;
    try {
      items = parsePopulateBody(request.body);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      // The real server sends `"proxies": null` here; [] keeps clients that iterate the list working.
      return json(error.status, { error: error.message, proxies: [], status: error.status });
    }
    return this.#exclusive(async () => {
      const done: ProxyJson[] = [];
      try {
        for (const item of items) done.push(await this.#addOrReplace(item));
      } catch (error) {
        const apiError = error instanceof ApiError ? error : new ApiError(String((error as Error)?.message ?? error), 500);
        return json(apiError.status, { error: apiError.message, proxies: done, status: apiError.status });
      }
      return json(201, { proxies: done });
    });
  }

  async #addOrReplace(item: PopulateItem): Promise<ProxyJson> {
    const existing = this.#proxies.get(item.name);
    if (existing) {
      const resolved = await resolveListen(item.listen);
      if (resolved.text === existing.listen && item.upstream === existing.upstream) return existing.toJSON();
      existing.stop();
    }
    const proxy = new FaultProxy(item.name, item.listen, item.upstream, this.#options.random);
    if (item.enabled) await proxy.start();
    this.#proxies.set(proxy.name, proxy);
    return proxy.toJSON();
  }

  #listToxics(request: ApiRequest): Reply {
    return json(200, this.#proxy(request.params[0]!).toxics().map(toxicToJson));
  }

  #createToxic(request: ApiRequest): Reply {
    const proxy = this.#proxy(request.params[0]!);
    const input = decodeStruct(decodeFirstJsonValue(request.body), TOXIC_STRUCT) as {
      name?: string;
      type?: string;
      stream?: string;
      toxicity?: number;
      attributes?: Record<string, unknown>;
    };
    const stream = input.stream ?? "downstream";
    const lower = stream.toLowerCase();
    if (lower !== "upstream" && lower !== "downstream") throw API_ERRORS.invalidStream();
    const type = input.type ?? "";
    const name = input.name || `${type}_${stream}`;
    if (!isToxicType(type)) throw API_ERRORS.invalidToxicType();
    if (proxy.findToxic(name)) throw API_ERRORS.toxicAlreadyExists();
    const given = decodeStruct(input.attributes ?? {}, TOXIC_ATTRIBUTE_STRUCTS[type]) as Record<string, number>;
    const attributes = completeAttributes(type, given);
    validateAttributes(type, attributes);
    const spec: ToxicSpec = {
      name,
      type,
      stream,
      direction: lower as ToxicDirection,
      toxicity: input.toxicity ?? 1,
      attributes,
    };
    proxy.addToxic(spec);
    return json(200, toxicToJson(spec));
  }

  #getToxic(request: ApiRequest): Reply {
    const toxic = this.#proxy(request.params[0]!).findToxic(request.params[1]!);
    if (!toxic) throw API_ERRORS.toxicNotFound();
    return json(200, toxicToJson(toxic));
  }

  #updateToxic(request: ApiRequest): Reply {
    const proxy = this.#proxy(request.params[0]!);
    const current = proxy.findToxic(request.params[1]!);
    if (!current) throw API_ERRORS.toxicNotFound();
    const input = decodeStruct(decodeFirstJsonValue(request.body), TOXIC_UPDATE_STRUCT) as {
      attributes?: Record<string, unknown>;
      toxicity?: number;
    };
    const given = decodeStruct(input.attributes ?? {}, TOXIC_ATTRIBUTE_STRUCTS[current.type]) as Record<string, number>;
    const attributes = { ...current.attributes, ...given };
    validateAttributes(current.type, attributes);
    const spec: ToxicSpec = { ...current, attributes, toxicity: input.toxicity ?? current.toxicity };
    proxy.updateToxic(spec);
    return json(200, toxicToJson(spec));
  }

  #deleteToxic(request: ApiRequest): Reply {
    const proxy = this.#proxy(request.params[0]!);
    if (!proxy.removeToxic(request.params[1]!)) throw API_ERRORS.toxicNotFound();
    return { status: 204 };
  }

  #reset(): Promise<Reply> {
    return this.#exclusive(async () => {
      for (const proxy of this.#sortedProxies()) {
        if (!proxy.enabled) await proxy.start();
        proxy.removeAllToxics();
      }
      return { status: 204 };
    });
  }

  #version(): Reply {
    return {
      status: 200,
      headers: { "Content-Type": "application/json;charset=utf-8" },
      body: `{"version": "${TOXIPROXY_VERSION}"}\n`,
    };
  }

  #metrics(): Reply {
    return {
      status: 200,
      headers: { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" },
      body: renderMetrics(this.#sortedProxies(), this.#options),
    };
  }
}

