/**
 * The Toxiproxy v2 HTTP API over a proxy collection: routes, statuses, error bodies, headers and quirks as real
 * clients see them (see harness/toxiproxy/README.md for the deliberate deviations).
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { API_ERRORS, ApiError } from "./api-error.js";
import { FaultProxy, toxicToJson, type ProxyJson } from "./fault-proxy.js";
import { decodeFirstJsonValue, decodeStruct, goMarshal, type GoStruct } from "./go-json.js";
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
} from "./toxics.js";

/** The version this server reports on GET /version (the real server's latest release). */
export const TOXIPROXY_VERSION = "2.12.0";
/** Largest request body read, in bytes. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

const PROXY_STRUCT: GoStruct = {
  typeName: "proxy.Proxy",
  fields: [
    { name: "name", kind: "string" },
    { name: "listen", kind: "string" },
    { name: "upstream", kind: "string" },
    { name: "enabled", kind: "bool" },
  ],
};
const TOXIC_STRUCT: GoStruct = {
  typeName: "toxics.ToxicWrapper",
  fields: [
    { name: "name", kind: "string" },
    { name: "type", kind: "string" },
    { name: "stream", kind: "string" },
    { name: "toxicity", kind: "float32" },
    { name: "attributes", kind: "object" },
  ],
};
const TOXIC_UPDATE_STRUCT: GoStruct = {
  typeName: "struct { Attributes interface {} \"json:\\\"attributes\\\"\"; Toxicity float32 \"json:\\\"toxicity\\\"\" }",
  fields: [
    { name: "attributes", kind: "object" },
    { name: "toxicity", kind: "float32" },
  ],
};
const POPULATE_TYPE = '[]struct { proxy.Proxy; Enabled *bool "json:\\"enabled\\"" }';

interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

interface Request {
  readonly method: string;
  readonly params: readonly string[];
  readonly body: string;
}

type Handler = (request: Request) => Reply | Promise<Reply>;

interface Route {
  readonly segments: readonly string[];
  readonly methods: Readonly<Record<string, Handler>>;
}

function json(status: number, value: unknown): Reply {
  return { status, headers: { "Content-Type": "application/json" }, body: goMarshal(value) };
}

function errorReply(error: ApiError): Reply {
  return {
    status: error.status,
    // Go's http.Error: a JSON body served as text/plain, newline-terminated.
    headers: { "Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff" },
    body: `${goMarshal({ error: error.message, status: error.status })}\n`,
  };
}

/** A 20-character xid-style request id (base32hex of time, random and a counter), as the real server sends. */
function createRequestIdFactory(): () => string {
  const machine = randomBytes(5);
  let counter = randomBytes(3).readUIntBE(0, 3);
  const alphabet = "0123456789abcdefghijklmnopqrstuv";
  return () => {
    const id = Buffer.alloc(12);
    id.writeUInt32BE(Math.floor(Date.now() / 1000) >>> 0, 0);
    machine.copy(id, 4);
    counter = (counter + 1) & 0xff_ffff;
    id.writeUIntBE(counter, 9, 3);
    let bits = 0;
    let value = 0;
    let out = "";
    for (const byte of id) {
      value = (value << 8) | byte;
      bits += 8;
      while (bits >= 5) {
        out += alphabet[(value >>> (bits - 5)) & 31];
        bits -= 5;
      }
      value &= (1 << bits) - 1;
    }
    if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
    return out;
  };
}

/** Options of {@link ToxiproxyApi}. */
export interface ToxiproxyApiOptions extends MetricsSelection {
  readonly random: RandomSource;
}

/** The proxy collection and the HTTP handler that serves the Toxiproxy API over it. */
export class ToxiproxyApi {
  readonly #proxies = new Map<string, FaultProxy>();
  readonly #options: ToxiproxyApiOptions;
  readonly #routes: Route[];
  readonly #requestId = createRequestIdFactory();
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
    this.#routes = routes.map(([path, methods]) => ({ segments: path.split("/").slice(1), methods }));
  }

  /** Node `http` request listener. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.#dispatch(req)
      .catch((error: unknown) =>
        errorReply(error instanceof ApiError ? error : new ApiError(error instanceof Error ? error.message : String(error), 500)),
      )
      .then((reply) => {
        if (res.destroyed) return;
        res.writeHead(reply.status, reply.headers);
        res.end(reply.body);
      })
      .catch(() => res.destroy());
  };

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

  async #dispatch(req: IncomingMessage): Promise<Reply> {
    const method = req.method ?? "GET";
    const path = (req.url ?? "/").split("?")[0]!;
    const parts = path.split("/").slice(1);
    let matched: Route | undefined;
    let params: string[] = [];
    for (const route of this.#routes) {
      const found = matchRoute(route.segments, parts);
      if (found) {
        matched = route;
        params = found;
        break;
      }
    }
    if (!matched) {
      req.resume();
      return {
        status: 404,
        headers: { "Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff" },
        body: "404 page not found\n",
      };
    }
    const handler = matched.methods[method];
    if (!handler) {
      req.resume();
      return { status: 405 };
    }
    const requestId = this.#requestId();
    const withId = (reply: Reply): Reply => ({ ...reply, headers: { ...reply.headers, "X-Toxiproxy-Request-Id": requestId } });
    if ((req.headers["user-agent"] ?? "").startsWith("Mozilla/")) {
      req.resume();
      return withId({ status: 403, headers: { "Content-Type": "text/plain; charset=utf-8" }, body: "User agent not allowed\n" });
    }
    try {
      const body = await readBody(req);
      return withId(await handler({ method, params, body }));
    } catch (error) {
      if (error instanceof ApiError) return withId(errorReply(error));
      throw error;
    }
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

  #createProxy(request: Request): Promise<Reply> {
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

  #getProxy(request: Request): Reply {
    return json(200, this.#proxy(request.params[0]!).toJSON());
  }

  #updateProxy(request: Request): Promise<Reply> {
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

  #deleteProxy(request: Request): Promise<Reply> {
    return this.#exclusive(async () => {
      const proxy = this.#proxy(request.params[0]!);
      proxy.stop();
      this.#proxies.delete(proxy.name);
      return { status: 204 };
    });
  }

  async #populate(request: Request): Promise<Reply> {
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

  #listToxics(request: Request): Reply {
    return json(200, this.#proxy(request.params[0]!).toxics().map(toxicToJson));
  }

  #createToxic(request: Request): Reply {
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

  #getToxic(request: Request): Reply {
    const toxic = this.#proxy(request.params[0]!).findToxic(request.params[1]!);
    if (!toxic) throw API_ERRORS.toxicNotFound();
    return json(200, toxicToJson(toxic));
  }

  #updateToxic(request: Request): Reply {
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

  #deleteToxic(request: Request): Reply {
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

/** The decoded values of the `{...}` segments when `parts` matches `segments` exactly, else undefined. */
function matchRoute(segments: readonly string[], parts: readonly string[]): string[] | undefined {
  if (segments.length !== parts.length) return undefined;
  const params: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const part = parts[i]!;
    if (segment.startsWith("{")) {
      if (part === "") return undefined;
      try {
        params.push(decodeURIComponent(part));
      } catch {
        return undefined;
      }
    } else if (segment !== part) return undefined;
  }
  return params;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new ApiError("bad request body: http: request body too large", 400));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

type PopulateItem = { name: string; listen: string; upstream: string; enabled: boolean };

/** Decodes and validates a /populate body before anything is created (Go checks every item first). */
function parsePopulateBody(body: string): PopulateItem[] {
  const value = decodeFirstJsonValue(body);
  if (value !== null && !Array.isArray(value)) {
    const kind = typeof value === "object" ? "object" : typeof value === "boolean" ? "bool" : typeof value;
    throw new ApiError(`bad request body: json: cannot unmarshal ${kind} into Go value of type ${POPULATE_TYPE}`, 400);
  }
  const items = ((value ?? []) as unknown[]).map((item) => ({
    listen: "",
    upstream: "",
    name: "",
    enabled: true,
    ...decodeStruct(item, PROXY_STRUCT),
  })) as PopulateItem[];
  items.forEach((item, index) => {
    if (item.name === "") throw API_ERRORS.missingField(`name at proxy ${index + 1}`);
    if (item.upstream === "") throw API_ERRORS.missingField(`upstream at proxy ${index + 1}`);
  });
  return items;
}
