/**
 * toxiproxy-node-client 4.1.0's own suite (src/tests/*.spec.ts), ported against the compatible server on a free
 * port and made strict: every expected rejection is asserted, and the fixed ports 9987/9988 are free ports whose
 * exact listen string is checked.
 */
import { Toxiproxy, type Proxy, type ToxicType } from "toxiproxy-node-client";
import { describe, expect, it, onTestFinished } from "vitest";
import { findFreePort } from "../../harness/common/free-port.js";
import { ToxiproxyServer } from "../../harness/toxiproxy/index.js";

async function useToxiproxy(): Promise<Toxiproxy> {
  const server = await new ToxiproxyServer({ port: 0, seed: 1 }).start();
  onTestFinished(() => server.stop());
  return new Toxiproxy(server.url);
}

async function createProxy(toxiproxy: Toxiproxy, name: string): Promise<Proxy> {
  return toxiproxy.createProxy({ name, listen: "localhost:0", upstream: "localhost:6379" });
}

describe("Toxiproxy (node client suite)", () => {
  it("should create and remove a proxy", async () => {
    const toxiproxy = await useToxiproxy();
    const proxy = await createProxy(toxiproxy, "create-test");
    expect(proxy.name).toBe("create-test");
    expect(proxy.listen).toMatch(/^127\.0\.0\.1:[1-9][0-9]*$/);
    await proxy.remove();
    expect(await toxiproxy.getAll()).toEqual({});
  });

  it("should get a proxy by name", async () => {
    const toxiproxy = await useToxiproxy();
    await createProxy(toxiproxy, "get-test");
    const proxy = await toxiproxy.get("get-test");
    expect(proxy.name).toBe("get-test");
    expect(proxy.upstream).toBe("localhost:6379");
    expect(proxy.enabled).toBe(true);
  });

  it("should return the version text", async () => {
    const toxiproxy = await useToxiproxy();
    expect(await toxiproxy.getVersion()).toBe('{"version": "2.12.0"}\n');
  });

  it("should reset", async () => {
    const toxiproxy = await useToxiproxy();
    await expect(toxiproxy.reset()).resolves.toBeUndefined();
  });

  it("should populate one proxy", async () => {
    const toxiproxy = await useToxiproxy();
    const proxies = await toxiproxy.populate([{ name: "get-all-test", listen: "localhost:0", upstream: "localhost:6379" }]);
    expect(Object.keys(proxies)).toEqual(["get-all-test"]);
    for (const proxy of Object.values(proxies)) await proxy.remove();
    expect(await toxiproxy.getAll()).toEqual({});
  });

  it("should populate two proxies and list exactly them, twice", async () => {
    const toxiproxy = await useToxiproxy();
    const [port1, port2] = [await findFreePort(), await findFreePort()];
    await toxiproxy.populate([
      { name: "get-all-test1", listen: `127.0.0.1:${port1}`, upstream: "localhost:6379" },
      { name: "get-all-test2", listen: `127.0.0.1:${port2}`, upstream: "localhost:12345" },
    ]);
    for (let round = 0; round < 2; round++) {
      const all = await toxiproxy.getAll();
      expect(Object.keys(all)).toEqual(["get-all-test1", "get-all-test2"]);
      expect(all["get-all-test1"]).toMatchObject({ listen: `127.0.0.1:${port1}`, upstream: "localhost:6379" });
      expect(all["get-all-test2"]).toMatchObject({ listen: `127.0.0.1:${port2}`, upstream: "localhost:12345" });
    }
  });

  it("should update a proxy: disable, then enable with an unresolvable upstream", async () => {
    const toxiproxy = await useToxiproxy();
    const proxy = await createProxy(toxiproxy, "update-proxy-test");
    const disabled = await proxy.update({ enabled: false, listen: proxy.listen, upstream: proxy.upstream });
    expect(disabled.enabled).toBe(false);
    expect(disabled.listen).toBe(proxy.listen);
    const enabled = await disabled.update({ enabled: true, listen: proxy.listen, upstream: "somehost:12345" });
    expect(enabled.enabled).toBe(true);
    expect(enabled.upstream).toBe("somehost:12345");
    expect(enabled.listen).toBe(proxy.listen);
    await enabled.remove();
  });

  it("should remove a proxy, and a second removal should be a 404", async () => {
    const toxiproxy = await useToxiproxy();
    const proxy = await createProxy(toxiproxy, "remove-test");
    await proxy.remove();
    await expect(proxy.remove()).rejects.toMatchObject({ message: "Request failed with status code 404" });
  });

  it("should refuse a duplicate proxy with 409", async () => {
    const toxiproxy = await useToxiproxy();
    await createProxy(toxiproxy, "duplicate");
    await expect(createProxy(toxiproxy, "duplicate")).rejects.toMatchObject({
      name: "Error",
      message: "Request failed with status code 409",
    });
  });
});

describe("Toxic (node client suite)", () => {
  it("should create, get, update and remove a toxic", async () => {
    const toxiproxy = await useToxiproxy();
    const proxy = await createProxy(toxiproxy, "remove-toxic-test");
    const toxic = await proxy.addToxic({ type: "latency", attributes: { latency: 1000, jitter: 100 } } as never);
    expect(toxic).toMatchObject({ name: "latency_downstream", type: "latency", stream: "downstream", toxicity: 1 });
    expect(toxic.attributes).toEqual({ latency: 1000, jitter: 100 });
    const fetched = await proxy.getToxic(toxic.name);
    expect(fetched).toMatchObject({ name: toxic.name, type: toxic.type, stream: toxic.stream, toxicity: toxic.toxicity });
    const updated = await toxic.update({ attributes: { latency: 12345, jitter: 42 } } as never);
    expect(updated.attributes).toEqual({ latency: 12345, jitter: 42 });
    expect(updated).toMatchObject({ name: "latency_downstream", stream: "downstream", toxicity: 1 });
    await toxic.remove();
    await expect(proxy.getToxic("latency")).rejects.toMatchObject({ message: "Request failed with status code 404" });
    await expect(proxy.getToxic("latency_downstream")).rejects.toMatchObject({ message: "Request failed with status code 404" });
  });

  it("should refuse the same default-named toxic twice with 409", async () => {
    const toxiproxy = await useToxiproxy();
    const proxy = await createProxy(toxiproxy, "duplicate-toxic-test");
    const body = { type: "latency", attributes: { latency: 1000, jitter: 100 } } as never;
    await proxy.addToxic(body);
    await expect(proxy.addToxic(body)).rejects.toMatchObject({ message: "Request failed with status code 409" });
  });

  const TYPES: Array<{ type: ToxicType; attributes: Record<string, number> }> = [
    { type: "latency", attributes: { latency: 1000, jitter: 100 } },
    { type: "bandwidth", attributes: { rate: 1000 } },
    { type: "slow_close", attributes: { delay: 1000 } },
    { type: "timeout", attributes: { timeout: 5000 } },
    { type: "slicer", attributes: { average_size: 1000, delay: 1000, size_variation: 1000 } },
    { type: "reset_peer", attributes: { timeout: 1000 } },
    { type: "limit_data", attributes: { bytes: 42 } },
  ];

  for (const { type, attributes } of TYPES) {
    it(`should echo the attributes of a ${type} toxic unchanged`, async () => {
      const toxiproxy = await useToxiproxy();
      const proxy = await createProxy(toxiproxy, `${type}-test`);
      const toxic = await proxy.addToxic({ type, attributes } as never);
      expect(toxic.type).toBe(type);
      expect(toxic.attributes).toEqual(attributes);
      expect((await proxy.getToxic(toxic.name)).attributes).toEqual(attributes);
    });
  }

  it("should refuse the client's 'down' type, which is not a server type", async () => {
    const toxiproxy = await useToxiproxy();
    const proxy = await createProxy(toxiproxy, "down-test");
    await expect(proxy.addToxic({ type: "down", attributes: {} } as never)).rejects.toMatchObject({
      message: "Request failed with status code 400",
    });
  });
});
