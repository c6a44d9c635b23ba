import { describe, expect, it } from "vitest";
import { decodeFirstJsonValue, decodeStruct, float32Short, goMarshal } from "./go-json.js";

const STRUCT = { typeName: "proxy.Proxy", fields: [{ name: "name", kind: "string" }, { name: "enabled", kind: "bool" }] } as const;

describe("go-json", () => {
  it("should read only the first JSON value and report EOF on an empty body", () => {
    expect(decodeFirstJsonValue(' {"a":"}"} {"b":2}')).toEqual({ a: "}" });
    expect(decodeFirstJsonValue("[1,[2]]xyz")).toEqual([1, [2]]);
    expect(() => decodeFirstJsonValue("  ")).toThrow(expect.objectContaining({ message: "bad request body: EOF", status: 400 }));
    expect(() => decodeFirstJsonValue('{"a":')).toThrow(expect.objectContaining({ message: "bad request body: unexpected EOF" }));
    expect(() => decodeFirstJsonValue("x")).toThrow(/invalid character 'x' looking for beginning of value/);
  });

  it("should match keys case-insensitively, ignore unknown keys and nulls, and name the field on a type error", () => {
    expect(decodeStruct({ NAME: "a", Enabled: false, other: 1, name2: 3 }, STRUCT)).toEqual({ name: "a", enabled: false });
    expect(decodeStruct({ name: null }, STRUCT)).toEqual({});
    expect(() => decodeStruct({ name: 5 }, STRUCT)).toThrow(
      "bad request body: json: cannot unmarshal number 5 into Go struct field proxy.Proxy.name of type string",
    );
    expect(() => decodeStruct([], STRUCT)).toThrow("bad request body: json: cannot unmarshal array into Go value of type proxy.Proxy");
  });

  it("should print float32 values in short form and escape HTML characters as Go", () => {
    expect(float32Short(0.2)).toBe(0.2);
    expect(float32Short(1)).toBe(1);
    expect(float32Short(0.1 + 0.2)).toBe(0.3);
    expect(goMarshal({ e: "<a&b>" })).toBe('{"e":"\\u003ca\\u0026b\\u003e"}');
  });
});
