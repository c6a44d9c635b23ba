/** The Toxiproxy-compatible server for tests: started on a free port, stopped when the test finishes. */
import { Toxiproxy, type Proxy } from "toxiproxy-node-client";
import { onTestFinished } from "vitest";
import { ToxiproxyServer, type StartedToxiproxyServer, type ToxiproxyServerOptions } from "../../harness/toxiproxy/index.js";

/** Starts a Toxiproxy-compatible server for one test (port 0 unless given); stopped when the test finishes. */
export async function useToxiproxyServer(options: ToxiproxyServerOptions = {}): Promise<StartedToxiproxyServer> {
  const server = await new ToxiproxyServer({ port: 0, ...options }).start();
  onTestFinished(() => server.stop());
  return server;
}

/** A server for one test and a toxiproxy-node-client on it. */
export async function useToxiproxy(options: ToxiproxyServerOptions = {}): Promise<{ server: StartedToxiproxyServer; toxiproxy: Toxiproxy }> {
  const server = await useToxiproxyServer(options);
  return { server, toxiproxy: new Toxiproxy(server.url) };
}

/** Creates proxy `name` on a free loopback port in front of `upstream` (`host:port`). */
export function proxyTo(toxiproxy: Toxiproxy, name: string, upstream: string): Promise<Proxy> {
  return toxiproxy.createProxy({ name, listen: "127.0.0.1:0", upstream });
}
