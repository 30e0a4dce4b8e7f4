// Settings: the session bar (open-mode notice, log out) and the API tokens panel. Talks to /api/session and
// /api/tokens only; the Job Center (app.js) does not depend on it.

import { h, renderInto, timeEl } from "./dom.js";
import { toLogin } from "./session.js";

const $ = (id) => document.getElementById(id);

async function call(method, url, body) {
  const resp = await fetch(url, {
    method,
    cache: "no-store",
    headers: body ? { "Content-Type": "application/json", Accept: "application/json" } : { Accept: "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (resp.status === 401) {
    toLogin();
    throw new Error("Logged out");
  }
  const data = resp.status === 204 ? {} : await resp.json();
  if (!resp.ok) throw new Error((data.error && data.error.message) || `Request failed (${resp.status})`);
  return data;
}

let shownSecret = null; // {name, secret}: shown once, right after creation

function renderSessionBar(session) {
  const bar = $("session-bar");
  if (!bar) return;
  const items = [];
  if (session.mode === "password") {
    items.push(h("button", { type: "button", class: "btn btn-small", "data-testid": "logout", onclick: logout }, "Log out"));
  }
  renderInto(bar, items);
  const notice = $("open-notice");
  if (notice && session.mode !== "password") {
    notice.textContent = session.mode === "open"
      ? "No password is set (AUTH_PASSWORD): anyone who can reach this computer's loopback address can use this page."
      : "Login is switched off (AUTH_DISABLED=1): the proxy in front of this service must ask for credentials.";
    notice.hidden = false;
  }
}

async function logout() {
  await call("DELETE", "/api/session");
  toLogin();
}

async function renderTokens() {
  const panel = $("tokens-body");
  if (!panel) return;
  const { tokens } = await call("GET", "/api/tokens");
  const secret = shownSecret
    ? h("p", { class: "token-secret", "data-testid": "token-secret" },
      `New token “${shownSecret.name}” (shown once, copy it now): `, h("code", null, shownSecret.secret))
    : null;
  const list = tokens.length
    ? h("ul", { class: "token-list", "data-testid": "token-list" }, tokens.map((t) =>
      h("li", { class: "token-row", "data-testid": "token-row" },
        h("span", null, h("strong", null, t.name), " · created ", timeEl(t.createdAt), " · last used ",
          timeEl(t.lastUsedAt)),
        h("button", { type: "button", class: "btn btn-small btn-danger", "data-key": `revoke-${t.id}`,
          onclick: () => revoke(t.id) }, "Revoke"))))
    : h("p", { class: "muted", "data-testid": "tokens-empty" }, "No API tokens yet.");
  const form = h("form", { class: "token-form", "data-testid": "token-form", onsubmit: create },
    h("label", null, h("span", null, "Token name "),
      h("input", { name: "name", required: true, maxlength: "100", "data-testid": "token-name" })),
    h("button", { type: "submit", class: "btn btn-small" }, "Create token"));
  renderInto(panel, secret, list, form);
}

async function create(event) {
  event.preventDefault();
  const name = event.target.elements.name.value.trim();
  if (!name) return;
  const { token, secret } = await call("POST", "/api/tokens", { name });
  shownSecret = { name: token.name, secret };
  await renderTokens();
}

async function revoke(id) {
  await call("DELETE", `/api/tokens/${encodeURIComponent(id)}`);
  shownSecret = null;
  await renderTokens();
}

async function start() {
  const session = await call("GET", "/api/session");
  if (!session.loggedIn) return toLogin();
  renderSessionBar(session);
  await renderTokens();
}

start().catch((err) => {
  const panel = $("tokens-body");
  if (panel) panel.textContent = `Tokens could not be loaded: ${err.message}`;
});
