"use strict";
// The assistant's panel: a request in words becomes a plan that fills in the job form
// (POST /v1/assist). The page keeps the conversation and sends it with each message; the server
// remembers nothing. Loaded before app.js, whose helpers ($, api, choosePortrait, …) it calls.

const assistant = {
  history: [], // [{ prompt, plan }], oldest first
  limits: { max_history: 6, max_message: 1000 },
  files: { portraits: new Map(), recordings: new Map() }, // label → File
};
// The form's controls a plan sets besides the files and the text; each is named as its field.
const PLAN_CONTROLS = [
  "voice", "rate", "pitch", "language", "expression_scale", "still", "blink", "fps", "upscaler",
  "trim_silence", "normalize_loudness",
];

async function startAssistant() {
  let status;
  try { status = await api("/v1/assist"); } catch (_) { status = { available: false }; }
  $("#assistant").hidden = !status.available;
  if (status.available) Object.assign(assistant.limits, status);
  $("#chat-input").maxLength = assistant.limits.max_message;
}

function wireAssistant() {
  const portrait = $("#portrait"), audio = $("#audio");
  const remember = (input, kind) => () => { if (input.files[0]) attach(input.files[0], kind); };
  portrait.addEventListener("change", remember(portrait, "portraits"));
  $("#drop").addEventListener("drop", remember(portrait, "portraits")); // after app.js set it
  audio.addEventListener("change", remember(audio, "recordings"));
  $("#chat-attach").addEventListener("change", (event) => {
    for (const file of event.target.files) attach(file, kindOf(file));
    event.target.value = "";
  });
  $("#chat-form").addEventListener("submit", (event) => { event.preventDefault(); send(); });
  $("#chat-input").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); send(); }
  });
  $("#chat-new").addEventListener("click", () => {
    assistant.history = [];
    $("#chat").replaceChildren();
    $("#chat-input").focus();
  });
  showFiles();
}

// The attached files, by the labels the assistant knows them by.
function kindOf(file) { return file.type.startsWith("image/") ? "portraits" : "recordings"; }

// A file's name as one word a request can name and the server accepts: letters, digits, . _ + -
function label(name) {
  const word = name.normalize("NFC").replace(/[^\p{L}\p{N}._+-]+/gu, "_").replace(/^[._-]+/, "");
  return word.slice(-120) || "file";
}

function attach(file, kind) {
  const other = kind === "portraits" ? "recordings" : "portraits";
  assistant.files[other].delete(label(file.name));
  assistant.files[kind].set(label(file.name), file);
  showFiles();
}

function showFiles() {
  const names = [...assistant.files.portraits.keys(), ...assistant.files.recordings.keys()];
  $("#chat-files").replaceChildren(...names.map((name) => {
    const item = document.createElement("li");
    const chip = button(name, () => insertName(name));
    chip.className = "secondary chip";
    chip.title = `Put ${name} in your request`;
    item.append(chip);
    return item;
  }));
  $("#chat-no-files").hidden = names.length > 0;
}

function insertName(name) {
  const input = $("#chat-input");
  const at = input.selectionStart ?? input.value.length;
  const before = input.value.slice(0, at), after = input.value.slice(at);
  const space = before && !before.endsWith(" ") ? " " : "";
  input.value = `${before}${space}${name} ${after}`;
  input.focus();
  input.selectionStart = input.selectionEnd = (before + space + name).length + 1;
}

// One message: shown, sent with the conversation so far, answered with a plan or a question.
async function send() {
  const input = $("#chat-input"), sendButton = $("#chat-send");
  const message = input.value.trim();
  if (!message || sendButton.disabled) return;
  say("you", message);
  input.value = "";
  const pending = say("bot pending", "Thinking…");
  sendButton.disabled = true;
  const body = {
    message,
    files: {
      portraits: [...assistant.files.portraits.keys()],
      recordings: [...assistant.files.recordings.keys()],
    },
    history: assistant.history.slice(-assistant.limits.max_history),
  };
  try {
    const answer = await api("/v1/assist", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    pending.remove();
    if (answer.plan) {
      assistant.history.push({ prompt: message, plan: answer.plan });
      showPlan(answer);
      applyPlan(answer.plan);
    } else {
      say("bot", answer.question);
    }
  } catch (failure) {
    pending.remove();
    say("bot error", failure.message);
  } finally {
    sendButton.disabled = false;
    input.focus();
  }
}

function say(who, text) {
  const item = document.createElement("li");
  item.className = `msg ${who}`;
  const speaker = document.createElement("span");
  speaker.className = "sr-only";
  speaker.textContent = who === "you" ? "You: " : "Assistant: ";
  const words = document.createElement("p");
  words.append(speaker, text);
  item.append(words);
  $("#chat").append(item);
  scrollChat();
  return item;
}

function showPlan(answer) {
  const item = say("bot plan", "I filled in the form:");
  const summary = document.createElement("pre");
  summary.className = "summary";
  summary.textContent = answer.summary;
  const render = button("Render this", () => renderPlan(answer.plan));
  render.className = "render-plan";
  item.append(summary, render);
  scrollChat();
}

function scrollChat() { const list = $("#chat"); list.scrollTop = list.scrollHeight; }

// The plan into the form: every control the plan does not set goes back to its default.
function applyPlan(plan) {
  const form = $("#job-form"), fields = plan.request;
  form.engine.value = plan.engine;
  const portrait = assistant.files.portraits.get(fields.portrait);
  if (portrait && $("#portrait").files[0] !== portrait) {
    setFile($("#portrait"), portrait);
    choosePortrait(portrait);
  }
  if (fields.audio !== undefined) {
    setFile($("#audio"), assistant.files.recordings.get(fields.audio));
    setSpeech("audio");
  } else {
    form.text.value = fields.text;
    setSpeech("text");
  }
  for (const name of PLAN_CONTROLS) setControl(form.elements[name], fields[name]);
  scheduleEstimate();
}

function setFile(input, file) {
  const files = new DataTransfer();
  if (file) files.items.add(file);
  input.files = files.files;
}

function setSpeech(kind) {
  const radio = $(`input[name=speech][value=${kind}]`);
  radio.checked = true;
  radio.dispatchEvent(new Event("change", { bubbles: true }));
}

function setControl(control, value) {
  if (control.type === "checkbox") {
    control.checked = value === undefined ? control.defaultChecked : value !== false;
    // a number-valued checkbox (the loudness): its value is the plan's, or its default again
    if (control.dataset.default) control.value = typeof value === "number" ? value : control.dataset.default;
  } else if (value === undefined) {
    control.value = control.tagName === "SELECT" ? defaultOption(control) : control.defaultValue;
  } else {
    const text = String(value);
    if (control.tagName === "SELECT" && ![...control.options].some((o) => o.value === text)) {
      control.add(new Option(text, text));
    }
    control.value = text;
  }
  control.dispatchEvent(new Event("input", { bubbles: true })); // the numbers beside the sliders
  if (control.name === "normalize_loudness") $("#loudness-value").textContent = control.value;
}

function defaultOption(select) {
  return ([...select.options].find((o) => o.defaultSelected) || select.options[0]).value;
}

// "Render this": the form as this plan says, submitted as the user's own press of Render video.
function renderPlan(plan) {
  applyPlan(plan);
  $("#job-form").requestSubmit();
}
