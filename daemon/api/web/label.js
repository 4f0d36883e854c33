// actiond's label page: label recordings with the keyboard, save them to a dataset, train on it,
// try the candidate beside a camera's model (shadow mode), promote it, roll back. Every step is an
// HTTP API call (docs/API.md). No build step.
"use strict";

const FRAME_S = 1 / 25;
const LIVE_WINDOW_S = 120;
const token = new URLSearchParams(location.hash.slice(1)).get("token");
const withToken = (url) => token ? url + (url.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token) : url;
const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};
const colours = new Map();
function colour(label) {
  if (!colours.has(label)) colours.set(label, `hsl(${(colours.size * 137.5 + 200) % 360} 65% 55%)`);
  return colours.get(label);
}

const state = {
  labels: [], segments: [], undo: [], current: 0, pending: null, selected: -1, model: [],
  cameras: [], models: [], jobs: [], shadowEvents: [], shadowAfter: 0,
};

async function api(method, path, body, type) {
  const headers = {};
  if (token) headers.Authorization = "Bearer " + token;
  let payload;
  if (body !== undefined) {
    headers["Content-Type"] = type || "application/json";
    payload = typeof body === "string" ? body : JSON.stringify(body);
  }
  const res = await fetch(path, { method, headers, body: payload });
  const text = await res.text();
  let json = {};
  try { json = text ? JSON.parse(text) : {}; } catch (e) { json = { error: text }; }
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${json.error || ""}`);
  return json;
}
const say = (msg) => { $("status").textContent = msg; };
const fail = (e) => say(String(e.message || e));

// ---- recordings, the player, the two tracks --------------------------------------------------
const player = $("player");
const recording = () => $("recording").value;
const duration = () => (isFinite(player.duration) && player.duration > 0 ? player.duration : 1);

async function loadRecordings() {
  const { recordings } = await api("GET", "/api/recordings");
  const sel = $("recording");
  sel.replaceChildren(...recordings.map((r) => {
    const o = el("option", "", r.id);
    o.value = r.id;
    return o;
  }));
  if (recordings.length) await openRecording(recordings[0].id);
}

async function openRecording(id) {
  $("recording").value = id;
  state.pending = null;
  state.selected = -1;
  player.src = withToken("/api/recordings/" + id.split("/").map(encodeURIComponent).join("/"));
  state.model = [];
  try {
    state.model = (await api("GET", "/api/recording-segments?id=" + encodeURIComponent(id))).segments;
  } catch (e) { fail(e); }
  draw();
}

function bar(track, seg, cls) {
  const b = el("div", "seg " + (cls || ""));
  b.style.left = `${(100 * seg.start) / duration()}%`;
  b.style.width = `${Math.max(0.3, (100 * (seg.end - seg.start)) / duration())}%`;
  b.style.background = colour(seg.label);
  b.title = `${seg.label} ${seg.start.toFixed(2)}–${seg.end.toFixed(2)} s`;
  b.dataset.label = seg.label;
  track.append(b);
  return b;
}

function draw() {
  const mine = $("mine"), model = $("model");
  for (const t of [mine, model]) t.querySelectorAll(".seg").forEach((b) => b.remove());
  const here = state.segments.map((s, k) => [s, k]).filter(([s]) => s.video === recording());
  for (const [s, k] of here) {
    const b = bar(mine, s, k === state.selected ? "selected" : "");
    b.dataset.index = k;
    b.onclick = (ev) => { ev.stopPropagation(); state.selected = k; player.currentTime = s.start; draw(); };
  }
  if (state.pending !== null) {
    const t = player.currentTime;
    bar(mine, { label: state.labels[state.current] || "?", start: Math.min(state.pending, t), end: Math.max(state.pending, t) }, "pending");
  }
  for (const s of state.model) bar(model, s);
  const x = `${(100 * player.currentTime) / duration()}%`;
  document.querySelectorAll(".playhead").forEach((p) => { p.style.left = x; });
  $("time").textContent = `${player.currentTime.toFixed(2)} / ${duration().toFixed(2)} s`;
  $("pending").textContent = state.pending !== null ? `started at ${state.pending.toFixed(2)} s: E ends it` : "";
  $("labels").replaceChildren(...state.labels.map((l, k) => {
    const s = el("span", "labelkey" + (k === state.current ? " current" : ""), `${k + 1} ${l}`);
    s.style.background = colour(l);
    s.onclick = () => { state.current = k; draw(); };
    return s;
  }));
  $("segments").replaceChildren(...state.segments.map((s, k) => {
    const li = el("li", "", `${s.video} · ${s.label} · ${s.start.toFixed(2)}–${s.end.toFixed(2)} s`);
    li.onclick = () => { openRecording(s.video).then(() => { state.selected = k; player.currentTime = s.start; draw(); }); };
    return li;
  }));
}

for (const id of ["mine", "model"]) {
  $(id).onclick = (ev) => {
    const r = ev.currentTarget.getBoundingClientRect();
    player.currentTime = ((ev.clientX - r.left) / r.width) * duration();
  };
}
player.ontimeupdate = draw;
player.onloadedmetadata = draw;
player.onseeked = draw;

// ---- editing ---------------------------------------------------------------------------------
function edit(fn) {
  state.undo.push(JSON.stringify({ labels: state.labels, segments: state.segments }));
  fn();
  $("saved").textContent = "unsaved changes";
  draw();
}
function addLabel(name) {
  name = name.trim();
  if (!name || state.labels.includes(name)) return;
  edit(() => state.labels.push(name));
  state.current = state.labels.length - 1;
  draw();
}
function markStart() { state.pending = player.currentTime; draw(); }
function markEnd() {
  if (state.pending === null) return say("S marks the start first");
  if (!state.labels.length) return say("add a label first");
  const a = Math.min(state.pending, player.currentTime), b = Math.max(state.pending, player.currentTime);
  state.pending = null;
  if (b - a < FRAME_S) return say("a segment needs at least one frame");
  edit(() => {
    // What the new segment covers is taken from the segments it overlaps (the newest wins).
    const video = recording();
    const out = [];
    for (const s of state.segments) {
      if (s.video !== video || s.end <= a || s.start >= b) { out.push(s); continue; }
      if (s.start < a) out.push(Object.assign({}, s, { end: a }));
      if (s.end > b) out.push(Object.assign({}, s, { start: b }));
    }
    out.push({ video, label: state.labels[state.current], start: +a.toFixed(3), end: +b.toFixed(3) });
    state.segments = out;
  });
}
function undo() {
  const last = state.undo.pop();
  if (!last) return say("nothing to undo");
  Object.assign(state, JSON.parse(last));
  state.selected = -1;
  draw();
}
function removeSelected() {
  if (state.selected < 0) return;
  edit(() => state.segments.splice(state.selected, 1));
  state.selected = -1;
  draw();
}

document.addEventListener("keydown", (ev) => {
  if (ev.target.tagName === "INPUT" || ev.target.tagName === "SELECT") return;
  const k = ev.key;
  if ((ev.ctrlKey || ev.metaKey) && k.toLowerCase() === "s") { ev.preventDefault(); save(); return; }
  if ((ev.ctrlKey || ev.metaKey) && k.toLowerCase() === "z") { ev.preventDefault(); undo(); return; }
  if (k === " ") { ev.preventDefault(); player.paused ? player.play() : player.pause(); }
  else if (k === ",") { player.pause(); player.currentTime = Math.max(0, player.currentTime - FRAME_S); }
  else if (k === ".") { player.pause(); player.currentTime = Math.min(duration(), player.currentTime + FRAME_S); }
  else if (k === "ArrowLeft") player.currentTime = Math.max(0, player.currentTime - 1);
  else if (k === "ArrowRight") player.currentTime = Math.min(duration(), player.currentTime + 1);
  else if (k >= "1" && k <= "9" && +k <= state.labels.length) { state.current = +k - 1; draw(); }
  else if (k === "s" || k === "S" || k === "[") markStart();
  else if (k === "e" || k === "E" || k === "]") markEnd();
  else if (k === "z" || k === "Z") undo();
  else if (k === "Delete" || k === "Backspace") removeSelected();
  else if (k === "Escape") { state.pending = null; draw(); }
  else return;
  ev.preventDefault();
});

// ---- datasets --------------------------------------------------------------------------------
const datasetName = () => $("dataset").value.trim();
const knownDatasets = new Set();
async function openDataset() {
  try {
    if (!knownDatasets.has(datasetName())) throw new Error(" 404 ");
    const d = await api("GET", "/api/datasets/" + encodeURIComponent(datasetName()));
    state.labels = d.labels;
    state.segments = d.segments;
    $("saved").textContent = `opened ${d.name}: ${d.segments.length} segment(s)`;
  } catch (e) {
    if (!String(e.message).includes(" 404 ")) return fail(e);
    state.labels = state.labels.length ? state.labels : [];
    state.segments = [];
    $("saved").textContent = `new dataset ${datasetName()}`;
  }
  state.undo = [];
  $("export").href = withToken(`/api/datasets/${encodeURIComponent(datasetName())}/export?format=csv`);
  draw();
}
async function save() {
  try {
    const d = await api("PUT", "/api/datasets/" + encodeURIComponent(datasetName()), { labels: state.labels, segments: state.segments });
    $("saved").textContent = `saved: ${d.segments.length} segment(s) in ${d.name}`;
    await loadDatasets();
  } catch (e) { fail(e); $("saved").textContent = "not saved"; }
}
async function loadDatasets() {
  const { datasets } = await api("GET", "/api/datasets");
  for (const d of datasets) knownDatasets.add(d.name);
  $("datasets").replaceChildren(...datasets.map((d) => { const o = el("option"); o.value = d.name; return o; }));
}
$("open-dataset").onclick = openDataset;
$("save").onclick = save;
$("add-label").onclick = () => { addLabel($("new-label").value); $("new-label").value = ""; };
$("new-label").onkeydown = (ev) => { if (ev.key === "Enter") $("add-label").onclick(); };
$("recording").onchange = () => openRecording(recording());
$("play").onclick = () => (player.paused ? player.play() : player.pause());
$("back").onclick = () => { player.currentTime = Math.max(0, player.currentTime - FRAME_S); };
$("fwd").onclick = () => { player.currentTime = player.currentTime + FRAME_S; };
$("use-model").onclick = () => edit(() => {
  for (const s of state.model) {
    if (!state.labels.includes(s.label)) state.labels.push(s.label);
    state.segments.push({ video: recording(), label: s.label, start: +s.start.toFixed(3), end: +s.end.toFixed(3) });
  }
});
$("import").onchange = async (ev) => {
  const file = ev.target.files[0];
  if (!file) return;
  try {
    const text = await file.text();
    await api("POST", `/api/datasets/${encodeURIComponent(datasetName())}/import`, text, file.name.endsWith(".json") ? "application/json" : "text/csv");
    await openDataset();
  } catch (e) { fail(e); }
};

// ---- train -----------------------------------------------------------------------------------
function cameraOptions(sel) {
  sel.replaceChildren(...state.cameras.map((c) => { const o = el("option", "", c.id); o.value = c.id; return o; }));
}
async function loadJobs() {
  const { jobs, running } = await api("GET", "/api/train");
  state.jobs = jobs;
  $("jobs").replaceChildren(...jobs.map((j) => {
    const li = el("li", "", `${j.id} · ${j.dataset} · ${j.state} `);
    if (j.report) {
      const a = el("a", "", "report");
      a.href = withToken(`/api/train/${j.id}/files/report.html`);
      a.target = "_blank";
      li.append(a);
    }
    if (j.result && j.result.verdict) li.append(el("div", "dim", j.result.verdict));
    return li;
  }));
  const ok = jobs.filter((j) => j.state === "succeeded");
  $("candidate").replaceChildren(...ok.map((j) => { const o = el("option", "", j.id); o.value = j.id; return o; }));
  if (running) follow(running);
}
let following = null;
function follow(id) {
  if (following === id) return;
  following = id;
  const src = new EventSource(withToken(`/api/train/${id}/stream`));
  const show = (ev) => {
    const j = JSON.parse(ev.data);
    const log = $("train-log");
    log.textContent = (log.textContent + j.output.join("\n") + (j.output.length ? "\n" : "")).slice(-8000);
    log.scrollTop = log.scrollHeight;
    if (j.progress && j.progress.fraction !== undefined) $("progress").value = j.progress.fraction;
    say(`training ${id}: ${j.state}${j.progress && j.progress.stage ? " · " + j.progress.stage : ""}`);
    if (ev.type === "end") { src.close(); following = null; loadJobs().catch(fail); }
  };
  src.addEventListener("progress", show);
  src.addEventListener("end", show);
}
$("train").onclick = async () => {
  try {
    $("train-log").textContent = "";
    $("progress").value = 0;
    const job = await api("POST", "/api/train", { dataset: datasetName(), camera: $("train-camera").value, steps_scale: +$("steps-scale").value,
                                                 min_examples: +$("min-examples").value });
    follow(job.id);
  } catch (e) { fail(e); }
};
$("cancel").onclick = () => api("DELETE", "/api/train").then(loadJobs).catch(fail);

// ---- try, promote, roll back -----------------------------------------------------------------
const tryCamera = () => $("try-camera").value;
const modelsOf = (camera) => state.models.filter((m) => m.cameras.includes(camera) && (m.kind === "segmenter" || m.kind === "recognizer"));
async function loadModels() {
  state.models = (await api("GET", "/api/models")).models;
  $("models").replaceChildren(...state.models.map((m) => el("li", "", `${m.name} (${m.kind}) · ${m.model_name} ${m.version}` +
    ` · cameras ${m.cameras.join(", ") || "none"}${m.previous ? " · previous " + m.previous.version : ""}`)));
}
const candidateFile = (kind) => {
  const job = state.jobs.find((j) => j.id === $("candidate").value);
  return job ? `${job.folder}/${kind}.pt` : "";
};
$("shadow").onclick = async () => {
  try {
    await api("POST", `/api/cameras/${encodeURIComponent(tryCamera())}/shadow`, { candidate: candidateFile("segmenter") });
    state.shadowEvents = [];
    say(`trying ${$("candidate").value} on ${tryCamera()}`);
  } catch (e) { fail(e); }
};
$("unshadow").onclick = () => api("DELETE", `/api/cameras/${encodeURIComponent(tryCamera())}/shadow`).then(() => say("stopped trying")).catch(fail);
$("promote").onclick = async () => {
  try {
    for (const m of modelsOf(tryCamera())) {
      await api("POST", `/api/models/${encodeURIComponent(m.name)}/promote`, { candidate: candidateFile(m.kind) });
    }
    await loadModels();
    say(`promoted ${$("candidate").value} on ${tryCamera()}`);
  } catch (e) { fail(e); }
};
$("rollback").onclick = async () => {
  try {
    for (const m of modelsOf(tryCamera())) await api("POST", `/api/models/${encodeURIComponent(m.name)}/rollback`);
    await loadModels();
    say(`rolled back ${tryCamera()}`);
  } catch (e) { fail(e); }
};

// Both tracks over the last minutes, and where they agree (the share of time with the same label).
function intervals(events, now) {
  const open = new Map(), out = [];
  for (const e of events) {
    if (!e.segment || !e.segment.id) continue;
    const s = e.segment, t0 = Date.parse(s.start.time);
    const t1 = s.end ? Date.parse(s.end.time) : now;
    open.set(s.id, { label: s.label, a: t0, b: t1 });
  }
  for (const v of open.values()) out.push(v);
  return out;
}
function labelAt(iv, t) { const s = iv.find((x) => x.a <= t && t < x.b); return s ? s.label : ""; }
async function pollShadow() {
  const cam = tryCamera();
  if (!cam) return;
  const now = Date.now(), from = now - LIVE_WINDOW_S * 1000;
  const got = await api("GET", `/api/cameras/${encodeURIComponent(cam)}/shadow?after=${state.shadowAfter}`);
  state.shadowAfter = got.next;
  state.shadowEvents.push(...got.events.filter((e) => e.camera === cam));
  let liveEvents = [];
  try {
    const since = new Date(from).toISOString();
    liveEvents = (await api("GET", `/api/events?camera=${encodeURIComponent(cam)}&type=segment.&since=${since}&limit=1000&order=asc`)).events;
  } catch (e) { /* no journal: the live track stays empty */ }
  const tracks = { live: intervals(liveEvents, now), shadowed: intervals(state.shadowEvents, now) };
  for (const [id, iv] of Object.entries(tracks)) {
    const t = $(id);
    t.replaceChildren();
    for (const s of iv) {
      if (s.b < from) continue;
      const b = el("div", "seg");
      b.style.left = `${Math.max(0, (100 * (s.a - from)) / (LIVE_WINDOW_S * 1000))}%`;
      b.style.width = `${Math.max(0.3, (100 * (Math.min(s.b, now) - Math.max(s.a, from))) / (LIVE_WINDOW_S * 1000))}%`;
      b.style.background = colour(s.label);
      b.title = s.label;
      b.dataset.label = s.label;
      t.append(b);
    }
  }
  let same = 0, n = 0, runStart = null;
  const differ = $("differ");
  differ.replaceChildren();
  const mark = (a, b) => {
    const d = el("div", "differ");
    d.style.left = `${(100 * (a - from)) / (LIVE_WINDOW_S * 1000)}%`;
    d.style.width = `${Math.max(0.3, (100 * (b - a)) / (LIVE_WINDOW_S * 1000))}%`;
    differ.append(d);
  };
  for (let t = from; t < now; t += 200) {
    const a = labelAt(tracks.live, t), b = labelAt(tracks.shadowed, t);
    const differs = (a || b) && a !== b;
    if (differs && runStart === null) runStart = t;
    if (!differs && runStart !== null) { mark(runStart, t); runStart = null; }
    if (!a && !b) continue;
    n++;
    if (a === b) same++;
  }
  if (runStart !== null) mark(runStart, now);
  $("agreement").textContent = n ? `agree ${(100 * same / n).toFixed(0)} % of the labelled time in the last ${LIVE_WINDOW_S / 60} min` +
    ` (running: ${tracks.live.length} segment(s), candidate: ${tracks.shadowed.length})` : "no segment from either yet";
}

async function start() {
  try {
    state.cameras = (await api("GET", "/api/cameras")).cameras;
    cameraOptions($("train-camera"));
    cameraOptions($("try-camera"));
    await Promise.all([loadRecordings(), loadDatasets(), loadModels(), loadJobs()]);
    await openDataset();
    say("ready");
  } catch (e) { fail(e); }
  setInterval(() => pollShadow().catch(() => {}), 1000);
}

start();
