/**
 * The harness's HTTP requests to the system under test (readiness, `/metrics` scrapes, HTTP probes): undici's
 * `request` rather than `fetch`. Both keep connections alive per origin; `fetch` adds the WHATWG streams, headers and
 * abort machinery on top: about twice the CPU per request (a local keep-alive GET of 3 KB), and the largest part of
 * the harness's own CPU profile over `npm test` (64 of 296 sampled seconds, most of it readiness polls, probes and
 * scrapes of a few hundred bytes each). With `request` the test workers' CPU fell from 158 s to 150 s.
 */
import { request, type Dispatcher } from "undici";

/** What {@link httpRequest} answers: the status and the whole body as text. */
export interface HttpAnswer {
  status: number;
  text: string;
}

/** Options of {@link httpRequest}. */
export interface HttpRequestOptions {
  /** An HTTP method (`GET`, `POST`, ...). @default "GET" */
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** From sending the request to the end of its body, in ms; past it the request rejects. */
  timeoutMs: number;
}

/** Sends one request and reads its whole body; rejects on a network error or once `timeoutMs` has passed. */
export async function httpRequest(url: string, options: HttpRequestOptions): Promise<HttpAnswer> {
  const { statusCode, body } = await request(url, {
    method: (options.method ?? "GET") as Dispatcher.HttpMethod,
    ...(options.headers !== undefined ? { headers: options.headers } : {}),
    ...(options.body !== undefined ? { body: options.body } : {}),
    signal: AbortSignal.timeout(options.timeoutMs),
  });
  return { status: statusCode, text: await body.text() };
}

/** A short name of why a request failed: its error code (`ECONNREFUSED`, `UND_ERR_SOCKET`), `timeout`, else its message. */
export function requestErrorName(error: unknown): string {
  const { code, name, message, cause } = error as { code?: unknown; name?: unknown; message?: unknown; cause?: { code?: unknown } };
  if (typeof code === "string") return code;
  if (typeof cause?.code === "string") return cause.code;
  if (name === "TimeoutError") return "timeout";
  return typeof message === "string" ? message : String(error);
}
