import { describe, expect, it } from "vitest";
import type { ConnectionRecord } from "../registry/connection-registry.js";
import { MemoryConnectionRegistry } from "../registry/memory-connection-registry.js";
import { NO_FAILPOINTS, createFailpoints, type Failpoints } from "./failpoints.js";
import { GatewayMetrics } from "./metrics.js";
import { RegistryWriter } from "./registry-writer.js";

function record(websocketId: string, instanceId = "gw-1"): ConnectionRecord {
  const now = Date.now();
  return { websocket_id: websocketId, session_id: "s1", tenant_id: "t1", agent_type: "a", pillar: "p", instance_id: instanceId, connected_at: now, last_activity_at: now };
}

function writer(failpoints: Failpoints) {
  const registry = new MemoryConnectionRegistry();
  const metrics = new GatewayMetrics(() => new Map(), () => true);
  return { registry, metrics, writer: new RegistryWriter({ instanceId: "gw-1", registry, connectionTtlMs: 30_000, metrics, failpoints }) };
}

describe("RegistryWriter", () => {
  it("should register, and unregister in the background only records this instance still owns", async () => {
    const { registry, metrics, writer: w } = writer(NO_FAILPOINTS);
    await Promise.all([w.register(record("w1")), w.register(record("w2"))]);
    // w2 was resumed on another instance meanwhile: its record is no longer ours to remove.
    await registry.repoint(record("w2", "gw-2"));
    w.unregister(record("w1"));
    w.unregister(record("w2"));
    await w.settled();
    expect((await registry.getSessionConnections("t1", "s1")).map((r) => [r.websocket_id, r.instance_id])).toEqual([["w2", "gw-2"]]);
    expect(metrics.unregistrations.get()).toBe(1);
  });

  it("should leave every record behind under the no-unregister failpoint", async () => {
    const { registry, metrics, writer: w } = writer(createFailpoints(["no-unregister"]));
    await w.register(record("w1"));
    w.unregister(record("w1"));
    await w.settled();
    expect((await registry.getSessionConnections("t1", "s1")).map((r) => r.websocket_id)).toEqual(["w1"]);
    expect(metrics.unregistrations.get()).toBe(0);
  });

  it("should retry a removal that failed while Redis was unreachable, and never one whose id was written again", async () => {
    const { registry, metrics, writer: w } = writer(NO_FAILPOINTS);
    await Promise.all([w.register(record("w1")), w.register(record("w2")), w.register(record("w3"))]);
    const unregister = registry.unregister.bind(registry);
    registry.unregister = () => Promise.reject(new Error("registry unavailable"));
    w.unregister(record("w1"));
    w.unregister(record("w2"));
    w.unregister(record("w3"));
    await w.settled();
    expect(w.failedRemovals).toBe(3);
    w.retryFailed(); // still down: kept again
    await w.settled();
    expect(w.failedRemovals).toBe(3);
    registry.unregister = unregister;
    await w.register(record("w2")); // w2 registered again on this instance meanwhile
    expect(await w.repoint(record("w3"))).toMatchObject({ existed: true }); // w3 resumed on this instance (its record had stayed)
    w.retryFailed();
    await w.settled();
    expect(w.failedRemovals).toBe(0);
    expect((await registry.getSessionConnections("t1", "s1")).map((r) => r.websocket_id).sort()).toEqual(["w2", "w3"]);
    expect(metrics.unregistrations.get()).toBe(1);
  });
});
