import { describe, expect, it } from "vitest";
import { RedisCluster, RedisServer, redisCommand } from "./redis-server.js";

describe("RedisServer", () => {
  it("should start a real redis-server on a free port and stop it idempotently", async () => {
    const server = await new RedisServer().start();
    expect(await redisCommand(server.host, server.port, "PING")).toMatch(/^\+PONG/);
    await Promise.all([server.stop(), server.stop()]);
    expect(server.exited).toBe(true);
    await expect(redisCommand(server.host, server.port, "PING")).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });
});

describe("RedisCluster", () => {
  it("should start a 3-master cluster that reaches cluster_state:ok", { timeout: 60_000 }, async () => {
    await using cluster = await new RedisCluster().start();
    expect(cluster.nodes).toHaveLength(3);
    const info = await redisCommand(cluster.nodes[0]!.host, cluster.nodes[0]!.port, "CLUSTER INFO");
    expect(info).toContain("cluster_known_nodes:3");
  });
});
