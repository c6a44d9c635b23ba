import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { TokenError, signJwt, verifyJwt } from "./jwt.js";

const SECRET = "secret";
const NOW_MS = 1_800_000_000_000;
const exp = NOW_MS / 1000 + 60;

function reason(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as TokenError).reason;
  }
  return "accepted";
}

describe("verifyJwt", () => {
  it("should accept a valid HS256 token and return its claims", () => {
    expect(verifyJwt(signJwt({ tenant_id: "t", exp, session_id: "s" }, SECRET), SECRET, NOW_MS)).toEqual({ tenant_id: "t", exp, session_id: "s" });
  });

  it("should refuse missing, malformed, forged, expired and incomplete tokens with a stable reason", () => {
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const none = `${b64({ alg: "none" })}.${b64({ tenant_id: "t", exp })}.`;
    const hs512Body = `${b64({ alg: "HS512" })}.${b64({ tenant_id: "t", exp })}`;
    const hs512 = `${hs512Body}.${createHmac("sha512", SECRET).update(hs512Body).digest("base64url")}`;
    expect(reason(() => verifyJwt(undefined, SECRET, NOW_MS))).toBe("missing");
    expect(reason(() => verifyJwt("a.b", SECRET, NOW_MS))).toBe("malformed");
    expect(reason(() => verifyJwt("!!.??.**", SECRET, NOW_MS))).toBe("malformed");
    expect(reason(() => verifyJwt(none, SECRET, NOW_MS))).toBe("malformed");
    expect(reason(() => verifyJwt(hs512, SECRET, NOW_MS))).toBe("malformed");
    expect(reason(() => verifyJwt(signJwt({ tenant_id: "t", exp }, "other"), SECRET, NOW_MS))).toBe("bad_signature");
    expect(reason(() => verifyJwt(signJwt({ tenant_id: "t", exp: NOW_MS / 1000 }, SECRET), SECRET, NOW_MS))).toBe("expired");
    expect(reason(() => verifyJwt(signJwt({ exp }, SECRET), SECRET, NOW_MS))).toBe("bad_claims");
    expect(reason(() => verifyJwt(signJwt({ tenant_id: "t" }, SECRET), SECRET, NOW_MS))).toBe("bad_claims");
    expect(reason(() => verifyJwt(signJwt({ tenant_id: "t", exp, session_id: 5 }, SECRET), SECRET, NOW_MS))).toBe("bad_claims");
    expect(reason(() => verifyJwt("x".repeat(10_000), SECRET, NOW_MS))).toBe("malformed");
  });

  it("should still check the secret and exp of a token it verified before", () => {
    const token = signJwt({ tenant_id: "cached", exp }, SECRET);
    expect(verifyJwt(token, SECRET, NOW_MS)).toEqual({ tenant_id: "cached", exp });
    expect(verifyJwt(token, SECRET, NOW_MS)).toEqual({ tenant_id: "cached", exp });
    expect(reason(() => verifyJwt(token, "another secret", NOW_MS))).toBe("bad_signature");
    expect(reason(() => verifyJwt(token, SECRET, exp * 1000))).toBe("expired");
    expect(reason(() => verifyJwt(token, SECRET, exp * 1000 + 1))).toBe("expired");
    expect(verifyJwt(token, SECRET, NOW_MS).tenant_id).toBe("cached");
  });
});
