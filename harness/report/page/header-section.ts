/// <reference lib="dom" />
/** The verdict header: the outcome, the run's identity, the reproduce command and the fleet's totals. */
import { reproCommand } from "./repro.js";
import { runChecks, statusClass, type PageRun } from "./run-model.js";
import { compactJson, esc, fmtDuration, fmtNumber, fmtTime, isObject, list, num, obj, text } from "./values.js";

const VERDICTS: Record<string, string> = { passed: "PASSED", failed: "FAILED", error: "HARNESS ERROR", aborted: "ABORTED" };

/** One labelled value of a field grid; `raw` when the value is already HTML. */
export function field(label: string, value: string, raw = false): string {
  return `<div class="field"><dt>${esc(label)}</dt><dd>${raw ? value : esc(value)}</dd></div>`;
}

/** The header section's HTML. */
export function renderHeader(run: PageRun): string {
  const status = text(run.status, "unknown");
  const config = obj(run.config);
  const profile = obj(config.resolved_profile);
  const sut = obj(config.sut);
  const checks = runChecks(run);
  const failed = checks.filter((c) => c.pass !== true).length;
  const repro = reproCommand(run);
  let html = `<header class="verdict ${statusClass(status)}" id="verdict" data-status="${esc(status)}">`;
  html += `<div class="verdict-line"><span class="badge">${esc(VERDICTS[status] ?? "UNKNOWN")}</span><h1>${esc(text(run.scenario, "unnamed scenario"))}</h1><span class="exit">exit code ${esc(text(run.exit_code, "–"))}</span></div>`;
  if (text(run.description)) html += `<p class="description">${esc(run.description)}</p>`;
  const summary = checks.length === 0 ? "No checks recorded." : failed === 0 ? `All ${checks.length} checks passed.` : `${failed} of ${checks.length} checks failed.`;
  html += `<p class="checks-summary">${summary}</p>`;
  if (isObject(run.error) || typeof run.error === "string") {
    const err = obj(run.error);
    html += `<div class="run-error" id="run-error"><b>The harness could not finish the run${text(err.code) ? ` (${esc(err.code)})` : ""}:</b><pre>${esc(text(err.message, text(run.error, compactJson(run.error))))}</pre></div>`;
  }
  html += `<dl class="fields">`;
  html += field("seed", text(run.seed, "unknown"));
  html += field("profile", text(run.profile, text(config.profile, "–")));
  html += field("runtime", text(config.runtime, "–"));
  html += field("registry", text(config.registry, "–") + (text(config.redis) ? ` (Redis ${text(config.redis)})` : ""));
  html += field("duration", fmtDuration(run.duration_ms));
  html += field("started", fmtTime(run.started_at));
  html += field("instances × clients", `${text(profile.instances, "–")} × ${text(profile.clients, "–")}`);
  // What ran: the image on containers (none named for the reference gateway: the runtime's own), else the command.
  const ran = config.runtime === "containers" ? (text(sut.image) ? `image ${text(sut.image)}` : "") : text(sut.command) ? [text(sut.command), ...list(sut.args).map(String)].join(" ") : "";
  html += field("system under test", text(sut.name, "–") + (ran ? ` — ${ran}` : ""));
  html += field("run id", text(run.run_id, "–"));
  html += "</dl>";
  html += `<div class="repro"><span>Reproduce${repro.seedKnown ? "" : " (the seed was not recorded)"}:</span><code id="repro-command">${esc(repro.command)}</code><button type="button" id="copy-repro">copy</button></div>`;
  if (repro.sut && repro.sut !== "reference") html += `<p class="note">Replace SUT.json with the definition of the system under test “${esc(repro.sut)}”.</p>`;
  if (repro.gatewayEnv.length) html += `<p class="note">The gateways also ran with ${esc(repro.gatewayEnv.join(" "))} (set by the caller, not a CLI flag).</p>`;
  return `${html}${renderFleetFigures(run)}</header>`;
}

function renderFleetFigures(run: PageRun): string {
  const f = obj(run.fleet_summary);
  if (Object.keys(f).length === 0) return "";
  const m = obj(f.messages);
  const lat = obj(f.latency);
  const pct = (k: string): string => {
    const l = obj(lat[k]);
    return num(l.p50) === null ? "–" : `${fmtNumber(l.p50, 1)} / ${fmtNumber(l.p99, 1)} ms`;
  };
  return (
    `<dl class="fields figures">` +
    field("clients", text(f.clients, "–")) +
    field("welcomes / disconnects", `${fmtNumber(f.welcomes, 0)} / ${fmtNumber(f.disconnects, 0)}`) +
    field("connect errors", fmtNumber(f.connectErrors, 0)) +
    field("messages sent / acked / errors", `${fmtNumber(m.sent, 0)} / ${fmtNumber(m.acked, 0)} / ${fmtNumber(m.errors, 0)}`) +
    field("delivered / received", `${fmtNumber(m.delivered, 0)} / ${fmtNumber(m.received, 0)}`) +
    field("connect p50 / p99", pct("connect")) +
    field("route ack p50 / p99", pct("ack")) +
    field("delivery p50 / p99", pct("delivery")) +
    "</dl>"
  );
}

/** Wires the copy button of the reproduce command; where the clipboard is refused, the command is selected instead. */
export function wireCopy(doc: Document): void {
  const button = doc.getElementById("copy-repro");
  const code = doc.getElementById("repro-command");
  if (!button || !code) return;
  button.addEventListener("click", () => {
    const select = (): void => {
      const range = doc.createRange();
      range.selectNodeContents(code);
      const selection = doc.defaultView?.getSelection();
      selection?.removeAllRanges();
      selection?.addRange(range);
      button.textContent = "selected: press Ctrl+C";
    };
    const clipboard = doc.defaultView?.navigator.clipboard;
    if (clipboard?.writeText) clipboard.writeText(code.textContent ?? "").then(() => void (button.textContent = "copied"), select);
    else select();
  });
}
