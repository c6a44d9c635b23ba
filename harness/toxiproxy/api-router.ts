/**
 * The HTTP side of the Toxiproxy API: route matching, request ids, the browser block, body reading and the reply
 * formats (JSON, Go's http.Error text), as the real server's router and handlers produce them.
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { ApiError } from "./api-error.js";
import { goMarshal } from "./go-json.js";

/** Largest request body read, in bytes. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** What a handler answers. */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/** A routed request: its method, the decoded `{...}` path parameters and the body text. */
export interface ApiRequest {
  readonly method: string;
  readonly params: readonly string[];
  readonly body: string;
}

/** Answers one method of one route. */
export type Handler = (request: ApiRequest) => Reply | Promise<Reply>;

interface Route {
  readonly segments: readonly string[];
  readonly methods: Readonly<Record<string, Handler>>;
}

/** A JSON reply, marshalled as Go does. */
export function json(status: number, value: unknown): Reply {
  return { status, headers: { "Content-Type": "application/json" }, body: goMarshal(value) };
}

/** The reply of an {@link ApiError}: Go's http.Error format. */
export function errorReply(error: ApiError): Reply {
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

/** Routes requests to handlers by path pattern (`/proxies/{proxy}`) and method. */
export class ApiRouter {
  readonly #routes: Route[];
  readonly #requestId = createRequestIdFactory();

  /** `routes`: path patterns, `{name}` segments being parameters, each with its handler per method. */
  constructor(routes: ReadonlyArray<readonly [string, Readonly<Record<string, Handler>>]>) {
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
