export {
  DEFAULT_TOXIPROXY_SERVER_OPTIONS,
  ToxiproxyServer,
  StartedToxiproxyServer,
  resolveToxiproxyServerOptions,
  type ResolvedToxiproxyServerOptions,
  type ToxiproxyServerOptions,
} from "./toxiproxy-server.js";
export { TOXIPROXY_VERSION } from "./toxiproxy-api.js";
export { TOXIC_TYPES, type ToxicType, type ToxicDirection } from "./toxic-spec.js";
