// actiond's live timeline: segments per camera over the last minutes, from the HTTP API
// (/api/cameras, /api/segments) and its live stream (/api/events/stream). No build step.
"use strict";

const WINDOW_S = 180;  // seconds of timeline shown
const token = new URLSearchParams(location.hash.slice(1)).get("token");
const withToken = (url) => token ? url + (url.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token) : url;
const cameras = new Map();   // id -> {el, track, now, state, segments: Map(id -> segment)}
const segments = new Map();  // id -> segment (as the API's /api/segments has it)
const colours = new Map();
let selected = null;

function colour(label) {
  if (!colours.has(label)) colours.set(label, `hsl(${(colours.size * 137.5 + 200) % 360} 65% 55%)`);
  return colours.get(label);
}
const ms = (t) => (t ? Date.parse(t) : NaN);
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

async function api(path) {
  const res = await fetch(withToken(path));
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return res.json();
}

function camera(id) {
  if (cameras.has(id)) return cameras.get(id);
  const box = el("div", "camera");
  const h = el("h2");
  const name = el("span", "", id);
  const now = el("span", "now", "");
  const state = el("span", "state", "");
  h.append(name, now, state);
  const track = el("div", "track");
  const axis = el("div", "axis");
  axis.append(el("span", "", `-${WINDOW_S / 60} min`), el("span", "", "now"));
  box.append(h, track, axis);
  box.dataset.camera = id;
  document.getElementById("cameras").append(box);
  const c = { el: box, track, now, state, bars: new Map() };
  cameras.set(id, c);
  return c;
}

function startMs(s) { return ms(s.start && s.start.time); }
function endMs(s) { return s.open ? Date.now() : ms(s.end && s.end.time); }

function upsert(seg) {
  const old = segments.get(seg.id);
  if (old && !old.open && seg.open) return;  // an update that arrived after the end
  segments.set(seg.id, Object.assign(old || {}, seg));
  camera(seg.camera);
}

function render() {
  const now = Date.now();
  const from = now - WINDOW_S * 1000;
  for (const [id, c] of cameras) {
    let current = null;
    for (const s of segments.values()) {
      if (s.camera !== id) continue;
      const a = startMs(s), b = endMs(s);
      let bar = c.bars.get(s.id);
      if (b < from) { if (bar) { bar.remove(); c.bars.delete(s.id); } continue; }
      if (!bar) {
        bar = el("div", "seg");
        bar.dataset.segment = s.id;
        bar.title = s.label;
        bar.onclick = () => select(s.id);
        c.track.append(bar);
        c.bars.set(s.id, bar);
      }
      bar.style.background = colour(s.label);
      bar.classList.toggle("open", !!s.open);
      bar.style.left = `${Math.max(0, (a - from) / (WINDOW_S * 10))}%`;
      bar.style.width = `${Math.max(0.2, (Math.min(b, now) - Math.max(a, from)) / (WINDOW_S * 10))}%`;
      if (s.open) current = s;
    }
    c.now.textContent = current ? current.label : "—";
    c.now.style.color = current ? colour(current.label) : "";
  }
  const list = document.getElementById("recent");
  const recent = [...segments.values()].sort((x, y) => startMs(y) - startMs(x)).slice(0, 50);
  list.replaceChildren(...recent.map((s) => {
    const li = el("li");
    li.dataset.segment = s.id;
    if (s.id === selected) li.classList.add("selected");
    const sw = el("span", "swatch");
    sw.style.background = colour(s.label);
    const dur = ((endMs(s) - startMs(s)) / 1000).toFixed(1);
    const when = new Date(startMs(s)).toLocaleTimeString();
    li.append(sw, el("span", "", `${s.camera} · ${s.label} · ${when} · ${dur} s${s.open ? " (open)" : ""}` +
                                  (s.repetitions !== undefined && s.repetitions !== null ? ` · ${s.repetitions} reps` : "")));
    li.onclick = () => select(s.id);
    return li;
  }));
}

async function select(id) {
  selected = id;
  render();
  const detail = document.getElementById("detail");
  try {
    const { segment: s } = await api(`/api/segments/${encodeURIComponent(id)}`);
    const parts = [el("p", "", `${s.camera}: ${s.label}, confidence ${Number(s.confidence).toFixed(2)}` +
                                (s.open ? " (open)" : `, ended: ${s.end_reason}`))];
    if (s.clip && s.clip.url) {
      const v = el("video");
      v.controls = true; v.muted = true; v.autoplay = true; v.playsInline = true;
      v.src = withToken(s.clip.url);
      parts.push(v);
    } else {
      parts.push(el("p", "none", s.open ? "The clip is written when the segment ends." : "No clip for this segment."));
    }
    if (s.snapshot && s.snapshot.url) {
      const img = el("img");
      img.alt = `snapshot of ${s.label}`;
      img.src = withToken(s.snapshot.url);
      parts.push(img);
    }
    detail.replaceChildren(...parts);
  } catch (e) {
    detail.replaceChildren(el("p", "none", String(e)));
  }
}

function onEvent(ev) {
  const e = JSON.parse(ev.data);
  if (e.segment && e.segment.id) {
    upsert(Object.assign({}, e.segment, { camera: e.camera, open: e.type !== "segment.end" }));
  } else if (e.type === "clip.ready" && segments.has(e.segment_id)) {
    segments.get(e.segment_id).clip = e.clip;
  } else if (e.type === "stream.status") {
    camera(e.camera).state.textContent = e.state;
  }
  render();
}

async function start() {
  const status = document.getElementById("status");
  try {
    const { cameras: cams } = await api("/api/cameras");
    for (const c of cams) camera(c.id).state.textContent = c.state || "";
    const since = new Date(Date.now() - WINDOW_S * 1000).toISOString();
    const { segments: segs } = await api(`/api/segments?since=${since}&limit=500`);
    for (const s of segs) upsert(s);
  } catch (e) {
    status.textContent = String(e);
  }
  render();
  const source = new EventSource(withToken("/api/events/stream"));
  for (const type of ["segment.start", "segment.update", "segment.end", "stream.status", "clip.ready"]) {
    source.addEventListener(type, onEvent);
  }
  source.onopen = () => { status.textContent = "live"; };
  source.onerror = () => { status.textContent = "reconnecting…"; };
  setInterval(render, 1000);
}

start();
