"use strict";
// The web page: plain JS over the HTTP API v1 (the same calls a script makes).

const $ = (selector) => document.querySelector(selector);
const STAGES = { render: "Rendering frames", speech: "Recognising speech" };
let following = null; // { id, source }

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", ...options });
  if (response.status === 401) showSignIn();
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try { message = (await response.json()).error.message; } catch (_) { /* not JSON */ }
    throw new Error(message);
  }
  return response.status === 204 ? null : response.json();
}

function showSignIn() { $("#sign-in").hidden = false; $("#key").focus(); }

async function start() {
  const session = await api("/v1/session");
  $("#sign-out").hidden = !session.keys_required;
  if (session.keys_required && !session.signed_in) { showSignIn(); return; }
  await Promise.all([loadChoices(), refreshJobs()]);
  await startAssistant();
}

async function loadChoices() {
  const [voices, engines] = await Promise.all([api("/v1/voices"), api("/v1/engines")]);
  const voice = $("#voice");
  const mark = (value, chosen) => new Option(value, value, value === chosen, value === chosen);
  voice.replaceChildren(...voices.map((v) => {
    const option = mark(v.language, "en-us");
    option.text = `${v.name} (${v.language})`;
    return option;
  }));
  // a recording's language: the languages of the voices, as the assistant's schema has them
  const languages = [...new Set(voices.map((v) => v.language.split("-")[0]))].sort();
  $("#language").replaceChildren(...languages.map((code) => mark(code, "en")));
  $("#engine").replaceChildren(...engines.map((e) => new Option(e.name, e.name)));
}

// Portrait: preview and the face that will be animated.
async function choosePortrait(file) {
  const note = $("#face-note"), box = $("#face-box");
  $(".drop-hint").hidden = true;
  $(".preview").hidden = false;
  $("#preview-image").src = URL.createObjectURL(file);
  box.hidden = true;
  note.textContent = "Looking for the face…";
  note.classList.remove("error");
  const form = new FormData();
  form.append("portrait", file);
  try {
    const face = await api("/v1/faces", { method: "POST", body: form });
    const [x0, y0, x1, y1] = face.box;
    Object.assign(box.style, {
      left: `${(100 * x0) / face.width}%`, top: `${(100 * y0) / face.height}%`,
      width: `${(100 * (x1 - x0)) / face.width}%`, height: `${(100 * (y1 - y0)) / face.height}%`,
    });
    box.hidden = false;
    note.textContent = face.faces_seen > 1
      ? `${face.faces_seen} faces found; the largest (framed) will speak.`
      : "Face found (framed).";
  } catch (error) {
    note.textContent = error.message;
    note.classList.add("error");
  }
}

function options(speech) {
  const form = $("#job-form");
  const chosen = {
    engine: form.engine.value,
    fps: Number(form.fps.value),
    expression_scale: Number(form.expression_scale.value),
    upscale: form.upscale.checked,
    upscaler: form.upscaler.value,
    blink: form.blink.checked,
    still: form.still.checked,
    trim_silence: form.trim_silence.checked,
  };
  if (form.normalize_loudness.checked) chosen.normalize_loudness = Number(form.normalize_loudness.value);
  if (speech === "text") {
    Object.assign(chosen, { voice: form.voice.value, rate: Number(form.rate.value), pitch: Number(form.pitch.value) });
  } else {
    chosen.language = form.language.value;
  }
  return chosen;
}

// The estimate of the job the form describes, shown before it is submitted.
let estimateTimer = null;
function scheduleEstimate() {
  clearTimeout(estimateTimer);
  estimateTimer = setTimeout(showEstimate, 500);
}

async function showEstimate() {
  const form = $("#job-form"), note = $("#estimate");
  const portrait = $("#portrait").files[0];
  const speech = form.speech.value;
  const audio = $("#audio").files[0];
  note.textContent = "";
  if (!portrait || (speech === "text" ? !form.text.value.trim() : !audio)) return;
  const body = new FormData();
  body.append("portrait", portrait);
  if (speech === "text") body.append("text", form.text.value);
  else body.append("audio", audio);
  body.append("options", JSON.stringify(options(speech)));
  try {
    const guess = await api("/v1/estimate", { method: "POST", body });
    const downloads = guess.downloads.length ? `; first downloads ${guess.downloads.map((d) => d.name).join(", ")}` : "";
    note.textContent = `About ${Math.ceil(guess.seconds)} s to render ${guess.speech_seconds.toFixed(1)} s of speech${downloads}.`;
  } catch (_) { /* the submission says what is wrong */ }
}

async function submit(event) {
  event.preventDefault();
  const form = $("#job-form"), error = $("#form-error"), button = $("#submit");
  error.textContent = "";
  const portrait = $("#portrait").files[0];
  const speech = form.speech.value;
  if (!portrait) { error.textContent = "Choose a portrait first."; return; }
  const body = new FormData();
  body.append("portrait", portrait);
  if (speech === "text") {
    if (!form.text.value.trim()) { error.textContent = "Type the words to speak."; return; }
    body.append("text", form.text.value);
  } else {
    const audio = $("#audio").files[0];
    if (!audio) { error.textContent = "Choose a recording, or type text instead."; return; }
    body.append("audio", audio);
  }
  body.append("options", JSON.stringify(options(speech)));
  button.disabled = true;
  try {
    follow(await api("/v1/jobs", { method: "POST", body }));
    refreshJobs();
  } catch (failure) {
    error.textContent = failure.message;
  } finally {
    button.disabled = false;
  }
}

// The job being watched: progress from Server-Sent Events, then the video.
function follow(job) {
  if (following) following.source.close();
  const section = $("#current");
  section.hidden = false;
  $("#result").hidden = true;
  $("#job-error").textContent = "";
  $("#cancel").hidden = false;
  $("#progress").value = 0;
  $("#current-title").textContent = "Rendering";
  const about = job.estimate_seconds != null ? ` (about ${Math.ceil(job.estimate_seconds)} s to render)` : "";
  setStatus((job.status === "queued" ? "Queued" : "Starting") + about);
  const source = new EventSource(`/v1/jobs/${job.id}/events`);
  following = { id: job.id, source };
  source.addEventListener("progress", (event) => showProgress(JSON.parse(event.data)));
  source.addEventListener("state", (event) => {
    const state = JSON.parse(event.data);
    if (state.status === "running") setStatus(`Preparing${about}`);
    if (state.status === "queued" && state.retry) setStatus("Queued again (its worker stopped)");
    if (["succeeded", "failed", "cancelled", "expired"].includes(state.status)) {
      source.close();
      finished(job.id);
    }
  });
  section.scrollIntoView({ behavior: "smooth", block: "nearest" });
}

function setStatus(text) { $("#progress-text").textContent = text; }

function showProgress(p) {
  if (p.total) $("#progress").value = p.done / p.total;
  const label = STAGES[p.stage] || p.stage;
  const count = p.total ? ` ${p.done}/${p.total}` : "";
  const eta = p.eta != null ? `, about ${Math.ceil(p.eta)} s left` : "";
  setStatus(`${label}${count}${eta}`);
}

async function finished(id) {
  const job = await api(`/v1/jobs/${id}`);
  $("#cancel").hidden = true;
  refreshJobs();
  if (job.status === "succeeded") {
    showVideo(job);
  } else {
    $("#current-title").textContent = job.status === "failed" ? "Failed" : "Stopped";
    setStatus(job.status);
    $("#job-error").textContent = job.error ? job.error.message : "";
  }
}

function showVideo(job) {
  $("#current").hidden = false;
  $("#current-title").textContent = "Your video";
  $("#progress").value = 1;
  $("#cancel").hidden = true;
  const seconds = job.result.duration.toFixed(1);
  setStatus(`Done: ${seconds} s, ${job.result.frame_size.join("×")}, in ${job.timings.running.toFixed(1)} s`);
  $("#video").src = job.links.result;
  $("#download").href = `${job.links.result}?download=true`;
  $("#result").hidden = false;
}

async function cancel() {
  if (!following) return;
  try { await api(`/v1/jobs/${following.id}/cancel`, { method: "POST" }); setStatus("Cancelling…"); }
  catch (error) { $("#job-error").textContent = error.message; }
}

// Past jobs.
async function refreshJobs() {
  let page;
  try { page = await api("/v1/jobs?limit=50"); } catch (_) { return; }
  const list = $("#jobs");
  list.replaceChildren(...page.jobs.map(jobItem));
  $("#no-jobs").hidden = page.jobs.length > 0;
}

function jobItem(job) {
  const item = document.createElement("li");
  item.className = "job";
  item.dataset.id = job.id;
  const thumb = document.createElement("img");
  thumb.alt = "";
  thumb.loading = "lazy";
  if (job.status !== "expired") thumb.src = `/v1/jobs/${job.id}/thumbnail`;
  const text = document.createElement("div");
  const what = document.createElement("p");
  what.className = "what";
  const badge = document.createElement("span");
  badge.className = `badge ${job.status}`;
  badge.textContent = job.status;
  what.append(badge, " ", job.text ? `“${job.text}”` : "recording");
  const when = document.createElement("p");
  when.className = "when";
  when.textContent = new Date(job.created).toLocaleString();
  if (job.error) when.textContent += ` · ${job.error.message}`;
  text.append(what, when);
  const actions = document.createElement("div");
  actions.className = "actions";
  if (job.status === "succeeded") actions.append(button("Play", () => showVideo(job)));
  if (job.status === "queued" || job.status === "running") actions.append(button("Watch", () => follow(job)));
  if (job.status !== "expired") actions.append(button("Re-run", () => rerun(job.id)));
  actions.append(button("Delete", () => remove(job.id)));
  item.append(thumb, text, actions);
  return item;
}

function button(label, action) {
  const element = document.createElement("button");
  element.type = "button";
  element.className = "secondary";
  element.textContent = label;
  element.addEventListener("click", action);
  return element;
}

async function rerun(id) {
  try { follow(await api(`/v1/jobs/${id}/rerun`, { method: "POST" })); refreshJobs(); }
  catch (error) { $("#form-error").textContent = error.message; }
}

async function remove(id) {
  try {
    await api(`/v1/jobs/${id}`, { method: "DELETE" });
    if (following && following.id === id) { following.source.close(); $("#current").hidden = true; }
    refreshJobs();
  } catch (error) { $("#form-error").textContent = error.message; }
}

function wire() {
  const drop = $("#drop"), input = $("#portrait");
  input.addEventListener("change", () => input.files[0] && choosePortrait(input.files[0]));
  ["dragenter", "dragover"].forEach((name) => drop.addEventListener(name, (e) => {
    e.preventDefault(); drop.classList.add("over");
  }));
  ["dragleave", "drop"].forEach((name) => drop.addEventListener(name, () => drop.classList.remove("over")));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    if (event.dataTransfer.files[0]) { input.files = event.dataTransfer.files; choosePortrait(input.files[0]); }
  });
  document.querySelectorAll("input[name=speech]").forEach((radio) => radio.addEventListener("change", () => {
    const text = $("#job-form").speech.value === "text";
    $("#speech-text").hidden = !text;
    $("#speech-audio").hidden = text;
  }));
  $("#rate").addEventListener("input", () => { $("#rate-value").textContent = $("#rate").value; });
  $("#pitch").addEventListener("input", () => { $("#pitch-value").textContent = $("#pitch").value; });
  $("#expression").addEventListener("input", () => {
    $("#expression-value").textContent = Number($("#expression").value).toFixed(1);
  });
  $("#job-form").addEventListener("submit", submit);
  $("#job-form").addEventListener("change", scheduleEstimate);
  $("#text").addEventListener("input", scheduleEstimate);
  $("#cancel").addEventListener("click", cancel);
  wireAssistant();
  $("#sign-in-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("#sign-in-form .error");
    try {
      await api("/v1/session", { method: "POST", body: new FormData(event.target) });
      $("#sign-in").hidden = true;
      error.textContent = "";
      start();
    } catch (failure) { error.textContent = failure.message; }
  });
  $("#sign-out").addEventListener("click", async () => {
    await api("/v1/session", { method: "DELETE" });
    location.reload();
  });
}

wire();
start().catch((error) => { $("#form-error").textContent = error.message; });
