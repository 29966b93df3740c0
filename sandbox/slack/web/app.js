// The local Slack page: renders the sandbox workspace and acts as one of its people.
"use strict";

const EMOJI = {
  eyes: "👀", compass: "🧭", white_check_mark: "✅", x: "❌", warning: "⚠️", gear: "⚙️",
  hourglass: "⌛", hourglass_flowing_sand: "⏳", mag: "🔍", no_entry: "⛔", no_entry_sign: "🚫",
  rotating_light: "🚨", arrows_counterclockwise: "🔄", grey_question: "❔", one: "1️⃣",
  lock: "🔒", wrench: "🔧", memo: "📝", zap: "⚡", fire: "🔥", tada: "🎉", channel: "#️⃣",
  pencil2: "✏️", speech_balloon: "💬",
};
const view = {
  user: localStorage.getItem("opsbot.user") || "U0ONCALL",
  channel: "C0INCIDENTS", thread: null, triggers: new Set(), closed: new Set(), data: null,
  home: false, tour: localStorage.getItem("opsbot.tour") !== "hidden",
};
const $ = (sel) => document.querySelector(sel);

function esc(s) {
  return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

function userName(id) {
  const u = view.data && view.data.users.find((x) => x.id === id);
  return u ? u.name : id;
}

// Slack mrkdwn and Markdown (both reach the page) to HTML; the input is never trusted.
// Links (https://api.slack.com/reference/surfaces/formatting#linking-urls): <url>, <url|label>,
// <#C123>, <#C123|name>, <@U123>, <!subteam^S123|@handle>; a link to a message of this
// workspace (https://DOMAIN.slack.com/archives/C…/p…) opens that thread in the page.
function channelName(id, label) {
  const c = view.data && view.data.channels.find((x) => x.id === id);
  return label || (c ? c.name : id);
}

function threadOf(url) {
  const domain = view.data && view.data.team.domain;
  const m = String(url).match(/^https:\/\/([a-z0-9-]+)\.slack\.com\/archives\/([A-Z0-9]+)\/p(\d{10})(\d{6})(?:\?(.*))?$/);
  if (!m || m[1] !== domain) return null;
  const query = new URLSearchParams(m[5] || "");
  return { channel: m[2], ts: query.get("thread_ts") || `${m[3]}.${m[4]}` };
}

function link(url, label) {
  const thread = threadOf(url);
  const opens = thread ? ` data-open-channel="${esc(thread.channel)}" data-open-thread="${esc(thread.ts)}"` : ' target="_blank" rel="noopener"';
  return `<a href="${esc(url)}"${opens}>${esc(label || url)}</a>`;
}

function inline(text) {
  const keep = [];
  const hold = (html) => `\u0000${keep.push(html) - 1}\u0000`;
  let s = String(text).replace(/`([^`\n]+)`/g, (_, c) => hold(`<code>${esc(c)}</code>`));
  s = s.replace(/<#([A-Z0-9]+)(?:\|([^>]*))?>/g, (_, id, label) =>
    hold(`<a class="mention" data-channel="${esc(id)}">#${esc(channelName(id, label))}</a>`));
  s = s.replace(/<(@|!)([A-Z0-9^a-z_]+)(?:\|([^>]+))?>/g, (_, kind, id, label) =>
    hold(`<span class="mention">@${esc((label || (kind === "@" ? userName(id) : id)).replace(/^@/, ""))}</span>`));
  s = s.replace(/<((?:https?:\/\/|mailto:)[^|>\s]+)(?:\|([^>]+))?>/g, (_, url, label) => hold(link(url, label)));
  s = s.replace(/\[([^\]]+)\]\((https?:\/\/[^)\s]+)\)/g, (_, label, url) => hold(link(url, label)));
  s = esc(s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&"));
  s = s.replace(/\*\*([^*\n]+)\*\*/g, "<b>$1</b>").replace(/(^|[\s(])\*([^*\n]+)\*/g, "$1<b>$2</b>");
  s = s.replace(/(^|[\s(])_([^_\n]+)_/g, "$1<i>$2</i>").replace(/~([^~\n]+)~/g, "<s>$1</s>");
  s = s.replace(/:([a-z0-9_+-]+):/g, (m, name) => EMOJI[name] || m);
  return s.replace(/\u0000(\d+)\u0000/g, (_, i) => keep[Number(i)]);
}

// One line of prose: a heading, a list item or a paragraph.
function lineHtml(line) {
  const heading = line.match(/^#{1,6}\s+(.*)/);
  if (heading) return `<p><b>${inline(heading[1])}</b></p>`;
  const item = line.match(/^\s*[-•*]\s+(.*)/);
  if (item) return `<p>• ${inline(item[1])}</p>`;
  return line.trim() ? `<p>${inline(line)}</p>` : "";
}

// Prose lines with Slack's quotes: "> " quotes a line (consecutive ones form one quote),
// ">>>" quotes the rest of the text (https://api.slack.com/reference/surfaces/formatting#quotes).
function proseHtml(text) {
  const out = [];
  let quoted = null;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/^(?:&gt;)+/, (m) => ">".repeat(m.length / 4));
    const rest = line.match(/^>>>\s?(.*)$/);
    if (rest) { out.push(`<blockquote>${[rest[1], ...lines.slice(i + 1)].map(lineHtml).join("")}</blockquote>`); quoted = null; break; }
    const quote = line.match(/^>\s?(.*)$/);
    if (quote) {
      if (quoted === null) { quoted = []; out.push(quoted); }
      quoted.push(lineHtml(quote[1]) || "<p>&nbsp;</p>");
      continue;
    }
    quoted = null;
    out.push(lineHtml(line));
  }
  return out.map((x) => (Array.isArray(x) ? `<blockquote>${x.join("")}</blockquote>` : x)).join("");
}

function mrkdwn(text) {
  const parts = String(text || "").split(/```/);
  return parts.map((part, i) => {
    if (i % 2 === 1) return `<pre><code>${esc(part.replace(/^[a-z]*\n/, ""))}</code></pre>`;
    return proseHtml(part);
  }).join("");
}

function textObject(t) {
  if (!t) return "";
  return t.type === "plain_text" ? esc(t.text).replace(/:([a-z0-9_+-]+):/g, (m, n) => EMOJI[n] || m) : mrkdwn(t.text);
}

function button(el, message) {
  const style = el.style ? ` class="${el.style}"` : "";
  const data = `data-action="${esc(el.action_id)}" data-ts="${esc(message.ts)}" data-confirm="${esc(JSON.stringify(el.confirm || null))}"`;
  return `<button${style} ${data}>${textObject(el.text)}</button>`;
}

// Feedback buttons (👍 / 👎) and icon buttons under a message: a click sends the clicked
// button's value, as Slack's block_actions does for feedback_buttons.
function contextActions(b, message) {
  const one = (el, side) => `<button class="feedback" title="${esc(side.accessibility_label || "")}" data-action="${esc(el.action_id)}" data-ts="${esc(message.ts)}" data-value="${esc(side.value)}">${textObject(side.text)}</button>`;
  return `<div class="block context-actions">${(b.elements || []).map((el) => el.type === "feedback_buttons"
    ? one(el, el.positive_button) + one(el, el.negative_button)
    : el.type === "icon_button" ? one(el, el) : "").join("")}</div>`;
}

function richText(el) {
  const run = (items) => (items || []).map((x) => {
    if (x.type === "text") {
      let h = esc(x.text);
      const st = x.style || {};
      if (st.code) h = `<code>${h}</code>`;
      if (st.bold) h = `<b>${h}</b>`;
      if (st.italic) h = `<i>${h}</i>`;
      return h;
    }
    if (x.type === "link") return `<a href="${esc(x.url)}">${esc(x.text || x.url)}</a>`;
    if (x.type === "user") return `<span class="mention">@${esc(userName(x.user_id))}</span>`;
    if (x.type === "emoji") return EMOJI[x.name] || `:${esc(x.name)}:`;
    return "";
  }).join("");
  return (el.elements || []).map((sec) => {
    if (sec.type === "rich_text_preformatted") return `<pre>${run(sec.elements)}</pre>`;
    if (sec.type === "rich_text_quote") return `<blockquote>${run(sec.elements)}</blockquote>`;
    if (sec.type === "rich_text_list") return `<ul>${(sec.elements || []).map((s) => `<li>${run(s.elements)}</li>`).join("")}</ul>`;
    return `<p>${run(sec.elements)}</p>`;
  }).join("");
}

// A task card of a streamed timeline or plan: its status, title, and output when done.
const TASK_MARK = { pending: "○", in_progress: "◌", complete: "✓", error: "✗" };
function taskCard(t) {
  const output = t.output ? `<div class="task-output">${esc(t.output)}</div>` : "";
  const details = t.details ? `<div class="task-details">${esc(t.details)}</div>` : "";
  return `<div class="block task ${esc(t.status)}" data-task="${esc(t.task_id)}"><span class="task-mark">${TASK_MARK[t.status] || ""}</span> <span class="task-title">${esc(t.title)}</span>${details}${output}</div>`;
}

function block(b, message) {
  switch (b.type) {
    case "section": {
      const fields = b.fields ? `<div class="fields">${b.fields.map((f) => `<div>${textObject(f)}</div>`).join("")}</div>` : "";
      const acc = b.accessory && b.accessory.type === "button" ? `<div class="accessory">${button(b.accessory, message)}</div>` : "";
      return `<div class="block section">${textObject(b.text)}${fields}${acc}</div>`;
    }
    case "context":
      return `<div class="block context">${(b.elements || []).map((e) => e.type === "image" ? "" : textObject(e)).join(" ")}</div>`;
    case "divider": return `<div class="block"><hr></div>`;
    case "header": return `<div class="block header">${textObject(b.text)}</div>`;
    case "markdown": return `<div class="block">${mrkdwn(b.text)}</div>`;
    case "task_card": return taskCard(b);
    case "plan":
      return `<div class="block plan"><div class="plan-title">${esc(b.title)}</div>${(b.tasks || []).map(taskCard).join("")}</div>`;
    case "rich_text": return `<div class="block">${richText(b)}</div>`;
    case "actions":
      return `<div class="block actions">${(b.elements || []).filter((e) => e.type === "button").map((e) => button(e, message)).join("")}</div>`;
    case "context_actions": return contextActions(b, message);
    case "input":
      return `<label>${textObject(b.label)}</label><textarea data-block="${esc(b.block_id || "")}" data-action="${esc((b.element || {}).action_id || "")}" rows="3"></textarea>`;
    default: return "";
  }
}

// A shared file: an image inline with its title, anything else as a link to it.
function filesHtml(files) {
  return (files || []).map((f) => f.mimetype.startsWith("image/")
    ? `<figure class="file"><figcaption>${esc(f.title)}</figcaption><img src="${esc(f.src)}" alt="${esc(f.alt_txt || f.title)}" title="${esc(f.name)}"></figure>`
    : `<div class="file"><a href="${esc(f.src)}" download="${esc(f.name)}">${esc(f.title)}</a></div>`).join("");
}

function messageHtml(m, { inThread }) {
  const initial = esc((m.name || "?").slice(0, 1).toUpperCase());
  const time = new Date(parseFloat(m.ts) * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const content = (m.blocks && m.blocks.length ? m.blocks.map((b) => block(b, m)).join("") : mrkdwn(m.text)) + filesHtml(m.files);
  const reactions = Object.entries(m.reactions || {}).map(([n, us]) => `<span>${EMOJI[n] || `:${esc(n)}:`} ${us.length}</span>`).join("");
  const replies = !inThread && m.reply_count ? `<div class="replies" data-thread="${esc(m.ts)}">${m.reply_count} ${m.reply_count === 1 ? "reply" : "replies"}</div>` : "";
  return `<div class="msg" data-ts="${esc(m.ts)}"><div class="avatar${m.is_bot ? " bot" : ""}">${initial}</div><div class="body">
    <div class="meta"><b>${esc(m.name)}</b>${m.is_bot ? '<span class="app">APP</span>' : ""}<time>${time}</time></div>
    <div class="text${m.streaming ? " streaming" : ""}">${content}</div>
    <div class="reactions">${reactions}</div>${replies}</div></div>`;
}

function ephemeralHtml(e) {
  return `<div class="msg ephemeral"><div class="avatar bot">O</div><div class="body">
    <div class="only">Only visible to you</div>
    <div class="text">${e.blocks && e.blocks.length ? e.blocks.map((b) => block(b, e)).join("") : mrkdwn(e.text)}</div></div></div>`;
}

function keepScroll(el, html) {
  const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
  el.innerHTML = html;
  if (atBottom) el.scrollTop = el.scrollHeight;
}

function render(d) {
  view.data = d;
  $("#team").textContent = d.team.name;
  $("#banner").textContent = d.banner || "";
  $("#banner").hidden = !d.banner;
  const select = $("#user");
  if (!select.options.length) {
    select.innerHTML = d.users.filter((u) => !u.is_bot).map((u) => `<option value="${u.id}">${esc(u.real_name)} (@${esc(u.name)})</option>`).join("");
  }
  select.value = view.user;
  $("#channels").innerHTML = d.channels.map((c) => `<li data-channel="${c.id}" class="${c.id === d.channel ? "active" : ""}"># ${esc(c.name)}</li>`).join("");
  $("#scenarios").innerHTML = (d.scenarios || []).map((s) => `<li data-prompt="${esc(s.prompt)}" data-scenario="${esc(s.name)}" title="${esc(s.description)}">${esc(s.name)}</li>`).join("");
  const channel = d.channels.find((c) => c.id === d.channel);
  $("#channel-name").textContent = view.home ? "opsbot · Home" : `# ${channel ? channel.name : d.channel}`;
  document.querySelectorAll("#sidebar li[data-channel]").forEach((li) => li.classList.toggle("active", !view.home && li.dataset.channel === d.channel));
  $("#apps li").classList.toggle("active", view.home);
  $("#tour").hidden = !view.tour;
  $("#messages").hidden = view.home;
  $("#composer").hidden = view.home;
  $("#home").hidden = !view.home;
  if (view.home) {
    $("#home").innerHTML = d.home ? (d.home.blocks || []).map((b) => block(b, {})).join("") : "<p>Opening opsbot's Home tab…</p>";
  }
  const mine = d.ephemeral.filter((e) => !e.thread_ts);
  keepScroll($("#messages"), d.messages.map((m) => messageHtml(m, { inThread: false })).join("") + mine.map(ephemeralHtml).join(""));
  $("#thread").hidden = !view.thread;
  if (view.thread) {
    const inThread = d.ephemeral.filter((e) => e.thread_ts === view.thread);
    keepScroll($("#thread-messages"), d.thread.map((m) => messageHtml(m, { inThread: true })).join("") + inThread.map(ephemeralHtml).join(""));
    renderSession(d.session);
  }
  renderModal(d);
}

// The thread's agent session (agents.sessions.setStatus): its title and status, and Slack's
// Stop button while it processes; Stop sends the app agent_session_stopped.
const SESSION_WORDS = { processing: "Working…", suspended: "Waiting for a person", active: "Idle", closed: "Closed" };
function renderSession(session) {
  let bar = $("#session");
  if (!bar) {
    bar = document.createElement("div");
    bar.id = "session";
    $("#thread-messages").before(bar);
  }
  bar.hidden = !session;
  if (!session) return;
  const stop = session.stoppable ? '<button class="stop" data-stop title="Stop">■ Stop</button>' : "";
  bar.className = `session ${esc(session.status)}`;
  bar.innerHTML = `<span class="session-title">${esc(session.title || "Agent session")}</span><span class="session-status">${esc(SESSION_WORDS[session.status] || session.status)}</span>${stop}`;
}

document.addEventListener("click", async (ev) => {
  if (!ev.target.closest("[data-stop]")) return;
  await act("/_sandbox/stop", { user: view.user, channel: view.channel, thread_ts: view.thread });
  refresh();
});

function renderModal(d) {
  const open = d.modals.find((v) => view.triggers.has(v.trigger_id) && !view.closed.has(v.view.id));
  const overlay = $("#overlay");
  if (!open) { overlay.hidden = true; overlay.innerHTML = ""; return; }
  if (overlay.dataset.view === open.view.id && !overlay.hidden) return;
  const v = open.view;
  overlay.dataset.view = v.id;
  overlay.innerHTML = `<form class="modal"><h2>${textObject(v.title)}</h2>${(v.blocks || []).map((b) => block(b, {})).join("")}
    <div class="buttons"><button type="button" data-cancel>${textObject(v.close || { type: "plain_text", text: "Cancel" })}</button>
    <button type="submit" class="primary">${textObject(v.submit || { type: "plain_text", text: "Submit" })}</button></div></form>`;
  overlay.hidden = false;
  overlay.querySelector("[data-cancel]").onclick = () => { view.closed.add(v.id); renderModal(d); };
  overlay.querySelector("form").onsubmit = async (ev) => {
    ev.preventDefault();
    const values = {};
    overlay.querySelectorAll("textarea[data-block]").forEach((t) => {
      values[t.dataset.block] = { [t.dataset.action]: t.value };
    });
    view.closed.add(v.id);
    await act("/_sandbox/submit_view", { user: view.user, view_id: v.id, values });
    renderModal(d);
  };
}

function confirmDialog(confirm) {
  return new Promise((resolve) => {
    const overlay = $("#overlay");
    overlay.dataset.view = "";
    overlay.innerHTML = `<div class="modal"><h2>${textObject(confirm.title)}</h2>${textObject(confirm.text)}
      <div class="buttons"><button data-no>${textObject(confirm.deny || { type: "plain_text", text: "Cancel" })}</button>
      <button data-yes class="${confirm.style || "primary"}">${textObject(confirm.confirm || { type: "plain_text", text: "OK" })}</button></div></div>`;
    overlay.hidden = false;
    const done = (answer) => { overlay.hidden = true; overlay.innerHTML = ""; resolve(answer); };
    overlay.querySelector("[data-no]").onclick = () => done(false);
    overlay.querySelector("[data-yes]").onclick = () => done(true);
  });
}

async function act(path, body) {
  const answer = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const data = await answer.json();
  if (!data.ok) alert(`Slack said: ${data.error}`);
  return data;
}

async function renderRuns() {
  const list = $("#thread-messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  await fillRuns();
  if (atBottom) list.scrollTop = list.scrollHeight;
}

async function fillRuns() {
  const d = view.data;
  const box = $("#runs");
  if (!d || !d.runs || !view.thread) { box.hidden = true; return; }
  const answer = await fetch(`/_sandbox/runs?thread=${encodeURIComponent(`${d.team.id}:${d.channel}:${view.thread}`)}`);
  const data = await answer.json().catch(() => ({ ok: false }));
  if (!data.ok || !data.runs.length) { box.hidden = true; return; }
  box.hidden = false;
  $("#runs-body").innerHTML = data.runs.map(runHtml).join("");
}

// A wait for a person can last hours while every other step takes milliseconds: each wait is
// drawn at a fixed share of the track (hatched, with its real length as text), the other steps
// on one common scale.
const WAIT_SHARE = 0.15;

function timeline(steps) {
  const end = Math.max(1, ...steps.map((s) => s.offset_ms + (s.duration_ms || 0)));
  const waits = steps.filter((s) => s.waits).map((s) => [s.offset_ms, s.offset_ms + (s.duration_ms || 0)]);
  const waited = waits.reduce((sum, [a, b]) => sum + (b - a), 0);
  const busy = Math.max(1, end - waited);
  const width = waits.length ? (busy * WAIT_SHARE) / (1 - WAIT_SHARE * Math.min(waits.length, 3)) : 0;
  const total = busy + width * waits.length;
  const at = (t) => {
    let shift = 0;
    for (const [a, b] of waits) {
      if (t > a && t >= b) shift += (b - a) - width;
      else if (t > a) shift += (t - a) - ((t - a) / (b - a)) * width;
    }
    return (100 * (t - shift)) / total;
  };
  return (s) => {
    const left = at(s.offset_ms);
    if (s.waits) return { left, width: (100 * width) / total };
    return { left, width: Math.max(0, at(s.offset_ms + (s.duration_ms || 0)) - left) };
  };
}

function took(ms) {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = Math.round(ms / 1000);
  return seconds < 90 ? `${seconds} s` : `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, "0")} s`;
}

// A run's status in words, as `/opsbot status` says it (agents/run_steps.py run_status_words).
const STATUS_WORDS = { queued: "queued", running: "running", waiting_approval: "waiting for approval", succeeded: "succeeded", not_fixed: "not fixed", needs_input: "waiting for your answer", rejected: "rejected", expired: "approval expired", limited: "limited", declined: "declined", failed: "failed", no_answer: "no answer", cancelled: "cancelled" };
const statusWords = (status) => STATUS_WORDS[status] || String(status).replace(/_/g, " ");

function runHtml(r) {
  // DBOS records a step when it completes: the wait still going is drawn from the run's state
  const end = Math.max(0, ...r.steps.map((s) => s.offset_ms + (s.duration_ms || 0)));
  const going = r.waiting.length ? [{ name: "recv", label: "waiting for approval", waits: true, offset_ms: end, duration_ms: null, failed: false }] : [];
  const all = [...r.steps, ...going];
  const place = timeline(all);
  const steps = all.map((s) => {
    const { left, width } = place(s);
    const label = s.label || s.name;
    const time = s.duration_ms == null ? (s.waits ? "waiting…" : "running") : (s.waits ? `waited ${took(s.duration_ms)}` : took(s.duration_ms));
    return `<div class="step${s.failed ? " failed" : ""}${s.waits ? " wait" : ""}" title="${esc(s.name)}"><span class="name">${esc(label)}</span>
      <span class="track"><span class="bar" style="left:${left}%;width:${width}%"></span></span>
      <span class="ms">${time}</span></div>`;
  }).join("");
  const waiting = r.waiting.length ? ` · waiting for approval of ${r.waiting.map(esc).join(", ")}` : "";
  const usage = r.finished_at ? ` · ${r.input_tokens + r.output_tokens} tokens · $${r.cost_usd.toFixed(4)}` : "";
  return `<div class="run"><div class="line"><b>${esc(statusWords(r.status))}</b> · ${r.agents.map(esc).join(" → ") || "routing"}${usage}${waiting}
    <br>trace <code>${r.trace_id}</code></div>${steps}</div>`;
}

let busy = false;
let again = false;
async function refresh() {
  if (busy) { again = true; return; }
  busy = true;
  try {
    const q = new URLSearchParams({ channel: view.channel, user: view.user });
    if (view.thread) q.set("thread", view.thread);
    render(await (await fetch(`/_sandbox/state?${q}`)).json());
    await renderRuns();
  } finally {
    busy = false;
    if (again) { again = false; refresh(); }
  }
}

function withMentions(text) {
  return text.replace(/@([a-z0-9_.-]+)/gi, (m, name) => {
    const u = view.data.users.find((x) => x.name.toLowerCase() === name.toLowerCase());
    return u ? `<@${u.id}>` : m;
  });
}

function composer(form, threadTs, inThread) {
  const area = form.querySelector("textarea");
  const suggest = form.querySelector(".suggest");
  let choices = [];
  let selected = 0;
  const close = () => { suggest.hidden = true; choices = []; };
  const pick = (u) => {
    area.value = area.value.replace(/@([a-z0-9_.-]*)$/i, `@${u.name} `);
    close();
    area.focus();
  };
  area.addEventListener("input", () => {
    const m = area.value.slice(0, area.selectionStart).match(/@([a-z0-9_.-]*)$/i);
    if (!m || !view.data) { close(); return; }
    choices = view.data.users.filter((u) => u.name.startsWith(m[1].toLowerCase()));
    selected = 0;
    suggest.innerHTML = choices.map((u, i) => `<div class="${i === 0 ? "sel" : ""}" data-i="${i}">@${esc(u.name)} <small>${esc(u.real_name)}</small></div>`).join("");
    suggest.hidden = !choices.length;
  });
  suggest.addEventListener("mousedown", (ev) => {
    const row = ev.target.closest("[data-i]");
    if (row) { ev.preventDefault(); pick(choices[Number(row.dataset.i)]); }
  });
  area.addEventListener("keydown", (ev) => {
    if (!suggest.hidden && (ev.key === "Tab" || ev.key === "Enter")) { ev.preventDefault(); pick(choices[selected]); return; }
    if (!suggest.hidden && (ev.key === "ArrowDown" || ev.key === "ArrowUp")) {
      ev.preventDefault();
      selected = (selected + (ev.key === "ArrowDown" ? 1 : choices.length - 1)) % choices.length;
      suggest.querySelectorAll("[data-i]").forEach((el, i) => el.classList.toggle("sel", i === selected));
      return;
    }
    if (ev.key === "Escape") close();
    if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); form.requestSubmit(); }
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = area.value.trim();
    if (!text) return;
    if (inThread && !threadTs()) { alert("No thread is open: open one to reply in it."); return; }
    area.value = "";
    close();
    const command = text.match(/^(\/[a-z0-9_-]+)\s*(.*)$/is);
    if (command) {
      const answer = await act("/_sandbox/command", { user: view.user, channel: view.channel, command: command[1], text: command[2] });
      if (answer.trigger_id) view.triggers.add(answer.trigger_id);
    } else {
      const posted = await act("/_sandbox/post", { user: view.user, channel: view.channel, text: withMentions(text), thread_ts: threadTs() });
      if (posted.ok && !threadTs() && /<@U0BOT>/.test(withMentions(text))) view.thread = posted.ts;
    }
    refresh();
  });
}

document.addEventListener("click", async (ev) => {
  const target = ev.target.closest("[data-action],[data-thread],[data-channel],[data-prompt],[data-home],[data-tour],[data-open-thread]");
  if (!target || target.tagName === "TEXTAREA") return;
  if (target.dataset.openThread) { // a link to a message of this workspace: open its thread here
    ev.preventDefault();
    Object.assign(view, { channel: target.dataset.openChannel, thread: target.dataset.openThread, home: false });
    refresh();
    return;
  }
  if (target.dataset.thread) { view.thread = target.dataset.thread; refresh(); return; }
  if (target.dataset.channel) { view.channel = target.dataset.channel; view.thread = null; view.home = false; refresh(); return; }
  if (target.dataset.home) { view.home = true; view.thread = null; await openHome(); return; }
  if (target.dataset.tour) { view.tour = true; localStorage.removeItem("opsbot.tour"); refresh(); return; }
  if (target.dataset.prompt !== undefined) {
    if (view.home) { view.home = false; render(view.data); }
    const area = $("#composer textarea");
    area.value = `@opsbot ${target.dataset.prompt}`;
    area.focus();
    if (target.dataset.scenario) await freshIncident(target.dataset.scenario);
    return;
  }
  const confirm = JSON.parse(target.dataset.confirm || "null");
  if (confirm && !(await confirmDialog(confirm))) return;
  const answer = await act("/_sandbox/click", { user: view.user, channel: view.channel, ts: target.dataset.ts, action_id: target.dataset.action, value: target.dataset.value });
  if (answer.trigger_id) view.triggers.add(answer.trigger_id);
  refresh();
});

// Trying a bundled incident again starts from its original files, unless a run of it still
// waits (sandbox/slack/incident_reset.py); the note says which.
async function freshIncident(name) {
  const note = $("#incident-note");
  const answer = await (await fetch("/_sandbox/fresh_incident", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ name }) })).json();
  note.textContent = answer.note || "";
  note.hidden = !answer.note;
  note.classList.toggle("kept", answer.ok && !answer.fresh);
}

// Opening the Home tab sends app_home_opened; the app answers with views.publish.
async function openHome() {
  await act("/_sandbox/open_home", { user: view.user });
  refresh();
}

$("#user").addEventListener("change", (ev) => {
  view.user = ev.target.value;
  localStorage.setItem("opsbot.user", view.user);
  if (view.home) openHome(); else refresh();
});
$("#close-thread").addEventListener("click", () => { view.thread = null; refresh(); });
composer($("#composer"), () => null, false);
composer($("#thread-composer"), () => view.thread, true);
$("#hide-tour").addEventListener("click", () => { view.tour = false; localStorage.setItem("opsbot.tour", "hidden"); refresh(); });

const live = new EventSource("/_sandbox/live");
live.onmessage = () => refresh();
refresh();
