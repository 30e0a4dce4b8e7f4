// Tiny DOM helpers: build elements without innerHTML, re-render without losing keyboard focus.

import { exactTime, relativeTime, durationOf, formatDuration, statusText } from "./format.js";

/**
 * h("button", {class: "x", onclick: fn, "data-testid": "y"}, "text", child, [more]).
 * `style` takes an object and goes through the CSSOM: the page's CSP allows no style attributes.
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value == null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "style") Object.assign(el.style, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/**
 * Replace a container's children. If focus was on an element with data-key inside it, the
 * element with the same data-key in the new content gets focus back.
 */
export function renderInto(container, ...children) {
  const active = document.activeElement;
  const keyed = active && container.contains(active) ? active.closest("[data-key]") : null;
  const key = keyed ? keyed.getAttribute("data-key") : null;
  container.replaceChildren(...children.flat(Infinity).filter((c) => c != null && c !== false));
  if (key) {
    const again = container.querySelector(`[data-key="${CSS.escape(key)}"]`);
    if (again) again.focus({ preventScroll: true });
  }
}

/** The id of the inline error shown beside the control whose busy/error key is `key`. */
export function errorId(key) {
  return "err-" + Array.from(key, (c) => (/[A-Za-z0-9_-]/.test(c) ? c : "_" + c.codePointAt(0).toString(16))).join("");
}

/** The inline error of control `key`, or null: shown beside the control, linked by aria-describedby. */
export function errorNote(state, key, props = {}) {
  const error = state.errors.get(key);
  if (!error) return null;
  return h("p", { class: "inline-error", id: errorId(key), "data-testid": "inline-error", "data-error-for": key, ...props }, error.text);
}

/** aria-describedby for a control: its inline error when it has one, and any other ids given. */
export function describedBy(state, key, ...more) {
  const ids = [state.errors.has(key) ? errorId(key) : null, ...more].filter(Boolean);
  return ids.length ? ids.join(" ") : null;
}

/** aria-disabled for a control that needs the server: while offline, or while its own request runs. */
export function blocked(state, key, ...more) {
  return !state.online || state.busy.has(key) || more.some(Boolean) ? "true" : null;
}

/** A status badge: colour from the class, meaning from the text (and an icon in CSS). */
export function badge(status, props = {}) {
  return h("span", { class: `badge badge-${status}`, "data-status": status, ...props }, statusText(status));
}

/** A relative time with the exact time on hover; refreshed in place by refreshTimes(). */
export function timeEl(iso, props = {}) {
  if (!iso) return h("span", { class: "muted", ...props }, "—");
  return h("time", { datetime: iso, title: exactTime(iso), "data-rel-time": iso, ...props }, relativeTime(iso));
}

/** Duration of a job or step, kept ticking while it runs. */
export function durationEl(item, props = {}) {
  const ms = durationOf(item);
  return h(
    "span",
    {
      class: "duration",
      "data-started": item.startedAt || "",
      "data-completed": item.completedAt || "",
      "data-running": item.status === "running" ? "1" : "",
      ...props,
    },
    ms == null ? "—" : formatDuration(ms),
  );
}

export function refreshTimes(root = document) {
  const now = Date.now();
  for (const el of root.querySelectorAll("[data-rel-time]")) {
    const text = relativeTime(el.getAttribute("data-rel-time"), now);
    if (el.textContent !== text) el.textContent = text;
  }
  for (const el of root.querySelectorAll(".duration[data-running='1']")) {
    const ms = durationOf({ startedAt: el.dataset.started, completedAt: el.dataset.completed || null, status: "running" }, now);
    const text = ms == null ? "—" : formatDuration(ms);
    if (el.textContent !== text) el.textContent = text;
  }
}
