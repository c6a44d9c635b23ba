import { describe, expect, it } from "vitest";
import { reasonToken } from "./client-handshake.js";

describe("reasonToken", () => {
  it("should keep a refusal's reason phrase only when it is one short bare token", () => {
    expect(reasonToken("REGISTRY_UNAVAILABLE")).toBe("REGISTRY_UNAVAILABLE");
    expect(reasonToken("Unauthorized")).toBe("Unauthorized");
    for (const hostile of ["", "Service Unavailable", "<script>alert(1)</script>", "A\u0000B", "_X", "9LIVES", "X".repeat(65), "DRAINING\r\nSet-Cookie: x"]) {
      expect(reasonToken(hostile), JSON.stringify(hostile)).toBeUndefined();
    }
    expect(reasonToken("X".repeat(64))).toBe("X".repeat(64));
  });
});
