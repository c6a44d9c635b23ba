/**
 * Toxics applied to open connections, proxy lifecycle (disable, delete, update, reset) and server stop, through
 * toxiproxy-node-client and a real TCP echo upstream (proxy_test.go, link_test.go, toxics/timeout_test.go).
 */
import { probeTcp } from "../../harness/common/tcp-probe.js";
import { Toxiproxy, type Proxy } from "toxiproxy-node-client";
import { describe, expect, it, onTestFinished } from "vitest";
import { ToxiproxyServer, type StartedToxiproxyServer } from "../../harness/toxiproxy/index.js";
import { RecordingClient, startEchoServer, type StartedEchoServer } from "../../harness/toxiproxy/tcp-peers.js";

const POLL = { timeout: 5_000, interval: 2 } as const;
const CYCLES = 100;

interface Setup {
  server: StartedToxiproxyServer;
  toxiproxy: Toxiproxy;
  echo: StartedEchoServer;
  proxy: Proxy;
  port: number;
  client(): Promise<RecordingClient>;
}

async function setup(): Promise<Setup> {
  const server = await new ToxiproxyServer({ port: 0, seed: 3 }).start();
  onTestFinished(() => server.stop());
  const echo = await startEchoServer();
  onTestFinished(() => echo.stop());
  const toxiproxy = new Toxiproxy(server.url);
  const proxy = await toxiproxy.createProxy({ name: "live", listen: "127.0.0.1:0", upstream: echo.address });
  const port = Number(proxy.listen.split(":")[1]);
  return {
    server,
    toxiproxy,
    echo,
    proxy,
    port,
    async client() {
      const client = await RecordingClient.connect(port);
      onTestFinished(() => client.close());
      return client;
    },
  };
}

async function refused(port: number): Promise<boolean> {
  return (await probeTcp("127.0.0.1", port)) === "refused";
}

describe("toxics on live connections", () => {
  it("should apply a latency toxic added to an open connection", async () => {
    const { proxy, client } = await setup();
    const c = await client();
    await c.write("before");
    await expect.poll(() => c.bytes, POLL).toBe(6);
    await proxy.addToxic({ type: "latency", attributes: { latency: 300 } } as never);
    const sentAt = performance.now();
    await c.write("during");
    await expect.poll(() => c.bytes, POLL).toBe(12);
    expect(c.reachedAt(12)! - sentAt).toBeGreaterThanOrEqual(295);
    expect(c.received.toString()).toBe("beforeduring");
  });

  it("should release data waiting in a latency toxic at once when it is removed", async () => {
    const { proxy, client, echo } = await setup();
    const c = await client();
    const toxic = await proxy.addToxic({ type: "latency", attributes: { latency: 10_000 } } as never);
    const sentAt = performance.now();
    await c.write("waiting");
    await expect.poll(() => echo.connections[0]?.bytes, POLL).toBe(7);
    expect(c.bytes).toBe(0);
    await toxic.remove();
    await expect.poll(() => c.received.toString(), POLL).toBe("waiting");
    expect(performance.now() - sentAt).toBeLessThan(2_000);
  });

  it(`should lose and reorder no byte over ${CYCLES} add/remove cycles while echoing`, async () => {
    const { proxy, client } = await setup();
    const c = await client();
    let sent = 0;
    let writing = true;
    const chunks: Buffer[] = [];
    const writer = (async () => {
      let sequence = 0;
      while (writing) {
        const chunk = Buffer.from(`${String(sequence++).padStart(8, "0")};`.repeat(8));
        chunks.push(chunk);
        sent += chunk.length;
        await c.write(chunk);
        // Let the proxy interleave writes with API calls rather than batching everything at the end.
        if (sequence % 4 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      }
    })();
    const kinds = [
      { type: "latency", attributes: { latency: 2, jitter: 1 } },
      { type: "slicer", attributes: { average_size: 7, size_variation: 3, delay: 10 } },
      { type: "bandwidth", attributes: { rate: 10_000 } },
      { type: "noop", attributes: {} },
      { type: "slow_close", attributes: { delay: 100 } },
    ];
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const kind = kinds[cycle % kinds.length]!;
      const stream = cycle % 2 === 0 ? "upstream" : "downstream";
      const toxic = await proxy.addToxic({ ...kind, stream, name: `t${cycle}` } as never);
      if (cycle % 3 === 0) await toxic.update({ attributes: kind.attributes } as never);
      await toxic.remove();
    }
    writing = false;
    await writer;
    await expect.poll(() => c.bytes, { timeout: 10_000, interval: 5 }).toBe(sent);
    expect(c.received.equals(Buffer.concat(chunks))).toBe(true);
    expect(c.ended).toBe(false);
  });

  it("should not hang when a latency toxic ahead of a timeout 0 toxic is removed", async () => {
    const { proxy, client } = await setup();
    const c = await client();
    await proxy.addToxic({ type: "latency", stream: "upstream", attributes: { latency: 10 } } as never);
    await proxy.addToxic({ type: "timeout", stream: "upstream", attributes: { timeout: 0 } } as never);
    for (let i = 0; i < 5; i++) await c.write(`write ${i}`);
    const startedAt = performance.now();
    await (await proxy.getToxic("latency_upstream")).remove();
    expect(performance.now() - startedAt).toBeLessThan(1_000);
    expect(c.ended).toBe(false);
  });

  it("should keep the API responsive while a bandwidth toxic holds megabytes, and flush them when removed", async () => {
    const { proxy, client, toxiproxy } = await setup();
    const c = await client();
    const toxic = await proxy.addToxic({ type: "bandwidth", stream: "downstream", attributes: { rate: 10 } } as never);
    const payload = Buffer.alloc(2 * 1024 * 1024, 7);
    await c.write(payload);
    const calledAt = performance.now();
    await toxiproxy.getAll();
    await toxic.remove();
    expect(performance.now() - calledAt).toBeLessThan(1_000);
    await expect.poll(() => c.bytes, POLL).toBe(payload.length);
    expect(c.received.equals(payload)).toBe(true);
  });

  it("should keep a persistent connection working across two resets", async () => {
    const { proxy, toxiproxy, client } = await setup();
    const c = await client();
    await proxy.addToxic({ type: "latency", attributes: { latency: 5 } } as never);
    await toxiproxy.reset();
    await toxiproxy.reset();
    await c.write("still here");
    await expect.poll(() => c.received.toString(), POLL).toBe("still here");
  });

  it("should close the connections of a removed timeout toxic on reset", async () => {
    const { proxy, toxiproxy, client } = await setup();
    const c = await client();
    await proxy.addToxic({ type: "timeout", attributes: { timeout: 0 } } as never);
    await toxiproxy.reset();
    await expect.poll(() => c.ended, POLL).toBe(true);
  });
});

describe("proxy lifecycle with live connections", () => {
  it("should close connections and refuse new ones when disabled, and accept again when enabled", async () => {
    const { proxy, port, client } = await setup();
    const c = await client();
    await c.write("x");
    await expect.poll(() => c.bytes, POLL).toBe(1);
    const disabled = await proxy.update({ enabled: false, listen: proxy.listen, upstream: proxy.upstream });
    await expect.poll(() => c.closed, POLL).toBe(true);
    expect(await refused(port)).toBe(true);
    await disabled.update({ enabled: true, listen: proxy.listen, upstream: proxy.upstream });
    const again = await client();
    await again.write("y");
    await expect.poll(() => again.received.toString(), POLL).toBe("y");
  });

  it("should close connections when the proxy is deleted", async () => {
    const { proxy, port, client, echo } = await setup();
    const c = await client();
    await expect.poll(() => echo.connections.length, POLL).toBe(1);
    await proxy.remove();
    await expect.poll(() => c.closed, POLL).toBe(true);
    await expect.poll(() => echo.connections[0]!.closed, POLL).toBe(true);
    expect(await refused(port)).toBe(true);
  });

  it("should keep connections open on an update to an equivalent listen (localhost vs 127.0.0.1)", async () => {
    const { proxy, port, client } = await setup();
    const c = await client();
    const updated = await proxy.update({ enabled: true, listen: `localhost:${port}`, upstream: proxy.upstream });
    expect(updated.listen).toBe(`127.0.0.1:${port}`);
    await c.write("same");
    await expect.poll(() => c.received.toString(), POLL).toBe("same");
    expect(c.closed).toBe(false);
  });

  it("should drop connections when the upstream changes", async () => {
    const { proxy, client } = await setup();
    const other = await startEchoServer();
    onTestFinished(() => other.stop());
    const c = await client();
    await proxy.update({ enabled: true, listen: proxy.listen, upstream: other.address });
    await expect.poll(() => c.closed, POLL).toBe(true);
    const next = await client();
    await next.write("moved");
    await expect.poll(() => other.connections[0]?.bytes, POLL).toBe(5);
  });
});

describe("ToxiproxyServer lifecycle", () => {
  it("should stop idempotently and concurrently, leaving no listener and no socket", async () => {
    const { server, port, client, echo } = await setup();
    const c = await client();
    await expect.poll(() => echo.connections.length, POLL).toBe(1);
    await Promise.all([server.stop(), server.stop()]);
    await server.stop();
    await expect.poll(() => c.closed, POLL).toBe(true);
    await expect.poll(() => echo.connections[0]!.closed, POLL).toBe(true);
    expect(await refused(port)).toBe(true);
    expect(await refused(server.port)).toBe(true);
    await expect(fetch(`${server.url}/version`)).rejects.toMatchObject({ cause: { code: "ECONNREFUSED" } });
  });

  it("should support await using", async () => {
    let port = 0;
    {
      await using server = await new ToxiproxyServer({ port: 0 }).start();
      port = server.port;
      expect(server.url).toBe(`http://127.0.0.1:${port}`);
      expect(await (await fetch(`${server.url}/version`)).text()).toBe('{"version": "2.12.0"}\n');
    }
    expect(await refused(port)).toBe(true);
  });

  it("should reject a taken API port with HARNESS_ERR_TOXIPROXY_LISTEN", async () => {
    await using first = await new ToxiproxyServer({ port: 0 }).start();
    await expect(new ToxiproxyServer({ port: first.port }).start()).rejects.toMatchObject({ code: "HARNESS_ERR_TOXIPROXY_LISTEN" });
  });

  it("should reject invalid options with a TypeError", () => {
    expect(() => new ToxiproxyServer({ port: 70_000 })).toThrow(TypeError);
    expect(() => new ToxiproxyServer({ port: 1.5 })).toThrow(TypeError);
    expect(new ToxiproxyServer().options).toMatchObject({ host: "127.0.0.1", port: 8474, proxyMetrics: false, runtimeMetrics: false });
  });
});
