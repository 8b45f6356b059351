// The coach's page: the live session from /api/events (server-sent events), its buttons, the
// library with its editor, and the history. Plain JS, no build step, nothing from elsewhere.
"use strict";

const $ = (id) => document.getElementById(id);
const PHASES = {announce: "Get ready", lead_in: "Lead-in", eccentric: "Down",
  bottom_pause: "Pause (bottom)", concentric: "Up", top_pause: "Pause (top)", hold: "Hold",
  rep: "Rep", pose: "Pose", rest: "Rest", switch: "Switch sides", answer: "Rate it"};
const RATE_PHASES = ["rest", "switch", "answer"];  // a set has just ended: its rating is open
window.coachLog = [];  // [Date.now(), status] as each status was drawn (bench/bench_web.py)

let status = null;
let statusAt = 0;  // performance.now() when `status` arrived (the countdown counts from it)
let ratedKey = null;
// Statuses drawn from the event stream: a request's reply is drawn only if none came while it
// was on its way. The stream is in order; a reply is not (it can arrive after a newer status:
// a start's "preparing" reply drawn after the stream's "playing" stayed up to 2 s, until the
// next status that changed).
let streamed = 0;

function drawReply(data, sentAt) { if (data.ok && data.state && streamed === sentAt) draw(data); }

function text(el, value) { if (el.textContent !== value) el.textContent = value; }

function mmss(s) {
  s = Math.max(0, Math.ceil(s));
  return s >= 60 ? `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}` : `${s} s`;
}

// The side a rating given now goes to: the one that ended last. A side switch's own side is the
// side coming, so there it is the other one: the page said "Rate Split squat, set 1 (right)"
// through most of the switch after the left side, and a tap there rated the left (session 14).
function ratedSide(st) {
  if (st.phase === "switch" && st.side) return st.side === "left" ? "right" : "left";
  return st.side;
}

function setKey(st) { return `${st.program}|${st.exercise_index}|${st.set}|${ratedSide(st)}`; }

function draw(st) {
  status = st; statusAt = performance.now();
  const live = st.state !== "idle";
  text($("state"), st.state + (st.reason ? ` — ${st.reason}` : ""));
  text($("program"), st.program || (st.next ? `next: ${st.next}` : ""));
  text($("exercise"), live ? (st.exercise || "…") : "No session");
  let set = "";
  if (live && st.set) set = `Set ${st.set} of ${st.sets}` + (st.side ? ` · ${st.side}` : "");
  if (st.state === "preparing" && st.needed) set = `preparing ${st.prepared} of ${st.needed}`;
  text($("set"), set);
  const phase = live && st.phase ? (PHASES[st.phase] || st.phase) + (st.rep ? ` · rep ${st.rep}` : "") +
    (st.pose ? ` — ${st.pose}` : "") : "";
  text($("phase"), phase);
  text($("next"), live && st.next ? `Next: ${st.next}` : "");
  $("pause").hidden = st.state === "paused";
  $("resume").hidden = st.state !== "paused" && !(st.state === "idle" && st.interrupted);
  const rating = live && RATE_PHASES.includes(st.phase) && st.set;
  $("rate").hidden = !rating || ratedKey === setKey(st);
  const side = ratedSide(st);
  if (rating) text($("rate-label"), `Rate ${st.exercise}, set ${st.set}` + (side ? ` (${side})` : ""));
  tick();
  window.coachLog.push([Date.now(), st]);
  if (window.coachLog.length > 2000) window.coachLog.splice(0, 1000);
}

function tick() {
  if (!status || status.state === "idle" || status.phase_end == null) { text($("countdown"), ""); return; }
  const moving = status.state === "playing" ? (performance.now() - statusAt) / 1000 : 0;
  text($("countdown"), mmss(status.phase_end - status.position - moving));
}
setInterval(tick, 200);

function say(el, msg, ok) { el.textContent = msg || ""; el.classList.toggle("ok", !!ok); }

async function call(method, url, body) {
  const init = {method, headers: {}};
  if (body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
  const r = await fetch(url, init);
  let data = {};
  try { data = await r.json(); } catch (e) { data = {ok: false, error: `HTTP ${r.status}`}; }
  if (r.status === 401) data.error = "this page needs its token: open the address `coach web` prints";
  return data;
}

async function post(url, body) {
  const sentAt = streamed;
  const data = await call("POST", url, body);
  say($("message"), data.ok ? "" : data.error, data.ok);
  drawReply(data, sentAt);
  return data;
}

function connect() {
  const es = new EventSource("/api/events");
  es.onmessage = (e) => { streamed++; draw(JSON.parse(e.data)); };
  es.onerror = () => { text($("state"), "reconnecting…"); };
}

document.querySelectorAll("[data-verb]").forEach((b) =>
  b.addEventListener("click", () => post(`/api/${b.dataset.verb}`, {})));

document.querySelectorAll("[data-rate]").forEach((b) =>
  b.addEventListener("click", async () => {
    const key = status ? setKey(status) : null;
    const data = await post("/api/rate", {value: Number(b.dataset.rate)});
    if (data.ok) {
      ratedKey = key; $("rate").hidden = true;
      say($("message"), `Rated ${data.value}` + (data.side ? ` (${data.side} side)` : ""), true);
    }
  }));

// --- tabs ---------------------------------------------------------------------------------------
document.querySelectorAll("[data-tab]").forEach((b) => b.addEventListener("click", () => {
  document.querySelectorAll("[data-tab]").forEach((o) => o.classList.toggle("on", o === b));
  for (const id of ["live", "programs", "history"]) $(id).hidden = id !== b.dataset.tab;
  if (b.dataset.tab === "programs") loadLibrary();
  if (b.dataset.tab === "history") loadHistory();
}));

function el(tag, cls, content) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (content !== undefined) e.textContent = content;
  return e;
}

function errorLine(d) { return (d.line ? `line ${d.line}: ` : "") + d.message; }

// --- the library and its editor -----------------------------------------------------------------
async function loadLibrary() {
  const data = await call("GET", "/api/programs");
  const ul = $("library"); ul.replaceChildren();
  if (!data.ok) { ul.append(el("li", "error", data.error)); return; }
  if (!data.programs.length) ul.append(el("li", "muted", "No programs yet: `coach new` makes one."));
  for (const p of data.programs) {
    const li = el("li"); li.dataset.stem = p.stem;
    li.append(el("div", "title", p.name || p.stem));
    li.append(el("div", "muted", `${p.stem}.yaml` + (p.duration != null ? ` · ${mmss(p.duration)}` : "")));
    for (const d of p.errors) li.append(el("div", "error", errorLine(d)));
    if (!p.errors.length) {  // the plan strip: each phase in its colour, drawn by the server
      const img = el("img"); img.loading = "lazy"; img.alt = `the plan of ${p.name}`;
      // its box reserved before it comes: nothing below it (Start) moves when it does
      if (p.plan) { img.width = p.plan[0]; img.height = p.plan[1]; }
      img.src = `/api/programs/${encodeURIComponent(p.stem)}/plan.png`; li.append(img);
    }
    const actions = el("div", "actions");
    const start = el("button", "primary", "Start"); start.disabled = !!p.errors.length;
    start.dataset.start = p.stem;
    start.addEventListener("click", async () => {
      let sentAt = streamed;
      let r = await call("POST", "/api/start", {program: p.stem});
      if (!r.ok && status && status.state !== "idle" &&
          confirm(`Stop ${status.program} and start ${p.name || p.stem}?`)) {
        sentAt = streamed;
        r = await call("POST", "/api/start", {program: p.stem, force: true});
      }
      if (r.ok) { drawReply(r, sentAt); document.querySelector('[data-tab="live"]').click(); }
      else if (r.error) say($("message"), r.error);
    });
    const edit = el("button", "", "Edit"); edit.dataset.edit = p.stem;
    edit.addEventListener("click", () => openEditor(p.stem));
    actions.append(start, edit); li.append(actions); ul.append(li);
  }
}

let editing = null;

function showLines(textValue, errors) {
  // Each line of the file, numbered, with `coach check`'s errors beside the line they name.
  const ol = $("lines"); ol.replaceChildren();
  const byLine = new Map();
  for (const d of errors) { const n = Math.max(1, d.line); (byLine.get(n) || byLine.set(n, []).get(n)).push(d); }
  const lines = textValue.split("\n");
  lines.forEach((line, i) => {
    const li = el("li", "", line || " ");
    for (const d of byLine.get(i + 1) || []) { li.classList.add("bad"); li.append(el("span", "why", errorLine(d))); }
    ol.append(li);
  });
  for (const [n, ds] of byLine) if (n > lines.length) for (const d of ds) ol.append(el("li", "bad", errorLine(d)));
}

async function openEditor(stem) {
  const data = await call("GET", `/api/programs/${encodeURIComponent(stem)}`);
  if (!data.ok) { alert(data.error); return; }
  editing = stem;
  $("library").hidden = true; $("editor").hidden = false;
  text($("editor-title"), `${data.name || stem} (${stem}.yaml)`);
  $("text").value = data.text;
  $("plan").hidden = !!data.errors.length;
  if (!data.errors.length) $("plan").src = `/api/programs/${encodeURIComponent(stem)}/plan.png?${Date.now()}`;
  say($("save-message"), data.errors.length ? `${data.errors.length} mistake(s)` : "", false);
  showLines(data.text, data.errors);
}

$("save").addEventListener("click", async () => {
  const value = $("text").value;
  const data = await call("POST", `/api/programs/${encodeURIComponent(editing)}`, {text: value});
  if (data.ok) {
    say($("save-message"), `Saved (${mmss(data.duration)})`, true);
    showLines(value, []);
    $("plan").hidden = false; $("plan").src = `/api/programs/${encodeURIComponent(editing)}/plan.png?${Date.now()}`;
  } else {
    say($("save-message"), data.error + " — the file is unchanged", false);
    showLines(value, data.errors || []);
  }
});

$("close-editor").addEventListener("click", () => {
  $("editor").hidden = true; $("library").hidden = false; editing = null; loadLibrary();
});

// --- history ------------------------------------------------------------------------------------
async function loadHistory() {
  const data = await call("GET", "/api/history");
  const imb = $("imbalance"); imb.replaceChildren();
  const ul = $("sessions"); ul.replaceChildren();
  if (!data.ok) { ul.append(el("li", "error", data.error)); return; }
  if (!data.imbalance.length) imb.append(el("li", "muted", "No left/right ratings yet."));
  for (const x of data.imbalance) imb.append(el("li", x.lagging ? "error" : "", x.line));
  $("plot").hidden = !data.sessions.length;
  if (data.sessions.length) $("plot").src = `/api/history/plot.png?${Date.now()}`;
  if (!data.sessions.length) ul.append(el("li", "muted", "No sessions yet."));
  for (const s of data.sessions) {
    const li = el("li");
    li.append(el("div", "title", `${s.started_at.slice(0, 16).replace("T", " ")}  ${s.program}`));
    li.append(el("div", "muted", `${s.status} · ${s.sets_completed}/${s.sets_planned} sets`));
    for (const set of s.sets) {
      const r = Object.entries(set.ratings || {}).map(([q, v]) => `${q} ${v}`).join(", ");
      li.append(el("div", "", `${set.exercise} ${set.set}${set.side && set.side !== "both" ? " " + set.side : ""}: ${set.status}${r ? " · " + r : ""}`));
    }
    ul.append(li);
  }
}

connect();
