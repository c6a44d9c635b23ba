import { describe, expect, it } from "vitest";
import type { WebSocket } from "ws";
import { useSocketPairs } from "../../test/helpers/socket-pair.js";
import type { ConnectionRecord } from "../registry/connection-registry.js";
import { ConnectionTable, sendFrame, type LocalConnection } from "./connection-table.js";
import { CLOSE_CODES } from "./protocol.js";

function connection(ws: WebSocket, websocketId: string, tenantId = "t1"): LocalConnection {
  const record: ConnectionRecord = {
    websocket_id: websocketId,
    session_id: "s1",
    tenant_id: tenantId,
    agent_type: "a",
    pillar: "p",
    instance_id: "gw-1",
    connected_at: 1,
    last_activity_at: 1,
  };
  return { ws, record, alive: true, active: false, tokens: 1, refilledAt: 0, moved: false };
}

function closeCode(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => ws.once("close", (code) => resolve(code)));
}

describe("ConnectionTable", () => {
  it("should evict an older socket of the same websocket id when a newer one is added", async () => {
    const pair = await useSocketPairs();
    const [first, second] = [await pair(), await pair()];
    const table = new ConnectionTable();
    const older = connection(first.server, "w1");
    const newer = connection(second.server, "w1");
    table.add(older);
    const closed = closeCode(first.client);
    table.add(newer);
    expect(await closed).toBe(CLOSE_CODES.RESUMED_ELSEWHERE);
    expect(older.moved).toBe(true);
    expect(newer.moved).toBe(false);
    expect(table.get("w1")).toBe(newer);
    // The evicted socket's own close must not take the newer one out.
    table.remove(older);
    expect(table.get("w1")).toBe(newer);
    expect(table.size).toBe(1);
    table.remove(newer);
    expect(table.size).toBe(0);
  });

  it("should send to the held sockets of a list of ids and count those handed the frame", async () => {
    const pair = await useSocketPairs();
    const [one, two, gone] = [await pair(), await pair(), await pair()];
    const table = new ConnectionTable();
    table.add(connection(one.server, "w1", "t1"));
    table.add(connection(two.server, "w2", "t2"));
    const closing = connection(gone.server, "w3", "t2");
    table.add(closing);
    gone.server.terminate();
    expect(sendFrame(closing, "{}")).toBe(false);
    expect(table.sendTo(["w1", "w2", "w3", "missing", 42], JSON.stringify({ type: "message" }))).toBe(2);
    await expect.poll(() => [one.received.length, two.received.length]).toEqual([1, 1]);
    expect(one.received[0]).toEqual({ type: "message" });
    expect(Object.fromEntries(table.countByTenant())).toEqual({ t1: 1, t2: 2 });
  });
});
