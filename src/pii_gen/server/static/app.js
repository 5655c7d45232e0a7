"use strict";
// The wizard: source -> options -> preview -> run (live over Server-Sent Events) -> result. It speaks to the
// same API as every other client; nothing here a user must build.

const $ = (id) => document.getElementById(id);
const STEPS = ["source", "options", "preview", "run", "result"];
const FINAL = ["succeeded", "failed", "cancelled", "crashed"];
// Settings of a pack shown as groups (by name); the rest go under "More settings".
const GROUPS = [
  ["Households and devices", /household|device|smart_tv/],
  ["Identifiers", /identifier|email|phone|ip_|cookie|limit_ad/],
  ["Engagement", /engagement|visit|conversion/],
  ["Audience and campaigns", /campaign|holdout|audience|reach/],
  ["Volumes", /orders|companies|visits|growth/],
  ["Rates", /share|failure|rejection/],
];
const state = { packs: [], schemas: [], job: null, after: 0, stream: null, preview: {} };

function token() { return sessionStorage.getItem("pii_gen_token") || ""; }

async function api(path, options = {}) {
  const headers = {};
  if (options.body) headers["Content-Type"] = "application/json";
  if (token()) headers.Authorization = "Bearer " + token();
  const res = await fetch(path, { ...options, headers });
  if (res.status === 401) { $("token-box").hidden = false; $("token").focus(); }
  const text = await res.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (e) { body = { detail: text }; }
  if (!res.ok) throw new Error((body && body.detail) || res.statusText);
  return body;
}

function fail(err) {
  const box = $("error");
  box.textContent = err instanceof Error ? err.message : String(err);
  box.hidden = false;
}
function clearError() { $("error").hidden = true; }

function show(step) {
  clearError();
  STEPS.forEach((name, i) => {
    $("step-" + name).hidden = name !== step;
    const li = document.querySelector(`#steps li[data-step=${name}]`);
    li.classList.toggle("current", name === step);
    li.classList.toggle("done", i < STEPS.indexOf(step));
    if (name === step) li.setAttribute("aria-current", "step"); else li.removeAttribute("aria-current");
  });
  $("h-" + step).focus();
}

function kind() { return document.querySelector("input[name=kind]:checked").value; }
function pack() { return state.packs.find((p) => p.name === $("pack").value); }

// -- step 1: source ---------------------------------------------------------------------------------------

async function loadSources() {
  const [packs, schemas, toggle] = await Promise.all([api("/packs"), api("/schemas"), api("/toggle")]);
  state.packs = packs;
  state.schemas = schemas;
  $("pack").replaceChildren(...packs.map((p) => new Option(p.name, p.name)));
  fillSchemas();
  $("generation-switch").checked = toggle.enabled;
  onPack();
}

function fillSchemas(selected) {
  const options = state.schemas.map((s) => new Option(`${s.name} (${s.tables.length} tables)`, s.name));
  if (!options.length) options.push(new Option("none yet: upload one", ""));
  $("schema").replaceChildren(...options);
  if (selected) $("schema").value = selected;
  onSchema();
}

function onPack() {
  const p = pack();
  if (!p) return;
  $("pack-summary").textContent = p.summary;
  const options = [new Option("none: the pack's own rates", "")];
  p.scenarios.forEach((s) => options.push(new Option(`${s.name}: ${s.summary}`, s.name)));
  $("scenario").replaceChildren(...options);
}

function onSchema() {
  const s = state.schemas.find((x) => x.name === $("schema").value);
  $("schema-summary").textContent = s ? "Tables: " + s.tables.join(", ") : "";
}

function onKind() {
  $("pack-box").hidden = kind() !== "pack";
  $("schema-box").hidden = kind() !== "schema";
}

async function upload(event) {
  const file = event.target.files[0];
  if (!file) return;
  const name = file.name.replace(/\.ya?ml$/i, "").replace(/[^A-Za-z0-9_-]/g, "_").replace(/^[^A-Za-z0-9]+/, "") || "schema";
  try {
    const info = await api("/schemas", { method: "POST", body: JSON.stringify({ name, text: await file.text() }) });
    state.schemas = await api("/schemas");
    fillSchemas(info.name);
  } catch (err) { fail(err); }
}

// -- step 2: options --------------------------------------------------------------------------------------

function field(id, label, attrs) {
  const wrap = document.createElement("label");
  wrap.htmlFor = id;
  wrap.textContent = label;
  const input = document.createElement("input");
  input.id = id;
  Object.entries(attrs).forEach(([k, v]) => { if (v !== undefined && v !== null) input.setAttribute(k, v); });
  wrap.appendChild(input);
  return wrap;
}

function group(title, fields) {
  const set = document.createElement("fieldset");
  set.className = "group";
  const legend = document.createElement("legend");
  legend.textContent = title;
  const grid = document.createElement("div");
  grid.className = "grid";
  fields.forEach((f) => grid.appendChild(f));
  set.append(legend, grid);
  return set;
}

function settingField(name, spec) {
  const number = typeof spec.default === "number";
  return field("set-" + name, name.replaceAll("_", " "), {
    type: number ? "number" : "text", value: spec.default, min: spec.min, max: spec.max, step: number ? "any" : undefined,
    "data-setting": name, "data-default": spec.default,
  });
}

function buildOptions() {
  const box = $("options-fields");
  box.replaceChildren();
  if (kind() === "population") {
    box.append(
      group("Population", [field("count", "People", { type: "number", min: 1, value: 10000, required: true })]),
      group("Demographics", [field("min-age", "Youngest age", { type: "number", min: 0, max: 120, value: 0 }),
        field("max-age", "Oldest age", { type: "number", min: 0, max: 120, value: 90 })]),
      group("Households and noise", [households(), noise()]),
    );
    return;
  }
  if (kind() === "schema") {
    box.append(group("Size", [field("scale", "Scale (rows times this)", { type: "number", min: 0.001, step: "any", value: 1 })]));
    return;
  }
  const p = pack();
  const settings = Object.entries(p.settings);
  const calendar = "from" in p.settings && "to" in p.settings;
  if (calendar) {
    box.append(group("Calendar and volume", [
      field("from", "From", { type: "date", value: p.settings.from.default, required: true }),
      field("to", "To", { type: "date", value: p.settings.to.default, required: true }),
      field("multiplier", "Multiplier", { type: "number", min: 0.01, step: "any", value: p.settings.multiplier ? p.settings.multiplier.default : 1 }),
    ]));
  }
  if (p.people) {
    box.append(group("Population", [field("count", "People (population size)", { type: "number", min: 1, value: p.people })]),
      group("Demographics", [field("min-age", "Youngest age", { type: "number", min: 0, max: 120, value: 0 }),
        field("max-age", "Oldest age", { type: "number", min: 0, max: 120, value: 90 }), households()]));
  }
  const rest = settings.filter(([name]) => !["from", "to", "multiplier"].includes(name));
  const placed = new Set();
  GROUPS.forEach(([title, pattern]) => {
    const mine = rest.filter(([name]) => pattern.test(name) && !placed.has(name));
    mine.forEach(([name]) => placed.add(name));
    if (mine.length) box.append(group(title, mine.map(([name, spec]) => settingField(name, spec))));
  });
  const others = rest.filter(([name]) => !placed.has(name));
  if (others.length) box.append(group("More settings", others.map(([name, spec]) => settingField(name, spec))));
}

function households() {
  const wrap = document.createElement("label");
  wrap.htmlFor = "households";
  const input = document.createElement("input");
  input.type = "checkbox"; input.id = "households"; input.checked = true;
  wrap.append(input, " Households in the population (people live together)");
  wrap.style.flexDirection = "row";
  return wrap;
}

function noise() {
  const wrap = document.createElement("label");
  wrap.htmlFor = "noise";
  wrap.textContent = "Noise (real data's mess)";
  const select = document.createElement("select");
  select.id = "noise";
  ["none", "light", "realistic", "heavy"].forEach((n) => select.add(new Option(n, n)));
  wrap.appendChild(select);
  return wrap;
}

function request() {
  const body = {};
  const value = (id) => { const el = $(id); return el && el.value !== "" ? el.value : null; };
  if (kind() === "pack") {
    body.pack = $("pack").value;
    if ($("scenario").value) body.scenario = $("scenario").value;
    if (value("from")) body.from = value("from");
    if (value("to")) body.to = value("to");
    if (value("multiplier")) body.multiplier = Number(value("multiplier"));
    const settings = {};
    document.querySelectorAll("[data-setting]").forEach((el) => {
      if (el.value !== "" && el.value !== String(el.dataset.default)) {
        settings[el.dataset.setting] = el.type === "number" ? Number(el.value) : el.value;
      }
    });
    if (Object.keys(settings).length) body.settings = settings;
    const population = {};
    if (value("min-age") !== null && (value("min-age") !== "0" || value("max-age") !== "90")) {
      population.demographics = { min_age: Number(value("min-age")), max_age: Number(value("max-age")) };
    }
    if ($("households") && !$("households").checked) population.households = { enabled: false };
    if (Object.keys(population).length) body.population = population;
  } else if (kind() === "schema") {
    if (!$("schema").value) throw new Error("choose a schema file on the server, or upload one");
    body.schema = $("schema").value;
    if (value("scale") && Number(value("scale")) !== 1) body.scale = Number(value("scale"));
  } else {
    body.config = { demographics: { min_age: Number(value("min-age") || 0), max_age: Number(value("max-age") || 90) },
      households: { enabled: $("households").checked } };
    if ($("noise").value !== "none") body.noise = $("noise").value;
  }
  if (value("count")) body.count = Number(value("count"));
  if (value("seed")) body.seed = Number(value("seed"));
  if (value("db")) {
    body.db = value("db");
    if (value("db-schema")) body.db_schema = value("db-schema");
  } else {
    body.format = $("format").value;
  }
  return body;
}

// -- step 3: preview --------------------------------------------------------------------------------------

async function preview() {
  let body;
  try { body = request(); } catch (err) { fail(err); return; }
  show("preview");
  $("preview-status").textContent = "Making the first rows…";
  $("preview-grid").replaceChildren();
  $("start").disabled = true;
  try {
    const done = await api("/preview", { method: "POST", body: JSON.stringify(body) });
    state.preview = done.tables;
    const names = Object.keys(done.tables).filter((n) => done.tables[n].length);
    $("preview-table").replaceChildren(...names.map((n) => new Option(`${n} (${done.tables[n].length} rows)`, n)));
    $("preview-status").textContent = `${names.length} tables`;
    drawPreview();
    $("start").disabled = false;
  } catch (err) {
    $("preview-status").textContent = "";
    fail(err);
  }
}

function drawPreview() {
  const rows = state.preview[$("preview-table").value] || [];
  const grid = $("preview-grid");
  grid.replaceChildren();
  if (!rows.length) return;
  const columns = Object.keys(rows[0]);
  const head = grid.createTHead().insertRow();
  columns.forEach((c) => { const th = document.createElement("th"); th.scope = "col"; th.textContent = c; head.appendChild(th); });
  const body = grid.createTBody();
  rows.forEach((r) => { const tr = body.insertRow(); columns.forEach((c) => { tr.insertCell().textContent = r[c] === null ? "" : String(r[c]); }); });
}

// -- step 4: run ------------------------------------------------------------------------------------------

async function start() {
  let body;
  try { body = request(); } catch (err) { fail(err); return; }
  $("start").disabled = true;
  try {
    const job = await api("/jobs", { method: "POST", body: JSON.stringify(body) });
    state.job = job;
    state.after = 0;
    show("run");
    $("job-id").textContent = job.id;
    $("cancel").disabled = false;
    draw(job);
    follow(job.id);
  } catch (err) { fail(err); } finally { $("start").disabled = false; }
}

async function follow(id) {
  // fetch-based Server-Sent Events, so a token can go in a header; a dropped stream resumes after the last id
  while (state.job && state.job.id === id && !FINAL.includes(state.job.state)) {
    try {
      const headers = { Accept: "text/event-stream" };
      if (token()) headers.Authorization = "Bearer " + token();
      if (state.after) headers["Last-Event-ID"] = String(state.after);
      const res = await fetch(`/jobs/${id}/events`, { headers });
      if (!res.ok) throw new Error(res.statusText);
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          onMessage(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
        }
      }
    } catch (err) { /* reconnect below */ }
    state.job = await api(`/jobs/${id}`);
    draw(state.job);
    if (!FINAL.includes(state.job.state)) await new Promise((r) => setTimeout(r, 1000));
  }
  if (state.job && state.job.id === id) finished(state.job);
}

function onMessage(text) {
  const msg = { data: "" };
  text.split("\n").forEach((line) => {
    if (line.startsWith("id:")) msg.id = Number(line.slice(3));
    else if (line.startsWith("event:")) msg.event = line.slice(6).trim();
    else if (line.startsWith("data:")) msg.data += line.slice(5).trim();
  });
  if (!msg.event) return;
  if (msg.id) state.after = msg.id;
  const data = msg.data ? JSON.parse(msg.data) : {};
  const job = state.job;
  if (msg.event === "progress") job.progress = data;
  if (["running", "cancelling", "succeeded", "failed", "cancelled", "crashed"].includes(msg.event)) job.state = msg.event;
  if (msg.event === "validating") $("figures").textContent = "Validating the files…";
  if (msg.event === "succeeded") job.result = data;
  if (msg.event === "failed" || msg.event === "crashed") job.error = data.error;
  draw(job);
}

function fmt(n) { return Math.round(n).toLocaleString("en-US"); }

function draw(job) {
  const p = job.progress || {};
  $("state").textContent = job.state;
  $("state").className = "badge " + job.state;
  const percent = job.state === "succeeded" ? 100 : (p.percent || 0);
  $("bar-fill").style.width = percent + "%";
  $("percent").textContent = percent.toFixed(1).replace(/\.0$/, "") + "%";
  $("bar").setAttribute("aria-valuenow", String(percent));
  if (p.rows_total) {
    const eta = p.eta_seconds ? ` · about ${Math.ceil(p.eta_seconds)} s left` : "";
    $("figures").textContent = `${fmt(p.rows_total)} rows · ${fmt(p.rows_per_second)} rows/s` + (p.table ? ` · writing ${p.table}` : "") + eta;
  }
  const body = document.querySelector("#table-progress tbody");
  const names = Array.from(new Set([...Object.keys(p.expected || {}), ...Object.keys(p.rows || {})]));
  body.replaceChildren(...names.map((name) => {
    const tr = document.createElement("tr");
    const done = (p.rows || {})[name] || 0;
    const expected = (p.expected || {})[name];
    const share = expected ? Math.min(100, (100 * done) / expected) : (job.state === "succeeded" ? 100 : (p.percent || 0));
    tr.insertCell().textContent = name;
    tr.insertCell().textContent = fmt(done) + (expected ? ` of ${fmt(expected)}` : "");
    const bar = document.createElement("div"); bar.className = "mini";
    const fill = document.createElement("div"); fill.style.width = share + "%"; bar.appendChild(fill);
    tr.insertCell().appendChild(bar);
    return tr;
  }));
}

async function cancel() {
  if (!state.job) return;
  $("cancel").disabled = true;
  try { state.job = await api(`/jobs/${state.job.id}/cancel`, { method: "POST" }); draw(state.job); } catch (err) { fail(err); }
}

// -- step 5: result ---------------------------------------------------------------------------------------

async function finished(job) {
  show("result");
  const outcome = $("outcome");
  const words = { succeeded: "The job succeeded", failed: "The job failed", cancelled: "The job was cancelled", crashed: "The job crashed" };
  outcome.innerHTML = "";
  const badge = document.createElement("span"); badge.className = "badge " + job.state; badge.textContent = job.state;
  const text = document.createElement("span");
  const secs = job.result && job.result.seconds ? ` in ${job.result.seconds.toFixed(1)} s` : "";
  text.textContent = ` ${words[job.state] || job.state}${secs}` + (job.error ? `: ${job.error}` : ".");
  outcome.append(badge, text);
  const report = job.result && job.result.report;
  $("score-box").hidden = !report;
  if (report) {
    $("score").textContent = report.score.toFixed(1).replace(/\.0$/, "");
    $("score").parentElement.classList.toggle("low", !report.ok);
    $("checks").textContent = Object.entries(report.checks).map(([k, v]) => `${v} ${k}`).join(" · ") + ` (passes at ${report.min_score})`;
  }
  $("report-box").hidden = !(report && report.html);
  if (report && report.html) await frame(`/jobs/${job.id}/report.html`);
  $("downloads").hidden = true;
  $("cleanup-box").hidden = !(job.request && job.request.db && job.state === "succeeded");
  $("cleanup-out").replaceChildren();
  if (job.state === "succeeded" && !job.request.db) {
    const files = await api(`/jobs/${job.id}/files`);
    $("downloads").hidden = false;
    link($("zip"), `/jobs/${job.id}/download`, `pii_gen-${job.id}.zip`);
    $("file-list").replaceChildren(...files.map((f) => {
      const li = document.createElement("li"); const a = document.createElement("a");
      a.textContent = `${f.name} (${fmt(f.bytes / 1024)} KiB)`;
      link(a, f.href, f.name);
      li.appendChild(a); return li;
    }));
  }
}

function link(a, href, name) {
  // without a token a plain link; with one, fetched with the header and handed over as a blob
  a.href = href;
  a.download = name;
  a.onclick = token() ? async (event) => {
    event.preventDefault();
    const res = await fetch(href, { headers: { Authorization: "Bearer " + token() } });
    const url = URL.createObjectURL(await res.blob());
    const tmp = document.createElement("a"); tmp.href = url; tmp.download = name; tmp.click();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } : null;
}

async function frame(href) {
  if (!token()) { $("report").src = href; return; }
  const res = await fetch(href, { headers: { Authorization: "Bearer " + token() } });
  $("report").srcdoc = await res.text();
}

async function cleanupList() {
  const job = state.job;
  const out = $("cleanup-out");
  try {
    const body = { db: job.request.db, db_schema: job.request.db_schema || null };
    const listing = await api("/cleanup", { method: "POST", body: JSON.stringify(body) });
    out.replaceChildren();
    const p = document.createElement("p");
    p.textContent = listing.tables.length ? `In ${listing.where}: ` + listing.tables.map((t) => `${t.name} (${fmt(t.rows)} rows)`).join(", ") : "Nothing pii_gen made is left there.";
    out.appendChild(p);
    if (listing.token) {
      const button = document.createElement("button");
      button.className = "danger";
      button.textContent = `Drop them (token ${listing.token}, valid ${listing.expires_in} s)`;
      button.onclick = async () => {
        try {
          const done = await api("/cleanup", { method: "POST", body: JSON.stringify({ ...body, confirm: listing.token }) });
          p.textContent = done.dropped ? `Dropped ${done.tables.length} tables.` : "Nothing was dropped.";
          button.remove();
        } catch (err) { fail(err); }
      };
      out.appendChild(button);
      button.focus();
    }
  } catch (err) { fail(err); }
}

// -- wiring -----------------------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("input[name=kind]").forEach((r) => r.addEventListener("change", onKind));
  $("pack").addEventListener("change", onPack);
  $("schema").addEventListener("change", onSchema);
  $("schema-file").addEventListener("change", upload);
  $("to-options").addEventListener("click", () => { buildOptions(); show("options"); });
  $("back-source").addEventListener("click", () => show("source"));
  $("to-preview").addEventListener("click", () => { if ($("options-form").reportValidity()) preview(); });
  $("options-form").addEventListener("submit", (e) => { e.preventDefault(); preview(); });
  $("back-options").addEventListener("click", () => show("options"));
  $("preview-table").addEventListener("change", drawPreview);
  $("start").addEventListener("click", start);
  $("cancel").addEventListener("click", cancel);
  $("cleanup-list").addEventListener("click", cleanupList);
  $("again").addEventListener("click", () => { state.job = null; show("source"); });
  $("generation-switch").addEventListener("change", async (e) => {
    try { await api("/toggle", { method: "POST", body: JSON.stringify({ enabled: e.target.checked }) }); } catch (err) { fail(err); }
  });
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem("pii_gen_token", $("token").value);
    $("token-box").hidden = true;
    loadSources().catch(fail);
  });
  show("source");
  loadSources().catch(fail);
});
