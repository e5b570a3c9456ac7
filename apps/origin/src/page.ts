import { DASHBOARD_HTML } from "./stats/dashboard.ts";

/**
 * The creator page at `GET /`: one self-contained HTML document (no framework, no external
 * assets, a few KB), served through the edge, so its `fetch("/api/links")` is same-origin and the
 * RYOW cookie set by the answer comes back on the first click of the new link.
 */

const STYLE = `
:root { color-scheme: light dark; --accent: #2457d6; --error: #b3261e; --ok: #1e7d32; }
* { box-sizing: border-box; }
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
  display: grid; place-items: start center; min-height: 100vh; padding: 3rem 1rem; }
main { width: min(40rem, 100%); }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
p.lead { margin: 0 0 1.5rem; opacity: .8; }
form { display: grid; gap: .9rem; }
label { font-weight: 600; display: block; margin-bottom: .25rem; }
.hint { font-weight: 400; opacity: .75; font-size: .9rem; }
input { width: 100%; font: inherit; padding: .6rem .7rem; border: 1px solid #8888; border-radius: .4rem; }
input:focus-visible, button:focus-visible, a:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
button { font: inherit; font-weight: 600; padding: .6rem 1.1rem; border-radius: .4rem; border: 0;
  background: var(--accent); color: #fff; cursor: pointer; justify-self: start; }
button[disabled] { opacity: .6; cursor: progress; }
#result { margin-top: 1.5rem; min-height: 3rem; }
.ok { border-left: 4px solid var(--ok); padding: .5rem 1rem; }
.error { border-left: 4px solid var(--error); padding: .5rem 1rem; color: var(--error); }
.short { font-size: 1.2rem; word-break: break-all; }
.row { display: flex; gap: .75rem; align-items: center; flex-wrap: wrap; }
.secondary { background: transparent; color: var(--accent); border: 1px solid var(--accent); }
details { margin-top: .5rem; font-size: .9rem; }
code { word-break: break-all; }
`;

// Plain DOM code, no innerHTML with data from the server: every text goes through textContent.
const SCRIPT = `
const form = document.getElementById("shorten");
const result = document.getElementById("result");
const submit = form.querySelector("button[type=submit]");

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function showError(message, field) {
  result.replaceChildren();
  const box = el("div", { class: "error", role: "alert" });
  box.append(el("strong", {}, "Could not shorten: "), document.createTextNode(message));
  result.append(box);
  for (const input of form.querySelectorAll("input")) input.removeAttribute("aria-invalid");
  const bad = field && form.elements.namedItem(field);
  if (bad) { bad.setAttribute("aria-invalid", "true"); bad.focus(); }
}

async function copy(text, status) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Clipboard API unavailable (http: origin, old browser, denied): the selection fallback.
    const area = el("textarea", { readonly: "", style: "position:fixed;opacity:0" });
    area.value = text;
    document.body.append(area);
    area.select();
    const ok = document.execCommand && document.execCommand("copy");
    area.remove();
    if (!ok) { status.textContent = "Copy failed: select the link and copy it by hand."; return; }
  }
  status.textContent = "Copied to the clipboard.";
}

function showLink(link) {
  result.replaceChildren();
  const box = el("div", { class: "ok" });
  box.append(el("p", {}, "Your short link:"));
  const row = el("div", { class: "row" });
  const a = el("a", { href: link.shortUrl, class: "short", id: "short-link" }, link.shortUrl);
  const button = el("button", { type: "button", class: "secondary" }, "Copy");
  const status = el("span", { role: "status" });
  button.addEventListener("click", () => copy(link.shortUrl, status));
  row.append(a, button, status);
  box.append(row);
  box.append(el("p", { class: "hint" }, "It points to " + link.url + ". It works right away for you; other people may need a few seconds."));
  const live = el("p", { class: "hint", id: "live", role: "status" }, "Reaching every replica…");
  box.append(live);
  const more = el("details");
  more.append(el("summary", {}, "Edit token (shown once)"));
  more.append(el("p", {}, "Keep it to edit or delete this link: "), el("code", {}, link.editToken));
  box.append(more);
  result.append(box);
  a.focus();
  watchLive(link.code, live);
}

// "Live for everyone": GET /api/links/:code reports how many replicas have replayed this
// browser's write (its ryow_pos cookie goes along); bounded, about LIVE_POLLS seconds.
const LIVE_POLLS = 20;
async function watchLive(code, status) {
  for (let i = 0; i < LIVE_POLLS; i++) {
    try {
      const res = await fetch("/api/links/" + encodeURIComponent(code), {
        headers: { accept: "application/json" }, credentials: "same-origin",
      });
      const data = res.ok ? await res.json() : null;
      if (data && typeof data.replicas === "number" && data.caughtUp >= data.replicas) {
        status.textContent = "Live for everyone: anyone's first click works now.";
        status.setAttribute("data-live", "true");
        return;
      }
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  status.textContent = "Some replicas are still catching up: other people may need a few more seconds.";
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const url = form.elements.namedItem("url").value.trim();
  const alias = form.elements.namedItem("alias").value.trim();
  const body = { url };
  if (alias) body.alias = alias;
  submit.disabled = true;
  result.setAttribute("aria-busy", "true");
  try {
    const res = await fetch("/api/links", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      credentials: "same-origin",
      body: JSON.stringify(body),
    });
    let data = null;
    try { data = await res.json(); } catch {}
    if (res.ok && data) {
      showLink(data);
      // The dashboard below keeps the link (and its edit token) in this browser only.
      if (window.firstclickDashboard) window.firstclickDashboard.remember(data);
      return;
    }
    const first = data && Array.isArray(data.errors) ? data.errors[0] : null;
    const message = (data && data.detail) || "The server answered " + res.status + ".";
    const field = first && (first.field === "url" || first.field === "alias") ? first.field : null;
    showError(message, field);
  } catch {
    showError("The server could not be reached. Check your connection and try again.", null);
  } finally {
    submit.disabled = false;
    result.removeAttribute("aria-busy");
  }
});
`;

/** The page with its inline script and style allowed by `nonce` (the response's CSP). */
export function creatorPage(nonce: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>firstclick — shorten a link</title>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
<main>
<h1>firstclick</h1>
<p class="lead">Shorten a link. It works for you on the very first click.</p>
<form id="shorten" novalidate>
  <div>
    <label for="url">Long URL</label>
    <input id="url" name="url" type="url" inputmode="url" autocomplete="url" required
      placeholder="https://example.com/a/long/path" autofocus>
  </div>
  <div>
    <label for="alias">Custom alias <span class="hint">(optional: 3–64 letters, digits, _ or -)</span></label>
    <input id="alias" name="alias" type="text" autocomplete="off" spellcheck="false"
      pattern="[A-Za-z0-9_\\-]{3,64}" aria-describedby="alias-hint">
    <span id="alias-hint" class="hint">Leave empty for a random 7-character code.</span>
  </div>
  <button type="submit">Shorten</button>
</form>
<div id="result" aria-live="polite"></div>
${DASHBOARD_HTML}
</main>
<script type="module" nonce="${nonce}">${SCRIPT}</script>
</body>
</html>`;
}
