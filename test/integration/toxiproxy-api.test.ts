/**
 * The real server's API tests (api_test.go, section 7 of the spec) and the transport quirks of section 1, on raw
 * HTTP against the compatible server. Fixed ports of the Go tests are replaced by free ports.
 */
import { probeTcp } from "../../harness/common/tcp-probe.js";
import { describe, expect, it, onTestFinished } from "vitest";
import { findFreePort } from "../../harness/common/free-port.js";
import { ToxiproxyServer, type ToxiproxyServerOptions } from "../../harness/toxiproxy/index.js";

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed JSON body, when it is JSON. */
  body: any;
}

interface Api {
  url: string;
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply>;
}

async function useApi(options: ToxiproxyServerOptions = {}): Promise<Api> {
  const server = await new ToxiproxyServer({ port: 0, seed: 7, ...options }).start();
  onTestFinished(() => server.stop());
  return {
    url: server.url,
    async request(method, path, body, headers = {}) {
      const init: RequestInit = { method, headers };
      if (body !== undefined) init.body = typeof body === "string" ? body : JSON.stringify(body);
      const response = await fetch(`${server.url}${path}`, init);
      const text = await response.text();
      let parsed: unknown;
      try {
        parsed = text === "" ? undefined : JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      return { status: response.status, headers: response.headers, text, body: parsed };
    },
  };
}

/** Resolves true when a TCP connect to 127.0.0.1:port succeeds, false when it is refused. */
async function accepts(port: number): Promise<boolean> {
  const result = await probeTcp("127.0.0.1", port);
  if (result === "accepted" || result === "refused") return result === "accepted";
  throw new Error(`connect to 127.0.0.1:${port} neither accepted nor refused: ${result}`);
}

function portOf(listen: string): number {
  return Number(listen.slice(listen.lastIndexOf(":") + 1));
}

describe("Toxiproxy API: transport conventions", () => {
  it("should send a request id on matched routes, and none on 404/405", async () => {
    const api = await useApi();
    const version = await api.request("GET", "/version", undefined, { "User-Agent": "curl/8.0" });
    expect(version.headers.get("x-toxiproxy-request-id")).toMatch(/^[0-9a-v]{20}$/);
    const missing = await api.request("GET", "/nope");
    expect(missing.status).toBe(404);
    expect(missing.text).toBe("404 page not found\n");
    expect(missing.headers.get("x-toxiproxy-request-id")).toBeNull();
    const wrongMethod = await api.request("PUT", "/proxies");
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.text).toBe("");
    expect(wrongMethod.headers.get("x-toxiproxy-request-id")).toBeNull();
    expect((await api.request("GET", "/proxies/")).status).toBe(404);
  });

  it("should refuse browser user agents with 403 and let others pass", async () => {
    const api = await useApi();
    const chrome =
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 OPR/106.0.0.0";
    const browser = await api.request("GET", "/proxies", undefined, { "User-Agent": chrome });
    expect(browser.status).toBe(403);
    expect(browser.text).toBe("User agent not allowed\n");
    expect(browser.headers.get("x-toxiproxy-request-id")).not.toBeNull();
    expect((await api.request("GET", "/proxies", undefined, { "User-Agent": "Wget/2.1" })).status).toBe(200);
  });

  it("should answer /version exactly", async () => {
    const api = await useApi();
    const reply = await api.request("GET", "/version");
    expect(reply.status).toBe(200);
    expect(reply.headers.get("content-type")).toBe("application/json;charset=utf-8");
    expect(reply.text).toBe('{"version": "2.12.0"}\n');
  });

  it("should serve /metrics only when asked to", async () => {
    const plain = await useApi();
    expect((await plain.request("GET", "/metrics")).status).toBe(404);
    const withMetrics = await useApi({ proxyMetrics: true, runtimeMetrics: true });
    await withMetrics.request("POST", "/proxies", { name: "m", listen: "127.0.0.1:0", upstream: "localhost:1" });
    const reply = await withMetrics.request("GET", "/metrics");
    expect(reply.status).toBe(200);
    expect(reply.text).toMatch(/^toxiproxy_proxy_received_bytes_total\{direction="upstream",listener="127\.0\.0\.1:\d+",proxy="m",upstream="localhost:1"\} 0$/m);
    expect(reply.text).toMatch(/^toxiproxy_proxy_sent_bytes_total\{direction="downstream",/m);
    expect(reply.text).toMatch(/^process_resident_memory_bytes \d+$/m);
  });

  it("should decode JSON as Go does: case-insensitive keys, first value only, typed errors", async () => {
    const api = await useApi();
    const created = await api.request("POST", "/proxies", '{"NAME":"ci","Listen":"127.0.0.1:0","UPSTREAM":"localhost:1"} trailing');
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: "ci", upstream: "localhost:1", enabled: true, toxics: [] });
    expect(Object.keys(created.body)).toEqual(["name", "listen", "upstream", "enabled", "toxics"]);
    const toxic = await api.request("POST", "/proxies/ci/toxics", { Type: "latency", ATTRIBUTES: { LATENCY: 5 } });
    expect(toxic.status).toBe(200);
    expect(Object.keys(toxic.body)).toEqual(["attributes", "name", "type", "stream", "toxicity"]);
    expect(toxic.body.attributes).toEqual({ latency: 5, jitter: 0 });
    const empty = await api.request("POST", "/proxies", "");
    expect(empty).toMatchObject({ status: 400, body: { error: "bad request body: EOF", status: 400 } });
    const wrongType = await api.request("POST", "/proxies", { name: 5, upstream: "x:1" });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.error).toMatch(/^bad request body: json: cannot unmarshal number/);
    const fraction = await api.request("POST", "/proxies/ci/toxics", { name: "f", type: "latency", attributes: { latency: 1.5 } });
    expect(fraction.status).toBe(400);
    const stringNumber = await api.request("POST", "/proxies/ci/toxics", { name: "s", type: "latency", attributes: { latency: "5" } });
    expect(stringNumber.status).toBe(400);
  });
});

describe("Toxiproxy API: proxies (api_test.go)", () => {
  it("should list no proxies on a new server", async () => {
    const api = await useApi();
    expect(await api.request("GET", "/proxies")).toMatchObject({ status: 200, body: {} });
  });

  it("should require name and upstream", async () => {
    const api = await useApi();
    expect(await api.request("POST", "/proxies", { name: "", upstream: "x:1" })).toMatchObject({
      status: 400,
      body: { error: "missing required field: name", status: 400 },
    });
    expect(await api.request("POST", "/proxies", { name: "test", upstream: "" })).toMatchObject({
      status: 400,
      body: { error: "missing required field: upstream", status: 400 },
    });
  });

  it("should populate proxies in order and listen on them", async () => {
    const api = await useApi();
    const [one, two] = [await findFreePort(), await findFreePort()];
    const reply = await api.request("POST", "/populate", [
      { name: "one", listen: `localhost:${one}`, upstream: "localhost:7171" },
      { name: "two", listen: `localhost:${two}`, upstream: "localhost:7474" },
    ]);
    expect(reply.status).toBe(201);
    expect(reply.body.proxies.map((p: { name: string }) => p.name)).toEqual(["one", "two"]);
    expect(reply.body.proxies.map((p: { listen: string }) => p.listen)).toEqual([`127.0.0.1:${one}`, `127.0.0.1:${two}`]);
    expect(await accepts(one)).toBe(true);
    expect(await accepts(two)).toBe(true);
  });

  it("should populate from a raw body without enabled as enabled", async () => {
    const api = await useApi();
    const port = await findFreePort();
    const reply = await api.request("POST", "/populate", `[{"name":"test","listen":"localhost:${port}","upstream":"localhost:7171"}]`);
    expect(reply.status).toBe(201);
    expect((await api.request("GET", "/proxies/test")).body.enabled).toBe(true);
    expect(await accepts(port)).toBe(true);
  });

  it("should populate disabled proxies without listening", async () => {
    const api = await useApi();
    const [one, two] = [await findFreePort(), await findFreePort()];
    const reply = await api.request("POST", "/populate", [
      { name: "one", listen: `localhost:${one}`, upstream: "localhost:7171", enabled: false },
      { name: "two", listen: `localhost:${two}`, upstream: "localhost:7474", enabled: true },
    ]);
    expect(reply.body.proxies).toHaveLength(2);
    expect(reply.body.proxies[0]).toMatchObject({ listen: `localhost:${one}`, enabled: false });
    expect(await accepts(one)).toBe(false);
    expect(await accepts(two)).toBe(true);
  });

  it("should leave equivalent proxies untouched on populate and replace different ones", async () => {
    const api = await useApi();
    const [one, two, three] = [await findFreePort(), await findFreePort(), await findFreePort()];
    await api.request("POST", "/proxies", { name: "one", listen: `localhost:${one}`, upstream: "localhost:7171" });
    await api.request("POST", "/proxies", { name: "two", listen: `localhost:${two}`, upstream: "localhost:7474" });
    expect((await api.request("POST", "/proxies/one/toxics", { type: "latency", attributes: { latency: 10 } })).status).toBe(200);
    const reply = await api.request("POST", "/populate", [
      { name: "one", listen: `localhost:${one}`, upstream: "localhost:7171" },
      { name: "two", listen: `127.0.0.1:${three}`, upstream: "localhost:7676" },
    ]);
    expect(reply.status).toBe(201);
    expect(reply.body.proxies.map((p: { listen: string }) => p.listen)).toEqual([`127.0.0.1:${one}`, `127.0.0.1:${three}`]);
    expect(reply.body.proxies[0].toxics).toHaveLength(1);
    expect((await api.request("GET", "/proxies/one/toxics")).body).toHaveLength(1);
    expect(await accepts(one)).toBe(true);
    expect(await accepts(three)).toBe(true);
    expect(await accepts(two)).toBe(false);
  });

  it("should validate every populate item before creating any", async () => {
    const api = await useApi();
    const reply = await api.request("POST", "/populate", [
      { name: "one", listen: "127.0.0.1:0", upstream: "localhost:7171" },
      { name: "", listen: "127.0.0.1:0", upstream: "localhost:7474" },
    ]);
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual({ error: "missing required field: name at proxy 2", proxies: [], status: 400 });
    expect((await api.request("GET", "/proxies")).body).toEqual({});
  });

  it("should stop populating at the first failure and keep what was created", async () => {
    const api = await useApi();
    const reply = await api.request("POST", "/populate", [
      { name: "one", listen: "127.0.0.1:0", upstream: "localhost:7171" },
      { name: "two", listen: "local373", upstream: "localhost:7474" },
      { name: "three", listen: "127.0.0.1:0", upstream: "localhost:7575" },
    ]);
    expect(reply.status).toBe(500);
    expect(reply.body.error).toBe("listen tcp: address local373: missing port in address");
    expect(reply.body.proxies.map((p: { name: string }) => p.name)).toEqual(["one"]);
    expect(Object.keys((await api.request("GET", "/proxies")).body)).toEqual(["one"]);
  });

  it("should refuse a populate body that is not an array", async () => {
    const api = await useApi();
    const reply = await api.request("POST", "/populate", { name: "one" });
    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatch(/^bad request body: json: cannot unmarshal object into Go value of type \[\]struct/);
    expect(reply.body.proxies).toEqual([]);
  });

  it("should accept toxics on a populated proxy", async () => {
    const api = await useApi();
    await api.request("POST", "/populate", [{ name: "one", listen: "127.0.0.1:0", upstream: "localhost:7171" }]);
    expect((await api.request("POST", "/proxies/one/toxics", { type: "latency" })).status).toBe(200);
  });

  it("should resolve the listen address of a started proxy, and keep it verbatim while disabled", async () => {
    const api = await useApi();
    const port = await findFreePort();
    const created = await api.request("POST", "/proxies", { name: "mysql_master", listen: `localhost:${port}`, upstream: "localhost:20001" });
    expect(created.status).toBe(201);
    expect((await api.request("GET", "/proxies")).body).toEqual({
      mysql_master: { name: "mysql_master", listen: `127.0.0.1:${port}`, upstream: "localhost:20001", enabled: true, toxics: [] },
    });
    const other = await findFreePort();
    await api.request("POST", "/proxies", { name: "off", listen: `localhost:${other}`, upstream: "localhost:20001", enabled: false });
    expect((await api.request("GET", "/proxies/off")).body).toMatchObject({ listen: `localhost:${other}`, enabled: false });
    expect(await accepts(other)).toBe(false);
    expect((await api.request("POST", "/proxies/off", { enabled: true })).body).toMatchObject({ listen: `127.0.0.1:${other}`, enabled: true });
    expect(await accepts(other)).toBe(true);
    expect((await api.request("PATCH", "/proxies/off", { enabled: false })).body).toMatchObject({ listen: `127.0.0.1:${other}`, enabled: false });
    expect(await accepts(other)).toBe(false);
  });

  it("should resolve :0 to the real port and keep it across disable and enable", async () => {
    const api = await useApi();
    const created = await api.request("POST", "/proxies", { name: "p", listen: "localhost:0", upstream: "localhost:1" });
    const port = portOf(created.body.listen);
    expect(port).toBeGreaterThan(0);
    await api.request("POST", "/proxies/p", { enabled: false });
    const again = await api.request("POST", "/proxies/p", { enabled: true });
    expect(again.body.listen).toBe(`127.0.0.1:${port}`);
    expect(await accepts(port)).toBe(true);
    const moved = await api.request("POST", "/proxies/p", { listen: "localhost:0" });
    expect(moved.body.listen).not.toBe(`127.0.0.1:${port}`);
    expect(await accepts(portOf(moved.body.listen))).toBe(true);
  });

  it("should delete a proxy, free its port, and 404 a second delete", async () => {
    const api = await useApi();
    const port = await findFreePort();
    await api.request("POST", "/proxies", { name: "mysql_master", listen: `localhost:${port}`, upstream: "localhost:20001" });
    expect((await api.request("DELETE", "/proxies/mysql_master")).status).toBe(204);
    expect(await accepts(port)).toBe(false);
    expect((await api.request("GET", "/proxies")).body).toEqual({});
    expect(await api.request("DELETE", "/proxies/mysql_master")).toMatchObject({
      status: 404,
      body: { error: "proxy not found", status: 404 },
    });
  });

  it("should answer 500 with the bind error when the port is taken, and succeed once it is freed", async () => {
    const api = await useApi();
    const port = await findFreePort();
    await api.request("POST", "/proxies", { name: "mysql_master", listen: `localhost:${port}`, upstream: "localhost:20001" });
    const clash = await api.request("POST", "/proxies", { name: "test", listen: `localhost:${port}`, upstream: "localhost:20001" });
    expect(clash.status).toBe(500);
    expect(clash.body).toEqual({ error: `listen tcp 127.0.0.1:${port}: bind: address already in use`, status: 500 });
    expect(clash.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    await api.request("DELETE", "/proxies/mysql_master");
    expect((await api.request("POST", "/proxies", { name: "test", listen: `localhost:${port}`, upstream: "localhost:20001" })).status).toBe(201);
  });

  it("should answer 409 for a taken name, and succeed once it is deleted", async () => {
    const api = await useApi();
    await api.request("POST", "/proxies", { name: "mysql_master", listen: "localhost:0", upstream: "localhost:20001" });
    expect(await api.request("POST", "/proxies", { name: "mysql_master", listen: "localhost:0", upstream: "localhost:20001" })).toMatchObject({
      status: 409,
      body: { error: "proxy already exists", status: 409 },
    });
    await api.request("DELETE", "/proxies/mysql_master");
    expect((await api.request("POST", "/proxies", { name: "mysql_master", listen: "localhost:0", upstream: "localhost:20001" })).status).toBe(201);
  });

  it("should 404 every route of a missing proxy", async () => {
    const api = await useApi();
    for (const [method, path] of [
      ["GET", "/proxies/x"],
      ["POST", "/proxies/x"],
      ["DELETE", "/proxies/x"],
      ["GET", "/proxies/x/toxics"],
      ["POST", "/proxies/x/toxics"],
      ["GET", "/proxies/x/toxics/t"],
      ["POST", "/proxies/x/toxics/t"],
      ["DELETE", "/proxies/x/toxics/t"],
    ] as const) {
      expect(await api.request(method, path, method === "POST" ? {} : undefined), `${method} ${path}`).toMatchObject({
        status: 404,
        body: { error: "proxy not found", status: 404 },
      });
    }
  });

  it("should reset: re-enable every proxy and drop every toxic, keeping the proxies", async () => {
    const api = await useApi();
    const created = await api.request("POST", "/proxies", { name: "mysql_master", listen: "localhost:0", upstream: "localhost:20001" });
    const port = portOf(created.body.listen);
    const toxic = await api.request("POST", "/proxies/mysql_master/toxics", { type: "latency", attributes: { latency: 100, jitter: 10 } });
    expect(toxic.body.attributes).toEqual({ latency: 100, jitter: 10 });
    await api.request("POST", "/proxies/mysql_master", { enabled: false });
    const reset = await api.request("POST", "/reset", "ignored body");
    expect(reset.status).toBe(204);
    expect(reset.text).toBe("");
    expect((await api.request("GET", "/proxies/mysql_master")).body).toEqual({
      name: "mysql_master",
      listen: `127.0.0.1:${port}`,
      upstream: "localhost:20001",
      enabled: true,
      toxics: [],
    });
    expect(await accepts(port)).toBe(true);
  });
});

describe("Toxiproxy API: toxics (api_test.go)", () => {
  async function withProxy(): Promise<Api> {
    const api = await useApi();
    await api.request("POST", "/proxies", { name: "p", listen: "127.0.0.1:0", upstream: "localhost:20001" });
    return api;
  }

  it("should list no toxics on a new proxy", async () => {
    const api = await withProxy();
    expect(await api.request("GET", "/proxies/p/toxics")).toMatchObject({ status: 200, body: [] });
  });

  it("should add a named toxic and list it", async () => {
    const api = await withProxy();
    const reply = await api.request("POST", "/proxies/p/toxics", {
      name: "foobar",
      type: "latency",
      stream: "downstream",
      toxicity: 1,
      attributes: { latency: 100, jitter: 10 },
    });
    expect(reply.status).toBe(200);
    expect((await api.request("GET", "/proxies/p/toxics")).body).toEqual([
      { attributes: { latency: 100, jitter: 10 }, name: "foobar", type: "latency", stream: "downstream", toxicity: 1 },
    ]);
  });

  it("should fill absent attributes with zeros", async () => {
    const api = await withProxy();
    await api.request("POST", "/proxies/p/toxics", { name: "latency1", type: "latency", stream: "downstream" });
    await api.request("POST", "/proxies/p/toxics", { name: "latency2", type: "latency", stream: "downstream" });
    const list = (await api.request("GET", "/proxies/p/toxics")).body;
    expect(list.map((t: { name: string; stream: string }) => [t.name, t.stream])).toEqual([
      ["latency1", "downstream"],
      ["latency2", "downstream"],
    ]);
    for (const toxic of list) expect(toxic.attributes).toEqual({ latency: 0, jitter: 0 });
  });

  it("should refuse a name already used in either direction", async () => {
    const api = await withProxy();
    await api.request("POST", "/proxies/p/toxics", { name: "foobar", type: "latency", stream: "upstream" });
    const sameStream = await api.request("POST", "/proxies/p/toxics", { name: "foobar", type: "slow_close", stream: "upstream" });
    expect(sameStream).toMatchObject({ status: 409, body: { error: "toxic already exists", status: 409 } });
    const otherStream = await api.request("POST", "/proxies/p/toxics", { name: "foobar", type: "latency", stream: "downstream" });
    expect(otherStream.status).toBe(409);
    expect((await api.request("GET", "/proxies/p/toxics/foobar")).body).toMatchObject({ type: "latency", stream: "upstream" });
  });

  it("should name unnamed toxics after type and stream, as given", async () => {
    const api = await withProxy();
    expect((await api.request("POST", "/proxies/p/toxics", { type: "latency", stream: "upstream" })).body.name).toBe("latency_upstream");
    expect((await api.request("POST", "/proxies/p/toxics", { type: "latency", stream: "downstream" })).body.name).toBe("latency_downstream");
    const shouted = await api.request("POST", "/proxies/p/toxics", { type: "noop", stream: "UPSTREAM" });
    expect(shouted.body).toMatchObject({ name: "noop_UPSTREAM", stream: "UPSTREAM" });
    const list = (await api.request("GET", "/proxies/p/toxics")).body.map((t: { name: string }) => t.name);
    expect(list).toEqual(["latency_upstream", "noop_UPSTREAM", "latency_downstream"]);
  });

  it("should keep a toxicity of 0.2 as 0.2", async () => {
    const api = await withProxy();
    const reply = await api.request("POST", "/proxies/p/toxics", { type: "latency", toxicity: 0.2 });
    expect(reply.text).toContain('"toxicity":0.2}');
    expect(reply.body).toMatchObject({ name: "latency_downstream", toxicity: 0.2 });
    expect((await api.request("GET", "/proxies/p/toxics")).body[0].toxicity).toBe(0.2);
  });

  it("should default the stream to downstream and the toxicity to 1", async () => {
    const api = await withProxy();
    const reply = await api.request("POST", "/proxies/p/toxics", { name: "foobar", type: "noop" });
    expect(reply.body).toEqual({ attributes: {}, name: "foobar", type: "noop", stream: "downstream", toxicity: 1 });
  });

  it("should merge attributes on update and keep an absent toxicity", async () => {
    const api = await withProxy();
    await api.request("POST", "/proxies/p/toxics", { type: "latency", toxicity: 1, attributes: { latency: 100, jitter: 10 } });
    const first = await api.request("POST", "/proxies/p/toxics/latency_downstream", { attributes: { latency: 1000 }, toxicity: 0.5 });
    expect(first.body).toMatchObject({ attributes: { latency: 1000, jitter: 10 }, toxicity: 0.5 });
    const second = await api.request("PATCH", "/proxies/p/toxics/latency_downstream", { attributes: { latency: 500 }, name: "x", type: "noop" });
    expect(second.body).toEqual({ attributes: { latency: 500, jitter: 10 }, name: "latency_downstream", type: "latency", stream: "downstream", toxicity: 0.5 });
    expect((await api.request("GET", "/proxies/p/toxics")).body).toEqual([second.body]);
    expect((await api.request("POST", "/proxies/p/toxics/none", { attributes: {} })).status).toBe(404);
    expect((await api.request("POST", "/proxies/p/toxics/latency_downstream", "")).status).toBe(400);
  });

  it("should remove a toxic", async () => {
    const api = await withProxy();
    await api.request("POST", "/proxies/p/toxics", { type: "latency" });
    const removed = await api.request("DELETE", "/proxies/p/toxics/latency_downstream");
    expect(removed.status).toBe(204);
    expect((await api.request("GET", "/proxies/p/toxics")).body).toEqual([]);
    expect(await api.request("DELETE", "/proxies/p/toxics/latency_downstream")).toMatchObject({
      status: 404,
      body: { error: "toxic not found", status: 404 },
    });
  });

  it("should refuse a bad stream, an empty stream, and unknown types", async () => {
    const api = await withProxy();
    const invalidStream = { status: 400, body: { error: "stream was invalid, can be either upstream or downstream", status: 400 } };
    expect(await api.request("POST", "/proxies/p/toxics", { type: "latency", stream: "walrustream" })).toMatchObject(invalidStream);
    expect(await api.request("POST", "/proxies/p/toxics", { type: "latency", stream: "" })).toMatchObject(invalidStream);
    const invalidType = { status: 400, body: { error: "invalid toxic type", status: 400 } };
    expect(await api.request("POST", "/proxies/p/toxics", { type: "down" })).toMatchObject(invalidType);
    expect(await api.request("POST", "/proxies/p/toxics", {})).toMatchObject(invalidType);
  });

  const REFUSED: Array<[string, Record<string, number>]> = [
    ["bandwidth", { rate: 0 }],
    ["bandwidth", { rate: -1 }],
    ["slicer", { average_size: 0 }],
    ["slicer", { average_size: 10, size_variation: 11 }],
    ["latency", { latency: -1 }],
    ["timeout", { timeout: -5 }],
    ["limit_data", { bytes: -1 }],
  ];
  for (const [type, attributes] of REFUSED) {
    it(`should refuse ${type} ${JSON.stringify(attributes)} with a clear 400 (the real server hangs or panics)`, async () => {
      const api = await withProxy();
      const reply = await api.request("POST", "/proxies/p/toxics", { type, attributes });
      expect(reply.status).toBe(400);
      expect(reply.body.error).toMatch(new RegExp(`^invalid toxic attributes: ${type}\\.`));
      expect((await api.request("GET", "/proxies/p/toxics")).body).toEqual([]);
    });
  }

  it("should refuse an update to a hanging value and keep the old one", async () => {
    const api = await withProxy();
    await api.request("POST", "/proxies/p/toxics", { type: "bandwidth", attributes: { rate: 100 } });
    expect((await api.request("POST", "/proxies/p/toxics/bandwidth_downstream", { attributes: { rate: 0 } })).status).toBe(400);
    expect((await api.request("GET", "/proxies/p/toxics/bandwidth_downstream")).body.attributes).toEqual({ rate: 100 });
  });
});
