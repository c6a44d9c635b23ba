import { describe, expect, it } from "vitest";
import { CONTAINER_PORTS, IMAGES } from "./images.js";
import { describeContainerTopology, type TopologySpecOptions } from "./topology.js";

const OPTIONS: TopologySpecOptions = { instances: 2, hostnames: { redis: "r", toxiproxy: "tp" }, proxyPrefix: "run", gatewayEnv: {} };

describe("describeContainerTopology", () => {
  it("should keep the proxy on the store network only, reached by its name, without client proxies", () => {
    const topology = describeContainerTopology(OPTIONS);
    expect(topology.clientProxies).toEqual([]);
    const proxy = topology.services.find((s) => s.role === "toxiproxy")!;
    expect(proxy).toMatchObject({ networks: ["store"] });
    expect(proxy.aliases).toBeUndefined();
    expect(topology.services.find((s) => s.key === "gw-1")!.env.REDIS_URL).toBe(`redis://tp:${CONTAINER_PORTS.proxyBase + 1}`);
  });

  it("should put one published client proxy per gateway on the edge network, and keep Redis reachable from the store network only", () => {
    const topology = describeContainerTopology({ ...OPTIONS, clientProxies: true });
    expect(topology.clientProxies).toEqual([
      { name: "run-gw-1-clients", listen: `0.0.0.0:${CONTAINER_PORTS.clientProxyBase + 1}`, upstream: `gw-1:${CONTAINER_PORTS.gateway}`, instance: "gw-1" },
      { name: "run-gw-2-clients", listen: `0.0.0.0:${CONTAINER_PORTS.clientProxyBase + 2}`, upstream: `gw-2:${CONTAINER_PORTS.gateway}`, instance: "gw-2" },
    ]);
    const proxy = topology.services.find((s) => s.role === "toxiproxy")!;
    expect(proxy).toMatchObject({ networks: ["store", "edge"], aliases: { store: ["tp-store"] }, extraPorts: [CONTAINER_PORTS.clientProxyBase + 1, CONTAINER_PORTS.clientProxyBase + 2] });
    for (const id of ["gw-1", "gw-2"]) {
      const gateway = topology.services.find((s) => s.key === id)!;
      // The upstream of its client proxy resolves on edge only; its Redis proxy by a name the proxy has on store only.
      expect(gateway.aliases).toEqual({ edge: [id] });
      expect(gateway.env.REDIS_URL).toMatch(/^redis:\/\/tp-store:\d+$/);
    }
  });

  it("should run a SUT's own image with its env after the harness's variables, each ${NAME} expanded per instance", () => {
    expect(describeContainerTopology(OPTIONS).services.find((s) => s.key === "gw-1")!.image).toBe(IMAGES.gateway);
    const topology = describeContainerTopology({
      ...OPTIONS,
      gatewayEnv: { AUTH_SECRET: "s", TRAFFIC_COP_DEFECTS: "none" },
      gatewayImage: "acme/gateway:1",
      sutEnv: { LISTEN: "${HOST}:${PORT}", REDIS_ADDR: "${REDIS_URL}", NODE_NAME: "${INSTANCE_ID}", JWT_KEY: "${AUTH_SECRET}", TRAFFIC_COP_DEFECTS: "drop-remote", KEEP: "${UNKNOWN}" },
    });
    const gw2 = topology.services.find((s) => s.key === "gw-2")!;
    expect(gw2.image).toBe("acme/gateway:1");
    expect(gw2.env).toMatchObject({
      LISTEN: `0.0.0.0:${CONTAINER_PORTS.gateway}`,
      REDIS_ADDR: `redis://tp:${CONTAINER_PORTS.proxyBase + 2}`,
      NODE_NAME: "gw-2",
      JWT_KEY: "s",
      TRAFFIC_COP_DEFECTS: "drop-remote",
      KEEP: "${UNKNOWN}",
      INSTANCE_ID: "gw-2",
    });
    expect(topology.services.filter((s) => s.role !== "gateway").map((s) => s.image)).not.toContain("acme/gateway:1");
  });
});
