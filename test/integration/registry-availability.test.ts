import { describe, expect, it, onTestFinished } from "vitest";
import { RedisConnectionRegistry } from "../../src/registry/redis-connection-registry.js";
import { createRedisClient, parseRedisUrls, waitForRedisReady } from "../../src/registry/redis-client.js";
import { freshNamespace, makeRecord } from "../helpers/registry-contract.js";
import { useRedisServer } from "../helpers/redis.js";

/** A lookup while Redis is down must fail well within this bound (the command timeout is 1000 ms). */
const MAX_UNAVAILABLE_MS = 1_500;

describe("RedisConnectionRegistry availability", () => {
  it("should fail fast with REGISTRY_ERR_UNAVAILABLE while Redis is down and recover when it returns", async () => {
    const first = await useRedisServer();
    const client = createRedisClient(first.url, { commandTimeoutMs: 1_000, maxReconnectDelayMs: 100 });
    await waitForRedisReady(client);
    const registry = new RedisConnectionRegistry(client, { keyPrefix: freshNamespace(), closeClient: true });
    onTestFinished(() => registry.close());
    const record = makeRecord();
    await registry.register(record);

    await first.kill();
    for (const call of [
      () => registry.getConnection("tenant-a", "session-1", record.websocket_id),
      () => registry.register(makeRecord()),
      () => registry.heartbeat([{ session_id: "session-1", websocket_id: record.websocket_id }]),
    ]) {
      const started = performance.now();
      await expect(call()).rejects.toMatchObject({ code: "REGISTRY_ERR_UNAVAILABLE", cause: expect.any(Error) });
      expect(performance.now() - started).toBeLessThan(MAX_UNAVAILABLE_MS);
    }

    // Same port, empty data (a restart with data loss): the client reconnects by itself, the heartbeat reports the
    // lost record, and re-registering restores it.
    await useRedisServer({ port: first.port });
    await expect
      .poll(() => registry.heartbeat([{ session_id: "session-1", websocket_id: record.websocket_id }]).catch((error: { code: string }) => error.code), {
        timeout: 10_000,
        interval: 50,
      })
      .toEqual({ refreshed: 0, missing: [record.websocket_id] });
    await registry.register(record);
    expect(await registry.findConnection("tenant-a", record.websocket_id)).toEqual(record);
  });

  it("should parse REDIS_URL forms and reject bad ones with REGISTRY_ERR_INVALID_ARGUMENT", () => {
    expect(parseRedisUrls("redis://127.0.0.1:7000")).toEqual([{ host: "127.0.0.1", port: 7000 }]);
    expect(parseRedisUrls("redis://a:1, redis://b:2")).toEqual([{ host: "a", port: 1 }, { host: "b", port: 2 }]);
    expect(() => parseRedisUrls("")).toThrow(expect.objectContaining({ code: "REGISTRY_ERR_INVALID_ARGUMENT" }));
    expect(() => parseRedisUrls("http://x:1")).toThrow(expect.objectContaining({ code: "REGISTRY_ERR_INVALID_ARGUMENT" }));
    expect(() => createRedisClient("redis://a:1,redis://b:2")).toThrow(expect.objectContaining({ code: "REGISTRY_ERR_INVALID_ARGUMENT" }));
  });
});
