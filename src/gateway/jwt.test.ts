import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { NBF_LEEWAY_S, TokenError, signJwt, verifyJwt } from "./jwt.js";

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

  it("should refuse an nbf beyond the leeway, also from the cache, unless told to ignore it", () => {
    const nowS = NOW_MS / 1000;
    expect(reason(() => verifyJwt(signJwt({ tenant_id: "t", exp, nbf: nowS + NBF_LEEWAY_S + 1 }, SECRET), SECRET, NOW_MS))).toBe("not_yet_valid");
    expect(reason(() => verifyJwt(signJwt({ tenant_id: "t", exp, nbf: nowS + NBF_LEEWAY_S }, SECRET), SECRET, NOW_MS))).toBe("accepted");
    expect(reason(() => verifyJwt(signJwt({ tenant_id: "t", exp, nbf: "soon" }, SECRET), SECRET, NOW_MS))).toBe("bad_claims");
    const early = signJwt({ tenant_id: "early", exp, nbf: nowS + 30 }, SECRET);
    expect(verifyJwt(early, SECRET, NOW_MS, { ignoreNbf: true }).tenant_id).toBe("early");
    // Cached by the lenient call above: still refused by a strict one.
    expect(reason(() => verifyJwt(early, SECRET, NOW_MS))).toBe("not_yet_valid");
    expect(verifyJwt(early, SECRET, (nowS + 30) * 1000).tenant_id).toBe("early");
  });

  it("should accept an expired token or an unsecured one only when a failpoint says so, and never remember the unsecured one", () => {
    const expired = signJwt({ tenant_id: "late", exp: NOW_MS / 1000 - 60 }, SECRET);
    expect(reason(() => verifyJwt(expired, SECRET, NOW_MS))).toBe("expired");
    expect(verifyJwt(expired, SECRET, NOW_MS, { ignoreExp: true }).tenant_id).toBe("late");
    // Remembered by the lenient call: still expired for a strict one.
    expect(reason(() => verifyJwt(expired, SECRET, NOW_MS))).toBe("expired");
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const unsecured = `${b64({ alg: "none", typ: "JWT" })}.${b64({ tenant_id: "forged", exp })}.`;
    expect(reason(() => verifyJwt(unsecured, SECRET, NOW_MS))).toBe("malformed");
    expect(verifyJwt(unsecured, SECRET, NOW_MS, { acceptUnsecured: true }).tenant_id).toBe("forged");
    expect(reason(() => verifyJwt(unsecured, SECRET, NOW_MS))).toBe("malformed");
    // The failpoint trusts `alg: none` only: a bad HS256 signature is still refused.
    expect(reason(() => verifyJwt(signJwt({ tenant_id: "t", exp }, "other"), SECRET, NOW_MS, { acceptUnsecured: true }))).toBe("bad_signature");
  });

  it("should not read iat, unless the refuse-future-iat failpoint asks it to refuse one in the future", () => {
    const nowS = NOW_MS / 1000;
    // An instance whose clock runs a minute behind the issuer's sees a fresh token issued a minute ahead.
    const fresh = signJwt({ tenant_id: "fresh", exp, iat: nowS + 60 }, SECRET);
    expect(reason(() => verifyJwt(fresh, SECRET, NOW_MS))).toBe("accepted");
    // Cached by the call above: refused all the same, by the clock of this call.
    expect(reason(() => verifyJwt(fresh, SECRET, NOW_MS, { refuseFutureIat: true }))).toBe("not_yet_valid");
    expect(reason(() => verifyJwt(signJwt({ tenant_id: "t", exp, iat: nowS + 1 }, SECRET), SECRET, NOW_MS, { refuseFutureIat: true }))).toBe("not_yet_valid");
    expect(reason(() => verifyJwt(signJwt({ tenant_id: "t", exp, iat: nowS }, SECRET), SECRET, NOW_MS, { refuseFutureIat: true }))).toBe("accepted");
  });
});
