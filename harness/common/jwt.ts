import { createHmac } from "node:crypto";

/** Claims of a client token (wire protocol v1): `tenant_id` and `exp` are required; `session_id` pins a session. */
export interface ClientTokenClaims {
  tenant_id: string;
  /** Expiry, epoch seconds. */
  exp: number;
  /** Issued at, epoch seconds. */
  iat?: number;
  session_id?: string;
  [claim: string]: unknown;
}

const HEADER = base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));

function base64url(text: string | Buffer): string {
  return Buffer.from(text).toString("base64url");
}

/** Signs `claims` as a compact HS256 JWT with `secret`. */
export function signJwt(claims: Record<string, unknown>, secret: string): string {
  const body = `${HEADER}.${base64url(JSON.stringify(claims))}`;
  const signature = createHmac("sha256", secret).update(body).digest("base64url");
  return `${body}.${signature}`;
}

/**
 * An unsecured JWT (`alg: none`, empty signature) of `claims`: what an attacker sends to a verifier that trusts the
 * token's own header. Probes only; the gateway must refuse it (docs/protocol.md, Tokens).
 */
export function unsecuredJwt(claims: Record<string, unknown>): string {
  return `${base64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${base64url(JSON.stringify(claims))}.`;
}

/** Options of {@link mintClientToken}. */
export interface MintClientTokenOptions {
  tenantId: string;
  /** Pins the token to one session. */
  sessionId?: string;
  /** Lifetime in seconds; negative gives an already expired token. @default 3600 */
  ttlS?: number;
  /** "Now" in epoch ms. @default Date.now() */
  nowMs?: number;
}

/** Mints a client token the gateway accepts (`Authorization: Bearer <token>` or `?token=`). */
export function mintClientToken(secret: string, options: MintClientTokenOptions): string {
  const iat = Math.floor((options.nowMs ?? Date.now()) / 1000);
  const claims: ClientTokenClaims = { tenant_id: options.tenantId, iat, exp: iat + (options.ttlS ?? 3600) };
  if (options.sessionId !== undefined) claims.session_id = options.sessionId;
  return signJwt(claims, secret);
}
