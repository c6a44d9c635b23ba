import { describe, expect, it } from "vitest";
import { createKeySchema } from "./key-schema.js";

describe("KeySchema.classify", () => {
  const keys = createKeySchema("tc");

  it.each([
    ["tc:session:s1:websocket:w1", "connection"],
    ["tc:session:{s1}:websocket:w1", "connection"],
    ["tc:session:s1:websockets", "session_index"],
    ["tc:session:s1:tenant", "session_owner"],
    ["tc:session:{s1}:state", "session_state"],
    ["tc:websocket:w1:session", "reverse"],
    ["tc:agent_type:a:websockets", "agent_type_index"],
    ["tc:pillar:p:websockets", "pillar_index"],
    ["tc:instance:gw-1:websockets", "instance_index"],
    ["tc:tenant:t:websockets", "tenant_index"],
    ["tc:agent_types", "index_names"],
    ["tc:instances", "index_names"],
    ["tc:instance:gw-1:alive", "instance_alive"],
    ["tc:instances:alive", "instances_alive"],
    ["tc:session:s1:other", "other"],
    ["tc:pillar:p:other", "other"],
    ["tc:nothing", "other"],
    ["other:session:s1:websockets", "other"],
  ])("should classify %s as %s", (key, kind) => {
    expect(keys.classify(key)).toBe(kind);
  });

  it("should build the instance and tenant indexes it classifies", () => {
    expect(keys.classify(keys.instanceIndex("gw-2"))).toBe("instance_index");
    expect(keys.classify(keys.tenantIndex("t-1"))).toBe("tenant_index");
  });
});
