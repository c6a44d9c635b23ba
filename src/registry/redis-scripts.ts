import { createHash } from "node:crypto";
import { Command } from "ioredis";
import {
  DELETE_IF_EQUAL_SCRIPT,
  HEARTBEAT_SCRIPT,
  INDEX_ADD_SCRIPT,
  NAME_ADD_SCRIPT,
  SESSION_CONNECTIONS_SCRIPT,
  STATE_UPDATE_SCRIPT,
  UNREGISTER_SCRIPT,
  WRITE_SCRIPT,
} from "./lua-scripts.js";
import type { RedisClient } from "./redis-client.js";

/** A script reply value. */
export type Reply = unknown;
/** A script argument. */
export type Arg = string | number;

/** The scripts of lua-scripts.ts, as ioredis custom commands (EVALSHA with EVAL fallback). */
export interface ScriptCommands {
  trafficCopWrite(...args: Arg[]): Promise<(string | number)[]>;
  trafficCopUnregister(...args: Arg[]): Promise<Reply[]>;
  trafficCopHeartbeat(...args: Arg[]): Promise<Reply[]>;
  trafficCopSessionConnections(...args: Arg[]): Promise<string>;
  trafficCopStateUpdate(...args: Arg[]): Promise<number>;
  trafficCopIndexAdd(...args: Arg[]): Promise<number>;
  trafficCopNameAdd(...args: Arg[]): Promise<number>;
  trafficCopDeleteIfEqual(...args: Arg[]): Promise<number>;
}

/** A client with the registry's scripts defined. */
export type ScriptClient = RedisClient & ScriptCommands;

const SCRIPTS: Record<keyof ScriptCommands, { lua: string; numberOfKeys: number }> = {
  trafficCopWrite: { lua: WRITE_SCRIPT, numberOfKeys: 1 },
  trafficCopUnregister: { lua: UNREGISTER_SCRIPT, numberOfKeys: 1 },
  trafficCopHeartbeat: { lua: HEARTBEAT_SCRIPT, numberOfKeys: 1 },
  trafficCopSessionConnections: { lua: SESSION_CONNECTIONS_SCRIPT, numberOfKeys: 1 },
  trafficCopStateUpdate: { lua: STATE_UPDATE_SCRIPT, numberOfKeys: 2 },
  trafficCopIndexAdd: { lua: INDEX_ADD_SCRIPT, numberOfKeys: 1 },
  trafficCopNameAdd: { lua: NAME_ADD_SCRIPT, numberOfKeys: 1 },
  trafficCopDeleteIfEqual: { lua: DELETE_IF_EQUAL_SCRIPT, numberOfKeys: 1 },
};

/** Defines the scripts on `client` (once per client: a second registry on it reuses them). */
export function defineScripts(client: RedisClient): ScriptClient {
  for (const [name, script] of Object.entries(SCRIPTS)) {
    if (typeof (client as unknown as Record<string, unknown>)[name] !== "function") client.defineCommand(name, script);
  }
  return client as ScriptClient;
}

/**
 * Sends a script with one key at once, outside ioredis' auto-pipeline (which waits for `setImmediate`): a full
 * batch reaches Redis while the caller is still producing the next one. EVALSHA, with EVAL when Redis lost its
 * script cache. Standalone Redis only (batches of more than one item exist only there).
 */
export async function evalNow(client: RedisClient, lua: string, key: string, args: Arg[]): Promise<unknown> {
  const send = (name: "evalsha" | "eval", script: string) => {
    const command = new Command(name, [script, 1, key, ...args]);
    void client.sendCommand(command);
    return command.promise;
  };
  try {
    return await send("evalsha", scriptSha(lua));
  } catch (error) {
    if (error instanceof Error && error.message.startsWith("NOSCRIPT")) return send("eval", lua);
    throw error;
  }
}

const SHAS = new Map<string, string>();

/** SHA1 of a script (memoised). */
function scriptSha(lua: string): string {
  let sha = SHAS.get(lua);
  if (sha === undefined) SHAS.set(lua, (sha = createHash("sha1").update(lua).digest("hex")));
  return sha;
}
