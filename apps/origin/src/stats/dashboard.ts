import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { OriginApp } from "../routes/context.ts";

/**
 * The creator page's dashboard: the links created in this browser (kept in localStorage with
 * their edit tokens, which are sent only to this API), each with its target, edit and delete,
 * its QR code with a PNG download, and its clicks (uPlot chart, top countries and referrers, bot
 * share), refreshed on demand. Plain script, no framework; every server text via textContent.
 *
 * The page includes DASHBOARD_HTML and calls `firstclickDashboard.remember(createdLink)` after
 * a create. Assets are served under /api/assets/ because the edge passes only `/` and `/api/*`
 * to the origin.
 */

export const ASSET_PATHS = {
  uplotJs: "/api/assets/uplot.iife.min.js",
  uplotCss: "/api/assets/uplot.min.css",
  dashboardJs: "/api/assets/dashboard.js",
} as const;

const require = createRequire(import.meta.url);
// uPlot 1.6: ~50 KB minified, canvas-based; read once at start from the installed package.
const UPLOT_JS = readFileSync(require.resolve("uplot/dist/uPlot.iife.min.js"), "utf8");
const UPLOT_CSS = readFileSync(require.resolve("uplot/dist/uPlot.min.css"), "utf8");

export const DASHBOARD_SCRIPT = `
const KEY = "firstclick:links";
const MAX_LINKS = 50;

function load() {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) || "[]");
    return Array.isArray(v) ? v.filter((l) => l && typeof l.code === "string") : [];
  } catch { return []; }
}
function save(links) { localStorage.setItem(KEY, JSON.stringify(links.slice(0, MAX_LINKS))); }

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "text") node.textContent = v; else node.setAttribute(k, v);
  }
  for (const c of children) if (c) node.append(c);
  return node;
}

async function api(link, path, init) {
  return fetch("/api/links/" + encodeURIComponent(link.code) + path, {
    credentials: "same-origin",
    ...init,
    headers: { accept: "application/json", authorization: "Bearer " + link.editToken, ...(init && init.headers) },
  });
}

function list(title, items, label) {
  const ul = el("ul", { "data-list": title });
  for (const it of items) ul.append(el("li", { text: label(it) + ": " + it.count }));
  if (!items.length) ul.append(el("li", { text: "none yet" }));
  return el("div", {}, el("h4", { text: title }), ul);
}

async function showStats(link, box) {
  box.setAttribute("aria-busy", "true");
  try {
    const res = await api(link, "/stats?interval=hour");
    const data = await res.json().catch(() => null);
    box.replaceChildren();
    if (!res.ok || !data) {
      box.append(el("p", { class: "error", text: (data && data.detail) || "Statistics unavailable (" + res.status + ")." }));
      return;
    }
    const total = el("p", { class: "total" }, el("strong", { "data-total": "", text: String(data.total) }), " clicks in the last 24 h");
    const share = Math.round(data.bots.share * 100);
    box.append(total, el("p", { "data-bots": "", text: "Bots: " + data.bots.count + " (" + share + " %)" }));
    const chart = el("div", { class: "chart", "data-chart": "" });
    box.append(chart);
    const xs = data.series.map((p) => Date.parse(p.t) / 1000);
    const ys = data.series.map((p) => p.count);
    if (window.uPlot) {
      new window.uPlot({ width: Math.min(560, box.clientWidth || 560), height: 160,
        series: [{}, { label: "clicks", stroke: "#2563eb", fill: "rgba(37,99,235,0.12)" }],
        axes: [{}, { size: 40 }] }, [xs, ys], chart);
    }
    box.append(
      list("Top countries", data.countries, (c) => c.country || "unknown"),
      list("Top referrers", data.referrers, (r) => r.host || "direct"),
    );
  } catch {
    box.replaceChildren(el("p", { class: "error", text: "The server could not be reached." }));
  } finally {
    box.removeAttribute("aria-busy");
  }
}

function card(link) {
  const target = el("p", { class: "target", text: link.url });
  const stats = el("div", { class: "stats", "aria-live": "polite" });
  const refresh = el("button", { type: "button", "data-action": "refresh", text: "Refresh stats" });
  const edit = el("button", { type: "button", "data-action": "edit", text: "Edit target" });
  const remove = el("button", { type: "button", "data-action": "delete", text: "Delete" });
  const qr = "/api/links/" + encodeURIComponent(link.code) + "/qr";
  const article = el("article", { class: "link", "data-code": link.code },
    el("h3", {}, el("a", { href: link.shortUrl, text: link.shortUrl })),
    target,
    el("img", { src: qr + ".svg", alt: "QR code of " + link.shortUrl, width: "120", height: "120" }),
    el("p", {}, el("a", { href: qr + ".png", download: link.code + "-qr.png", "data-action": "qr", text: "Download QR code (PNG)" })),
    el("div", { class: "actions" }, refresh, edit, remove),
    stats);
  refresh.addEventListener("click", () => showStats(link, stats));
  edit.addEventListener("click", async () => {
    const url = prompt("New target URL", link.url);
    if (!url) return;
    const res = await api(link, "", { method: "PATCH", headers: { "content-type": "application/json" }, body: JSON.stringify({ url }) });
    const data = await res.json().catch(() => null);
    if (res.ok && data) {
      link.url = data.url;
      target.textContent = data.url;
      save(load().map((l) => (l.code === link.code ? link : l)));
    } else stats.replaceChildren(el("p", { class: "error", text: (data && data.detail) || "Edit failed." }));
  });
  remove.addEventListener("click", async () => {
    if (!confirm("Delete " + link.shortUrl + "?")) return;
    const res = await api(link, "", { method: "DELETE" });
    if (res.status === 204 || res.status === 410) {
      save(load().filter((l) => l.code !== link.code));
      article.remove();
    }
  });
  showStats(link, stats);
  return article;
}

function render() {
  const root = document.getElementById("dashboard");
  if (!root) return;
  const links = load();
  const items = links.map(card);
  root.replaceChildren(el("h2", { text: "Your links" }),
    items.length ? el("div", { class: "links" }, ...items) : el("p", { text: "Links you create in this browser appear here." }));
}

function remember(created) {
  if (!created || typeof created.code !== "string" || typeof created.editToken !== "string") return;
  const links = load().filter((l) => l.code !== created.code);
  links.unshift({ code: created.code, shortUrl: created.shortUrl, url: created.url, editToken: created.editToken });
  save(links);
  render();
}

window.firstclickDashboard = { remember, render };
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", render);
else render();
`;

/** What the creator page adds at the end of its body. */
export const DASHBOARD_HTML = `<link rel="stylesheet" href="${ASSET_PATHS.uplotCss}">
<section id="dashboard" aria-label="Your links"></section>
<script src="${ASSET_PATHS.uplotJs}"></script>
<script src="${ASSET_PATHS.dashboardJs}"></script>`;

/** The Content-Security-Policy sources the page needs for the dashboard (besides its own). */
export const DASHBOARD_CSP = {
  "script-src": "'self'",
  "style-src": "'self'",
  "img-src": "'self'",
} as const;

export function registerDashboardAssets(app: OriginApp): void {
  // The assets change only with a deploy; no-cache makes the browser revalidate each load.
  const serve = (body: string, type: string) => () =>
    new Response(body, {
      headers: {
        "content-type": type,
        "cache-control": "no-cache",
        "x-content-type-options": "nosniff",
      },
    });
  app.get(ASSET_PATHS.uplotJs, serve(UPLOT_JS, "text/javascript; charset=utf-8"));
  app.get(ASSET_PATHS.uplotCss, serve(UPLOT_CSS, "text/css; charset=utf-8"));
  app.get(ASSET_PATHS.dashboardJs, serve(DASHBOARD_SCRIPT, "text/javascript; charset=utf-8"));
}
