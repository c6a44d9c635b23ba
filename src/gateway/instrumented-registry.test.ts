import { describe, expect, it } from "vitest";
import type { ConnectionRecord } from "../registry/connection-registry.js";
import { MemoryConnectionRegistry } from "../registry/memory-connection-registry.js";
import { instrumentRegistry } from "./instrumented-registry.js";
import { GatewayMetrics } from "./metrics.js";

const RECORD: ConnectionRecord = {
  websocket_id: "w1",
  session_id: "s1",
  tenant_id: "t1",
  agent_type: "a",
  pillar: "p",
  instance_id: "gw-1",
  connected_at: 1,
  last_activity_at: 1,
};

function count(metrics: GatewayMetrics, op: string): number {
  const match = new RegExp(`^traffic_cop_redis_command_duration_seconds_count\\{op="${op}"\\} (\\d+)$`, "m").exec(metrics.render());
  return match ? Number(match[1]) : 0;
}

describe("instrumentRegistry", () => {
  it("should time every registry call by method, failed ones too, and pass results through", async () => {
    const metrics = new GatewayMetrics(() => new Map(), () => true);
    const inner = new MemoryConnectionRegistry();
    const registry = instrumentRegistry(inner, metrics);
    await registry.register({ ...RECORD, connected_at: Date.now(), last_activity_at: Date.now() });
    expect((await registry.getSessionConnections("t1", "s1")).map((record) => record.websocket_id)).toEqual(["w1"]);
    await registry.getSessionConnections("t1", "s1");
    await expect(registry.getSessionConnections("t1", "bad:id")).rejects.toMatchObject({ code: "REGISTRY_ERR_INVALID_ARGUMENT" });
    expect(count(metrics, "register")).toBe(1);
    expect(count(metrics, "getSessionConnections")).toBe(3);
    expect(registry.register).toBe(registry.register);
    await registry.close();
    expect(count(metrics, "close")).toBe(0);
    await expect(inner.getSessionConnections("t1", "s1")).rejects.toMatchObject({ code: "REGISTRY_ERR_CLOSED" });
  });
});
