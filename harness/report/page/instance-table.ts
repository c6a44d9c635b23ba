/** The per-instance table: what each gateway instance went through, derived from the events and samples. */
import type { RunEvent, Sample } from "../run-result.js";
import type { ProcessMark } from "./intervals.js";
import { eventSource, eventText, eventType, eventValue } from "./run-model.js";
import { esc, fmtNumber, num, obj } from "./values.js";

/** One instance's figures. */
export interface InstanceRow {
  id: string;
  /** Clients on it at the last sample, and the most at any sample (the clients' view). */
  connectionsLast: number | null;
  connectionsPeak: number | null;
  /** Welcomes it sent: every connection made to it. */
  welcomes: number;
  /** Welcomes to a client that had been welcomed before (anywhere): reconnects landing here. */
  reconnects: number;
  /** Sockets on it that closed without the fleet asking. */
  unexpectedDisconnects: number;
  /** Route errors of clients while connected to it. */
  errors: number;
  kills: number;
  crashes: number;
  /** Starts after its first. */
  restarts: number;
}

/** Figures per instance, in the order of `instances`. */
export function instanceRows(instances: readonly string[], events: readonly RunEvent[], samples: readonly Sample[], marks: readonly ProcessMark[]): InstanceRow[] {
  const rows = new Map<string, InstanceRow>(
    instances.map((id) => [id, { id, connectionsLast: null, connectionsPeak: null, welcomes: 0, reconnects: 0, unexpectedDisconnects: 0, errors: 0, kills: 0, crashes: 0, restarts: 0 }]),
  );
  const welcomed = new Set<string>();
  const clientOn = new Map<string, string>();
  for (const e of events) {
    if (eventSource(e) !== "fleet") continue;
    const client = eventText(e, "client");
    const row = rows.get(eventText(e, "instance_id"));
    switch (eventType(e)) {
      case "welcome":
        if (row) {
          row.welcomes++;
          if (welcomed.has(client)) row.reconnects++;
        }
        welcomed.add(client);
        clientOn.set(client, eventText(e, "instance_id"));
        break;
      case "disconnect":
        if (row && eventValue(e, "expected") !== true) row.unexpectedDisconnects++;
        break;
      case "message_error": {
        const on = rows.get(clientOn.get(client) ?? "");
        if (on) on.errors++;
        break;
      }
      default:
        break;
    }
  }
  for (const s of samples) {
    const byInstance = obj(obj(s.fleet).by_instance);
    for (const row of rows.values()) {
      const n = num(byInstance[row.id]) ?? (s.fleet ? 0 : null);
      if (n === null) continue;
      row.connectionsLast = n;
      row.connectionsPeak = Math.max(row.connectionsPeak ?? 0, n);
    }
  }
  const started = new Set<string>();
  for (const m of marks) {
    const row = rows.get(m.target);
    if (!row) continue;
    if (m.kind === "kill") row.kills++;
    else if (m.kind === "crash") row.crashes++;
    else if (m.kind === "start") {
      if (started.has(m.target)) row.restarts++;
      started.add(m.target);
    }
  }
  return [...rows.values()];
}

/** The table's HTML ("" without instances). */
export function renderInstanceTable(rows: readonly InstanceRow[]): string {
  if (rows.length === 0) return "";
  const n = (v: number | null): string => esc(fmtNumber(v, 0));
  const cell = (v: number, bad = false): string => `<td class="${bad && v > 0 ? "bad" : ""}">${n(v)}</td>`;
  return (
    `<table class="instances" id="instance-table"><thead><tr><th>instance</th><th>connections (last / peak)</th><th>connections made</th><th>reconnects landed</th>` +
    `<th>unexpected disconnects</th><th>route errors</th><th>kills</th><th>crashes</th><th>restarts</th></tr></thead><tbody>` +
    rows
      .map(
        (r) =>
          `<tr data-instance="${esc(r.id)}"><th>${esc(r.id)}</th><td>${n(r.connectionsLast)} / ${n(r.connectionsPeak)}</td>${cell(r.welcomes)}${cell(r.reconnects)}` +
          `${cell(r.unexpectedDisconnects, true)}${cell(r.errors, true)}${cell(r.kills, true)}${cell(r.crashes, true)}${cell(r.restarts)}</tr>`,
      )
      .join("") +
    "</tbody></table>"
  );
}
