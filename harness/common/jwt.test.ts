import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { mintClientToken, signJwt } from "./jwt.js";

describe("jwt", () => {
  it("should sign a compact HS256 token that verifies with the secret", () => {
    const token = signJwt({ tenant_id: "t1", exp: 2_000_000_000 }, "secret");
    const [header, payload, signature] = token.split(".");
    expect(JSON.parse(Buffer.from(header!, "base64url").toString())).toEqual({ alg: "HS256", typ: "JWT" });
    expect(JSON.parse(Buffer.from(payload!, "base64url").toString())).toEqual({ tenant_id: "t1", exp: 2_000_000_000 });
    expect(signature).toBe(createHmac("sha256", "secret").update(`${header}.${payload}`).digest("base64url"));
    expect(signJwt({ tenant_id: "t1", exp: 2_000_000_000 }, "other")).not.toBe(token);
  });

  it("should mint client tokens with tenant, expiry and an optional pinned session", () => {
    const token = mintClientToken("s", { tenantId: "t9", sessionId: "s1", ttlS: 60, nowMs: 1_000_000 });
    const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as Record<string, unknown>;
    expect(claims).toEqual({ tenant_id: "t9", session_id: "s1", iat: 1_000, exp: 1_060 });
  });
});
