/**
 * JSON decoding and encoding that behave like Go's `encoding/json` as the Toxiproxy server uses it: only the first
 * JSON value of a body is read, object keys match struct fields case-insensitively, unknown keys are ignored, `null`
 * keeps the default, and a wrong type is an error naming the Go field. Encoding escapes `<`, `>` and `&` as Go does.
 */
import { ApiError } from "./api-error.js";

/** The kind of a struct field, as Go would declare it. */
export type GoFieldKind = "string" | "bool" | "int" | "float32" | "object";

/** One field of a decoded struct: its JSON name (the canonical spelling) and its kind. */
export interface GoField {
  readonly name: string;
  readonly kind: GoFieldKind;
}

/** A Go struct as seen by the decoder: its Go type name (for messages) and its fields. */
export interface GoStruct {
  readonly typeName: string;
  readonly fields: readonly GoField[];
}

const GO_KIND_NAMES: Record<GoFieldKind, string> = {
  string: "string",
  bool: "bool",
  int: "int64",
  float32: "float32",
  object: "map[string]interface {}",
};

function badBody(message: string): ApiError {
  return new ApiError(`bad request body: ${message}`, 400);
}

function jsonTypeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "object") return "object";
  if (typeof value === "boolean") return "bool";
  return typeof value;
}

/**
 * Returns the first JSON value of `text`, ignoring whatever follows it, as `json.NewDecoder(r).Decode()` does.
 * Throws a 400 `bad request body: EOF` for an empty body and `unexpected EOF` for a truncated one.
 */
export function decodeFirstJsonValue(text: string): unknown {
  let start = 0;
  while (start < text.length && /\s/.test(text[start]!)) start++;
  if (start >= text.length) throw badBody("EOF");
  const end = scanValueEnd(text, start);
  if (end < 0) throw badBody("unexpected EOF");
  try {
    return JSON.parse(text.slice(start, end));
  } catch {
    const ch = text[start]!;
    throw badBody(
      /[[{"\-0-9tfn]/.test(ch)
        ? `invalid character in JSON value starting at offset ${start}`
        : `invalid character '${ch}' looking for beginning of value`,
    );
  }
}

/** Index just past the JSON value that starts at `start`, or -1 when the text ends inside it. */
function scanValueEnd(text: string, start: number): number {
  const first = text[start]!;
  if (first === "{" || first === "[") {
    let depth = 0;
    let inString = false;
    for (let i = start; i < text.length; i++) {
      const ch = text[i]!;
      if (inString) {
        if (ch === "\\") i++;
        else if (ch === '"') inString = false;
      } else if (ch === '"') inString = true;
      else if (ch === "{" || ch === "[") depth++;
      else if (ch === "}" || ch === "]") {
        depth--;
        if (depth === 0) return i + 1;
      }
    }
    return -1;
  }
  if (first === '"') {
    for (let i = start + 1; i < text.length; i++) {
      const ch = text[i]!;
      if (ch === "\\") i++;
      else if (ch === '"') return i + 1;
    }
    return -1;
  }
  let i = start;
  while (i < text.length && !/[\s,\]}[{"]/.test(text[i]!)) i++;
  return i;
}

/**
 * Decodes `value` into the fields of `struct`: keys match case-insensitively (the last matching key wins), unknown
 * keys are ignored, `null` leaves a field out (the caller's default stays). Returns only the fields present.
 * A non-object value or a field of the wrong type is a 400 with Go's wording.
 */
export function decodeStruct(value: unknown, struct: GoStruct): Record<string, unknown> {
  if (value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw badBody(`json: cannot unmarshal ${jsonTypeOf(value)} into Go value of type ${struct.typeName}`);
  }
  const byLowerName = new Map(struct.fields.map((field) => [field.name.toLowerCase(), field]));
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(value as Record<string, unknown>)) {
    const field = byLowerName.get(key.toLowerCase());
    if (!field || raw === null) continue;
    out[field.name] = decodeField(raw, field, struct.typeName);
  }
  return out;
}

function decodeField(raw: unknown, field: GoField, typeName: string): unknown {
  const mismatch = (): ApiError => {
    const shown = typeof raw === "number" ? `number ${raw}` : jsonTypeOf(raw);
    return badBody(
      `json: cannot unmarshal ${shown} into Go struct field ${typeName}.${field.name} of type ${GO_KIND_NAMES[field.kind]}`,
    );
  };
  switch (field.kind) {
    case "string":
      if (typeof raw !== "string") throw mismatch();
      return raw;
    case "bool":
      if (typeof raw !== "boolean") throw mismatch();
      return raw;
    case "int":
      // Beyond 2^53 a JS number no longer holds an exact int64, so such values are refused rather than rounded.
      if (typeof raw !== "number" || !Number.isSafeInteger(raw)) throw mismatch();
      return raw;
    case "float32":
      if (typeof raw !== "number" || !Number.isFinite(raw) || Math.abs(raw) > 3.4028234663852886e38) throw mismatch();
      return float32Short(raw);
    case "object":
      if (typeof raw !== "object" || Array.isArray(raw)) throw mismatch();
      return raw;
  }
}

/**
 * Rounds `value` to a float32 and returns the shortest decimal that maps back to the same float32, so that it
 * serializes as Go prints a float32 (`0.2`, not `0.20000000298023224`).
 */
export function float32Short(value: number): number {
  const f = Math.fround(value);
  for (let precision = 1; precision <= 9; precision++) {
    const candidate = Number(f.toPrecision(precision));
    if (Math.fround(candidate) === f) return candidate;
  }
  return f;
}

/** `JSON.stringify` with Go's HTML-safe escaping of `<`, `>`, `&`, U+2028 and U+2029. */
export function goMarshal(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
