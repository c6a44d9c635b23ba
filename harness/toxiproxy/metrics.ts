/**
 * Prometheus text exposition for GET /metrics: the real server's proxy byte counters and, in place of Go's
 * runtime collectors, the Node process's own figures.
 */
import type { FaultProxy } from "./fault-proxy.js";

/** Which metric families /metrics shows. */
export interface MetricsSelection {
  proxyMetrics: boolean;
  runtimeMetrics: boolean;
}

const PROCESS_START_SECONDS = Date.now() / 1000 - process.uptime();

function label(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** Renders the metrics of `proxies` (sorted by name) in Prometheus text format 0.0.4. */
export function renderMetrics(proxies: readonly FaultProxy[], selection: MetricsSelection): string {
  const lines: string[] = [];
  if (selection.proxyMetrics) {
    for (const [metric, field, help] of [
      ["toxiproxy_proxy_received_bytes_total", "received", "Number of bytes received from the upstream or the client"],
      ["toxiproxy_proxy_sent_bytes_total", "sent", "Number of bytes sent to the upstream or the client"],
    ] as const) {
      lines.push(`# HELP ${metric} ${help}`, `# TYPE ${metric} counter`);
      for (const proxy of proxies) {
        for (const direction of ["downstream", "upstream"] as const) {
          const labels = `direction="${direction}",listener="${label(proxy.listen)}",proxy="${label(proxy.name)}",upstream="${label(proxy.upstream)}"`;
          lines.push(`${metric}{${labels}} ${proxy.counters[direction][field]}`);
        }
      }
    }
  }
  if (selection.runtimeMetrics) {
    const memory = process.memoryUsage();
    const cpu = process.cpuUsage();
    const gauges: Array<[string, string, string, number]> = [
      ["process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", (cpu.user + cpu.system) / 1e6],
      ["process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", memory.rss],
      ["process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", PROCESS_START_SECONDS],
      ["nodejs_heap_size_total_bytes", "gauge", "Process heap size from Node.js in bytes.", memory.heapTotal],
      ["nodejs_heap_size_used_bytes", "gauge", "Process heap size used from Node.js in bytes.", memory.heapUsed],
      ["nodejs_external_memory_bytes", "gauge", "Node.js external memory size in bytes.", memory.external],
    ];
    for (const [name, type, help, value] of gauges) lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`);
  }
  return lines.length > 0 ? `${lines.join("\n")}\n` : "";
}
