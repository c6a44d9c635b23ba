/**
 * The request bodies of the Toxiproxy API as Go structs (field names, kinds and the type names its errors quote),
 * and the /populate body, checked whole before anything is created.
 */
import { API_ERRORS, ApiError } from "./api-error.js";
import { decodeFirstJsonValue, decodeStruct, type GoStruct } from "./go-json.js";

/** Body of a proxy create or update (`proxy.Proxy`). */
export const PROXY_STRUCT: GoStruct = {
  typeName: "proxy.Proxy",
  fields: [
    { name: "name", kind: "string" },
    { name: "listen", kind: "string" },
    { name: "upstream", kind: "string" },
    { name: "enabled", kind: "bool" },
  ],
};
/** Body of a toxic create (`toxics.ToxicWrapper`). */
export const TOXIC_STRUCT: GoStruct = {
  typeName: "toxics.ToxicWrapper",
  fields: [
    { name: "name", kind: "string" },
    { name: "type", kind: "string" },
    { name: "stream", kind: "string" },
    { name: "toxicity", kind: "float32" },
    { name: "attributes", kind: "object" },
  ],
};
/** Body of a toxic update. */
export const TOXIC_UPDATE_STRUCT: GoStruct = {
  typeName: "struct { Attributes interface {} \"json:\\\"attributes\\\"\"; Toxicity float32 \"json:\\\"toxicity\\\"\" }",
  fields: [
    { name: "attributes", kind: "object" },
    { name: "toxicity", kind: "float32" },
  ],
};
const POPULATE_TYPE = '[]struct { proxy.Proxy; Enabled *bool "json:\\"enabled\\"" }';

/** One proxy of a /populate body. */
export type PopulateItem = { name: string; listen: string; upstream: string; enabled: boolean };

/** Decodes and validates a /populate body before anything is created (Go checks every item first). */
export function parsePopulateBody(body: string): PopulateItem[] {
  const value = decodeFirstJsonValue(body);
  if (value !== null && !Array.isArray(value)) {
    const kind = typeof value === "object" ? "object" : typeof value === "boolean" ? "bool" : typeof value;
    throw new ApiError(`bad request body: json: cannot unmarshal ${kind} into Go value of type ${POPULATE_TYPE}`, 400);
  }
  const items = ((value ?? []) as unknown[]).map((item) => ({
    listen: "",
    upstream: "",
    name: "",
    enabled: true,
    ...decodeStruct(item, PROXY_STRUCT),
  })) as PopulateItem[];
  items.forEach((item, index) => {
    if (item.name === "") throw API_ERRORS.missingField(`name at proxy ${index + 1}`);
    if (item.upstream === "") throw API_ERRORS.missingField(`upstream at proxy ${index + 1}`);
  });
  return items;
}
