import { describe, expect, it } from "vitest";
import { DEFAULT_GATEWAY_OPTIONS, gatewayOptionsFromEnv } from "./gateway-options.js";

describe("gatewayOptionsFromEnv", () => {
  it("should read REDIS_SENTINELS, REDIS_SENTINEL_NAME and REDIS_NAT_MAP", () => {
    const options = gatewayOptionsFromEnv({ AUTH_SECRET: "s", REDIS_SENTINELS: "127.0.0.1:26379, 127.0.0.1:26380", REDIS_SENTINEL_NAME: "main", REDIS_NAT_MAP: "127.0.0.1:7000=127.0.0.1:17000" });
    expect(options.redisSentinels).toEqual([{ host: "127.0.0.1", port: 26379 }, { host: "127.0.0.1", port: 26380 }]);
    expect(options.redisSentinelName).toBe("main");
    expect(options.redisNatMap).toEqual({ "127.0.0.1:7000": { host: "127.0.0.1", port: 17000 } });
    expect(gatewayOptionsFromEnv({ AUTH_SECRET: "s" })).toMatchObject({ redisSentinels: [], redisSentinelName: "traffic-cop", redisNatMap: {} });
  });

  it.each([
    [{ REDIS_SENTINELS: "127.0.0.1" }, /REDIS_SENTINELS part "127.0.0.1" is not host:port/],
    [{ REDIS_SENTINELS: "h:70000" }, /port in 1..65535/],
    [{ REDIS_SENTINELS: "h:1", REDIS_CLUSTER: "1" }, /exclude each other/],
    [{ REDIS_SENTINEL_NAME: "a b" }, /REDIS_SENTINEL_NAME must be/],
    [{ REDIS_NAT_MAP: "h:1" }, /REDIS_NAT_MAP pair "h:1" is not announced_host:port=host:port/],
  ])("should refuse %o with GATEWAY_ERR_INVALID_CONFIG", (env, message) => {
    let caught: unknown;
    try {
      gatewayOptionsFromEnv({ AUTH_SECRET: "s", ...env });
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: "GATEWAY_ERR_INVALID_CONFIG", message: expect.stringMatching(message) });
  });

  it("should apply docs/design.md's defaults and derive the liveness bounds", () => {
    const options = gatewayOptionsFromEnv({ AUTH_SECRET: "s" });
    expect(options).toMatchObject({
      port: 8080,
      host: "127.0.0.1",
      redisUrl: "redis://127.0.0.1:6379",
      redisCluster: false,
      connectionTtlMs: 30_000,
      heartbeatIntervalMs: 10_000,
      drainTimeoutMs: 10_000,
      maxMessageBytes: 65_536,
      registry: "redis",
      livenessTtlMs: 10_000,
      livenessIntervalMs: 3_333,
    });
    expect(options.instanceId).toMatch(/-\d+$/);
    expect(options.defects.size).toBe(0);
    expect(Object.isFrozen(options)).toBe(true);
    expect(DEFAULT_GATEWAY_OPTIONS.port).toBe(8080);
  });

  it("should read every variable", () => {
    const options = gatewayOptionsFromEnv({
      PORT: "0",
      HOST: "0.0.0.0",
      REDIS_URL: "redis://a:1,redis://b:2",
      REDIS_CLUSTER: "1",
      INSTANCE_ID: "gw-7",
      AUTH_SECRET: "s",
      CONNECTION_TTL_MS: "6000",
      HEARTBEAT_INTERVAL_MS: "1000",
      DRAIN_TIMEOUT_MS: "0",
      MAX_MESSAGE_BYTES: "1024",
      REGISTRY: "memory",
      TRAFFIC_COP_DEFECTS: "no-resume, drop-remote",
    });
    expect(options).toMatchObject({ port: 0, host: "0.0.0.0", redisCluster: true, instanceId: "gw-7", connectionTtlMs: 6_000, heartbeatIntervalMs: 1_000, drainTimeoutMs: 0, maxMessageBytes: 1_024, registry: "memory", livenessTtlMs: 2_000 });
    expect([...options.defects]).toEqual(["no-resume", "drop-remote"]);
  });

  it.each([
    [{}, "AUTH_SECRET is required"],
    [{ AUTH_SECRET: "s", PORT: "eighty" }, "PORT"],
    [{ AUTH_SECRET: "s", PORT: "70000" }, "PORT"],
    [{ AUTH_SECRET: "s", HEARTBEAT_INTERVAL_MS: "20000" }, "at most half of CONNECTION_TTL_MS"],
    [{ AUTH_SECRET: "s", REGISTRY: "postgres" }, "REGISTRY"],
    [{ AUTH_SECRET: "s", REDIS_URL: "http://x" }, "REDIS_URL"],
    [{ AUTH_SECRET: "s", REDIS_URL: "redis://a:1,redis://b:2" }, "REDIS_CLUSTER=1"],
    [{ AUTH_SECRET: "s", REDIS_CLUSTER: "yes" }, "REDIS_CLUSTER"],
    [{ AUTH_SECRET: "s", INSTANCE_ID: "gw:1" }, "INSTANCE_ID"],
    [{ AUTH_SECRET: "s", MAX_MESSAGE_BYTES: "-5" }, "MAX_MESSAGE_BYTES"],
    [{ AUTH_SECRET: "s", TRAFFIC_COP_DEFECTS: "no-brakes" }, "no-brakes"],
  ])("should reject %j naming the problem", (env, text) => {
    expect(() => gatewayOptionsFromEnv(env)).toThrow(text);
    expect(() => gatewayOptionsFromEnv(env)).toThrow(expect.objectContaining({ code: "GATEWAY_ERR_INVALID_CONFIG" }));
  });
});
