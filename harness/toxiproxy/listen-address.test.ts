import { describe, expect, it } from "vitest";
import { formatHostPort, resolveListen, splitHostPort } from "./listen-address.js";

describe("listen addresses", () => {
  it("should split host and port as Go does", () => {
    expect(splitHostPort("localhost:3310")).toEqual({ host: "localhost", port: 3310 });
    expect(splitHostPort(":0")).toEqual({ host: "", port: 0 });
    expect(splitHostPort("[::1]:80")).toEqual({ host: "::1", port: 80 });
    expect(() => splitHostPort("local373")).toThrow("listen tcp: address local373: missing port in address");
    expect(() => splitHostPort("a:b:c")).toThrow(/too many colons/);
    expect(() => splitHostPort("a:70000")).toThrow(/invalid port/);
    expect(() => splitHostPort("a:http")).toThrow(/unknown port/);
  });

  it("should resolve localhost to IPv4 and print IPv6 in brackets", async () => {
    expect((await resolveListen("localhost:3310")).text).toBe("127.0.0.1:3310");
    expect((await resolveListen("127.0.0.1:0")).text).toBe("127.0.0.1:0");
    expect((await resolveListen(":8080")).text).toBe(":8080");
    expect(formatHostPort("::1", 5)).toBe("[::1]:5");
    await expect(resolveListen("no-such-host.invalid:1")).rejects.toMatchObject({ status: 500, message: "listen tcp: lookup no-such-host.invalid: no such host" });
  });
});
