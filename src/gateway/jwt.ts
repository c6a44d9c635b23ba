import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from "node:crypto";
import type { IncomingMessage } from "node:http";

/** Claims the gateway reads from a client token. */
export interface TokenClaims {
  /** The tenant every read and write of the client is scoped to. */
  tenant_id: string;
  /** Expiry, in epoch seconds (RFC 7519). */
  exp: number;
  /** When present, the only session the token may connect to. */
  session_id?: string;
  /** When present, the token is not valid before this time, in epoch seconds (RFC 7519). */
  nbf?: number;
  [claim: string]: unknown;
}

/** Why a token was refused; `reason` is stable, for logs and metrics. */
export class TokenError extends Error {
  override readonly name = "TokenError";
  readonly reason: "missing" | "malformed" | "bad_signature" | "expired" | "not_yet_valid" | "bad_claims";

  constructor(reason: TokenError["reason"], message: string) {
    super(message);
    this.reason = reason;
  }
}

const MAX_TOKEN_LENGTH = 8_192;
/** Imported HMAC keys by secret: importing the key is a large part of one verification, and secrets are few. */
const KEYS = new Map<string, KeyObject>();
const MAX_CACHED_KEYS = 16;

function hmacKey(secret: string): KeyObject {
  let key = KEYS.get(secret);
  if (!key) {
    if (KEYS.size >= MAX_CACHED_KEYS) KEYS.clear();
    key = createSecretKey(Buffer.from(secret, "utf8"));
    KEYS.set(secret, key);
  }
  return key;
}
const CLOCK_SKEW_S = 0;
/**
 * How far in the future a token's `nbf` may lie and still be accepted, in seconds. Issuers commonly set `nbf` to
 * the moment of minting, and a client may use the token at once against a gateway whose clock runs slightly behind
 * the issuer's: NTP keeps hosts within milliseconds, so 5 s absorbs any sane skew while a token that is really
 * meant for later (minutes or hours ahead) is still refused. `exp` gets no leeway: extending a credential past its
 * end is the unsafe direction, refusing a fresh one for a few seconds is not.
 */
export const NBF_LEEWAY_S = 5;

/** How {@link verifyJwt} departs from the contract's checks: each only for a deliberate defect (a failpoint). */
export interface VerifyJwtOptions {
  /** Accept tokens whose `nbf` lies in the future (failpoint `ignore-nbf` only). @default false */
  ignoreNbf?: boolean;
  /**
   * Refuse tokens whose `iat` lies after `nowMs`, with no leeway, as some strict validators do (failpoint
   * `refuse-future-iat` only): a gateway whose clock runs behind the issuer's then refuses every fresh token.
   * The gateway does not read `iat`: it says when the token was minted, not from when it is valid. @default false
   */
  refuseFutureIat?: boolean;
  /** Accept tokens whose `exp` has passed (failpoint `accept-expired` only). @default false */
  ignoreExp?: boolean;
  /**
   * Accept unsecured tokens (`alg: none`, no signature) as if signed, trusting the token's own header (failpoint
   * `accept-alg-none` only: the classic forged-token hole). Such a token is never remembered. @default false
   */
  acceptUnsecured?: boolean;
}
/**
 * Tokens whose signature and claims were verified, by token string, with the secret they were verified with:
 * clients reconnect with the same token, and base64, JSON and HMAC are most of a connect's own CPU. Only tokens
 * that passed verification enter, so the cache cannot be filled by bad ones; `exp` is still checked on every use.
 */
const VERIFIED = new Map<string, { secret: string; claims: TokenClaims }>();
/** Most verified tokens kept; the oldest is dropped first. */
const MAX_VERIFIED_TOKENS = 10_000;
/** Longer tokens are verified every time, which bounds the cache's memory (about 10 MB), in characters. */
const MAX_CACHED_TOKEN_LENGTH = 1_024;

function base64url(input: Buffer | string): string {
  return Buffer.from(input).toString("base64url");
}

function decodeJson(segment: string): unknown {
  if (!/^[A-Za-z0-9_-]*$/.test(segment)) throw new TokenError("malformed", "token segment is not base64url");
  try {
    return JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
  } catch {
    throw new TokenError("malformed", "token segment is not JSON");
  }
}

/**
 * Signs `claims` as an HS256 JWT. Used by tests and tools that act as clients; the gateway only verifies.
 */
export function signJwt(claims: Record<string, unknown>, secret: string): string {
  const head = base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const body = base64url(JSON.stringify(claims));
  const signature = createHmac("sha256", secret).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${signature}`;
}

/**
 * Verifies an HS256 JWT with `secret` and returns its claims. Rejects other algorithms, bad signatures, tokens
 * whose `exp` (required, epoch seconds) has passed at `nowMs`, tokens whose `nbf` (optional, epoch seconds) lies
 * more than {@link NBF_LEEWAY_S} after `nowMs`, and tokens without a string `tenant_id`.
 */
export function verifyJwt(token: string | undefined, secret: string, nowMs = Date.now(), options: VerifyJwtOptions = {}): TokenClaims {
  if (!token) throw new TokenError("missing", "no token: send Authorization: Bearer <jwt> or ?token=<jwt>");
  if (token.length > MAX_TOKEN_LENGTH) throw new TokenError("malformed", `token longer than ${MAX_TOKEN_LENGTH} characters`);
  const cached = VERIFIED.get(token);
  if (cached !== undefined && cached.secret === secret) {
    if (!options.ignoreExp && cached.claims.exp + CLOCK_SKEW_S <= nowMs / 1000) {
      VERIFIED.delete(token);
      throw new TokenError("expired", "token has expired");
    }
    // A token cached while valid stays valid as time passes, but the cache is shared by every gateway of the process.
    checkNotBefore(cached.claims, nowMs, options);
    return cached.claims;
  }
  const parts = token.split(".");
  if (parts.length !== 3) throw new TokenError("malformed", "token must have three dot-separated parts");
  const [head, body, signature] = parts as [string, string, string];
  const header = decodeJson(head) as { alg?: unknown } | null;
  const alg = typeof header === "object" && header !== null ? header.alg : undefined;
  const unsecured = options.acceptUnsecured === true && alg === "none";
  if (!unsecured) {
    if (alg !== "HS256") throw new TokenError("malformed", "token algorithm must be HS256");
    const expected = createHmac("sha256", hmacKey(secret)).update(`${head}.${body}`).digest();
    const given = Buffer.from(signature, "base64url");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new TokenError("bad_signature", "token signature does not match AUTH_SECRET");
    }
  }
  const claims = decodeJson(body) as Partial<TokenClaims> | null;
  if (typeof claims !== "object" || claims === null || Array.isArray(claims)) throw new TokenError("bad_claims", "token claims are not an object");
  if (typeof claims.tenant_id !== "string" || claims.tenant_id === "") throw new TokenError("bad_claims", "token has no tenant_id");
  if (typeof claims.exp !== "number" || !Number.isFinite(claims.exp)) throw new TokenError("bad_claims", "token has no numeric exp");
  if (claims.session_id !== undefined && typeof claims.session_id !== "string") throw new TokenError("bad_claims", "token session_id must be a string");
  if (claims.nbf !== undefined && (typeof claims.nbf !== "number" || !Number.isFinite(claims.nbf))) throw new TokenError("bad_claims", "token nbf must be a number");
  if (!options.ignoreExp && claims.exp + CLOCK_SKEW_S <= nowMs / 1000) throw new TokenError("expired", "token has expired");
  checkNotBefore(claims as TokenClaims, nowMs, options);
  // Frozen: every later connect with this token gets the same object.
  const verified = Object.freeze(claims) as TokenClaims;
  if (token.length <= MAX_CACHED_TOKEN_LENGTH && !unsecured) {
    if (VERIFIED.size >= MAX_VERIFIED_TOKENS) VERIFIED.delete(VERIFIED.keys().next().value!);
    VERIFIED.set(token, { secret, claims: verified });
  }
  return verified;
}

function checkNotBefore(claims: TokenClaims, nowMs: number, options: VerifyJwtOptions): void {
  if (!options.ignoreNbf && claims.nbf !== undefined && claims.nbf > nowMs / 1000 + NBF_LEEWAY_S) {
    throw new TokenError("not_yet_valid", `token is not valid before ${new Date(claims.nbf * 1000).toISOString()} (nbf)`);
  }
  if (options.refuseFutureIat && typeof claims.iat === "number" && claims.iat > nowMs / 1000) {
    throw new TokenError("not_yet_valid", `token was issued in the future, at ${new Date(claims.iat * 1000).toISOString()} (iat)`);
  }
}

/** Reads the bearer token of a request: `Authorization: Bearer <jwt>`, else `?token=` of `url` (or of its query). */
export function requestToken(req: IncomingMessage, url: URL | URLSearchParams): string | undefined {
  const header = req.headers.authorization;
  if (header) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match ? match[1] : undefined;
  }
  return (url instanceof URLSearchParams ? url : url.searchParams).get("token") ?? undefined;
}
