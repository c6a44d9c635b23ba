import { describe, expect, it } from "vitest";
import { RegistryForbiddenError, RegistryUnavailableError } from "../errors.js";
import { toProtocolError } from "./protocol.js";

describe("toProtocolError", () => {
  it("should say which refusal a FORBIDDEN is, keeping the frame id", () => {
    const tenant = toProtocolError(new RegistryForbiddenError("session s belongs to another tenant than t"), "f1");
    expect(tenant).toMatchObject({ code: "FORBIDDEN", id: "f1", message: "the session belongs to another tenant" });
    const idInUse = toProtocolError(new RegistryForbiddenError("websocket id w has a live record in another session", { reason: "websocket_id" }), "f2");
    expect(idInUse).toMatchObject({ code: "FORBIDDEN", id: "f2", message: "the websocket_id is live in another session" });
  });

  it("should never echo the registry's message (it names other tenants and sessions) on a FORBIDDEN", () => {
    const error = toProtocolError(new RegistryForbiddenError("session secret-session belongs to another tenant than tenant-x"));
    expect(error.message).not.toContain("secret-session");
    expect(error.message).not.toContain("tenant-x");
  });

  it("should map an unavailable registry to REGISTRY_UNAVAILABLE and anything unknown to INTERNAL", () => {
    expect(toProtocolError(new RegistryUnavailableError("down"), 7)).toMatchObject({ code: "REGISTRY_UNAVAILABLE", id: 7 });
    expect(toProtocolError(new Error("boom"))).toMatchObject({ code: "INTERNAL", message: "internal error" });
  });
});
