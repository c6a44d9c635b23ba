/**
 * The one place that names the container images of the topology and the labels every container and network
 * carries. The runtime (`container-runtime.ts`), the offline image build (`npm run images`) and the generated
 * `docker-compose.yml` all read these constants.
 */

/** What an image is for. */
export type ImageRole = "gateway" | "toxiproxy" | "redis";

/** Version part of every image built here; bump it when an image's layout changes in a way callers must notice. */
export const IMAGE_TAG = "0.2.0";

/** Images built offline from the host's own binaries (`docker/<role>/Dockerfile`). */
export const IMAGES: Readonly<Record<ImageRole, string>> = Object.freeze({
  gateway: `traffic-cop/gateway:${IMAGE_TAG}`,
  toxiproxy: `traffic-cop/toxiproxy-compatible:${IMAGE_TAG}`,
  redis: `traffic-cop/redis:${IMAGE_TAG}`,
});

/**
 * Shopify's real Toxiproxy v2 images, in order of preference. When one of them is present in the local image
 * store (nothing is ever pulled), the runtime uses it instead of {@link IMAGES}`.toxiproxy`.
 */
export const REAL_TOXIPROXY_IMAGES: readonly string[] = Object.freeze(["ghcr.io/shopify/toxiproxy:2.12.0", "ghcr.io/shopify/toxiproxy:latest", "shopify/toxiproxy:2.1.4", "shopify/toxiproxy:latest"]);

/** Ports inside the containers. */
export const CONTAINER_PORTS = Object.freeze({
  gateway: 8080,
  toxiproxyApi: 8474,
  redis: 6379,
  /** First proxy listen port inside the proxy container; instance `gw-N` gets `PROXY_BASE + N`. */
  proxyBase: 20_000,
  /** First client proxy listen port inside the proxy container (`clientProxies`); instance `gw-N` gets `CLIENT_PROXY_BASE + N`. */
  clientProxyBase: 21_000,
});

/** Label keys set on every container and network of a run (and read by the start-up sweep). */
export const LABELS = Object.freeze({
  /** Marks anything the harness made, with the value `"1"`. */
  managed: "traffic-cop.managed",
  /** The run id. */
  runId: "traffic-cop.run-id",
  /** Pid of the harness (or test worker) process that owns the run; the sweep removes objects of dead owners. */
  ownerPid: "traffic-cop.owner-pid",
  /** `gateway`, `toxiproxy`, `redis`, or `network`. */
  role: "traffic-cop.role",
  /** Instance id of a gateway container. */
  instance: "traffic-cop.instance",
  /** Image label: hash of everything the image was built from (warm builds skip when it matches). */
  contentHash: "traffic-cop.content-hash",
  /** Gateway image label: path of the libfaketime it carries (absent when the host had none at build time). */
  libfaketime: "traffic-cop.libfaketime",
});
