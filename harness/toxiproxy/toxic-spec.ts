/**
 * Toxic types as the API sees them: names, directions, attributes with their Go types, defaults and validation.
 */
import { ApiError } from "./api-error.js";
import type { GoStruct } from "./go-json.js";

/** The toxic types the server registers. `down` is not one: disabling the proxy is how to take it down. */
export const TOXIC_TYPES = ["latency", "bandwidth", "slow_close", "timeout", "reset_peer", "slicer", "limit_data", "noop"] as const;

/** One of {@link TOXIC_TYPES}. */
export type ToxicType = (typeof TOXIC_TYPES)[number];

/** Which way a toxic acts: `upstream` is client to server, `downstream` server to client. */
export type ToxicDirection = "upstream" | "downstream";

/** Integer attributes of a toxic, every attribute of its type present. */
export type ToxicAttributes = Record<string, number>;

/** A toxic as the API stores it. */
export interface ToxicSpec {
  readonly name: string;
  readonly type: ToxicType;
  /** The stream exactly as the client sent it (the real server echoes `"UPSTREAM"` as given). */
  readonly stream: string;
  readonly direction: ToxicDirection;
  /** Probability in [0, 1] that the toxic acts on a given link; not range-checked, as in the real server. */
  readonly toxicity: number;
  readonly attributes: Readonly<ToxicAttributes>;
}

/** Attribute names of each type, in the order the real server serializes them, and the Go type for messages. */
export const TOXIC_ATTRIBUTE_STRUCTS: Record<ToxicType, GoStruct> = {
  latency: { typeName: "toxics.LatencyToxic", fields: [{ name: "latency", kind: "int" }, { name: "jitter", kind: "int" }] },
  bandwidth: { typeName: "toxics.BandwidthToxic", fields: [{ name: "rate", kind: "int" }] },
  slow_close: { typeName: "toxics.SlowCloseToxic", fields: [{ name: "delay", kind: "int" }] },
  timeout: { typeName: "toxics.TimeoutToxic", fields: [{ name: "timeout", kind: "int" }] },
  reset_peer: { typeName: "toxics.ResetToxic", fields: [{ name: "timeout", kind: "int" }] },
  slicer: {
    typeName: "toxics.SlicerToxic",
    fields: [
      { name: "average_size", kind: "int" },
      { name: "size_variation", kind: "int" },
      { name: "delay", kind: "int" },
    ],
  },
  limit_data: { typeName: "toxics.LimitDataToxic", fields: [{ name: "bytes", kind: "int" }] },
  noop: { typeName: "toxics.NoopToxic", fields: [] },
};

/** True when `type` is a registered toxic type. */
export function isToxicType(type: string): type is ToxicType {
  return (TOXIC_TYPES as readonly string[]).includes(type);
}

/** Every attribute of `type` set to zero, then overlaid with `given` (only the type's own keys). */
export function completeAttributes(type: ToxicType, given: Readonly<ToxicAttributes>): ToxicAttributes {
  const out: ToxicAttributes = {};
  for (const field of TOXIC_ATTRIBUTE_STRUCTS[type].fields) out[field.name] = given[field.name] ?? 0;
  return out;
}

/**
 * Rejects attribute values on which the real server hangs, panics or misbehaves (a deliberate deviation, see the
 * README): negative values, a bandwidth rate of 0, a slicer average size of 0, a size variation above the average.
 */
export function validateAttributes(type: ToxicType, attributes: Readonly<ToxicAttributes>): void {
  for (const [key, value] of Object.entries(attributes)) {
    if (value < 0) throw invalidAttribute(`${type}.${key} must be at least 0, got ${value}`);
  }
  if (type === "bandwidth" && attributes.rate! <= 0) {
    throw invalidAttribute(
      `bandwidth.rate must be greater than 0 KB/s, got ${attributes.rate}; to hold data with the socket open use a timeout toxic with timeout 0`,
    );
  }
  if (type === "slicer") {
    if (attributes.average_size! <= 0) throw invalidAttribute(`slicer.average_size must be greater than 0 bytes, got ${attributes.average_size}`);
    if (attributes.size_variation! > attributes.average_size!) {
      throw invalidAttribute(
        `slicer.size_variation (${attributes.size_variation}) must not exceed slicer.average_size (${attributes.average_size})`,
      );
    }
  }
}

function invalidAttribute(rule: string): ApiError {
  return new ApiError(`invalid toxic attributes: ${rule}`, 400);
}
