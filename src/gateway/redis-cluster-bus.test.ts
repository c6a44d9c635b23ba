import { describe, expect, it, onTestFinished } from "vitest";
import { useRedisServer } from "../../test/helpers/redis.js";
import { RegistryKeys } from "../registry/keys.js";
import { createRedisClient, waitForRedisReady } from "../registry/redis-client.js";
import { ProtocolError, toProtocolError } from "./protocol.js";
import { RedisClusterBus } from "./redis-cluster-bus.js";

describe("RedisClusterBus", () => {
  it("should reject publish and reverse lookups with REGISTRY_ERR_UNAVAILABLE once Redis is gone", async () => {
    const redis = await useRedisServer();
    const client = createRedisClient(redis.url);
    const subscriber = createRedisClient(redis.url);
    const bus = new RedisClusterBus("gw-test", new RegistryKeys("bus_test"), client, subscriber);
    onTestFinished(async () => {
      await bus.close();
      client.disconnect();
    });
    await Promise.all([waitForRedisReady(client, 5_000), waitForRedisReady(subscriber, 5_000)]);
    expect(await bus.publish("gw-other", { t: "delivered", r: "r1", n: 0 })).toBe(0);
    await redis.kill();
    await expect(bus.publish("gw-other", { t: "delivered", r: "r2", n: 0 })).rejects.toMatchObject({ code: "REGISTRY_ERR_UNAVAILABLE" });
    await expect(bus.sessionOfAnyTenant("w1")).rejects.toMatchObject({ code: "REGISTRY_ERR_UNAVAILABLE" });
    // What the route handler makes of it: REGISTRY_UNAVAILABLE carrying the frame's id.
    const mapped = toProtocolError(await bus.publish("gw-other", { t: "delivered", r: "r3", n: 0 }).catch((error: unknown) => error), "m1");
    expect(mapped).toMatchObject({ code: "REGISTRY_UNAVAILABLE", id: "m1" });
  });
});

describe("toProtocolError", () => {
  it("should attach the frame id to a protocol error raised without one", () => {
    const inner = new ProtocolError("REGISTRY_UNAVAILABLE", "too many remote deliveries in flight");
    expect(toProtocolError(inner, 7)).toMatchObject({ code: "REGISTRY_UNAVAILABLE", id: 7 });
    const withId = new ProtocolError("NOT_FOUND", "gone", "a");
    expect(toProtocolError(withId, "b")).toBe(withId);
  });
});
