// Pure formatting helpers: times, durations, money, counts. No DOM access.

export const TERMINAL = new Set(["succeeded", "failed", "canceled"]);
export const ACTIVE = new Set(["queued", "running"]);

const STATUS_TEXT = {
  queued: "Queued",
  running: "Running",
  succeeded: "Succeeded",
  failed: "Failed",
  canceled: "Canceled",
  pending: "Pending",
  approved: "Approved",
  rejected: "Rejected",
  applied: "Applied",
  skipped: "Skipped",
};

export function statusText(status) {
  return STATUS_TEXT[status] || humanize(status || "unknown");
}

export function humanize(name) {
  const s = String(name).replace(/[_-]+/g, " ").trim();
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function plural(n, one, many = one + "s") {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

export function formatCount(n) {
  return Number(n).toLocaleString();
}

export function parseTime(iso) {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

const rtf = new Intl.RelativeTimeFormat("en", { numeric: "auto" });

export function relativeTime(iso, now = Date.now()) {
  const t = parseTime(iso);
  if (t == null) return "—";
  const diff = (t - now) / 1000; // negative: in the past
  const abs = Math.abs(diff);
  if (abs < 5) return diff <= 0 ? "just now" : "in a moment";
  if (abs < 60) return rtf.format(Math.round(diff), "second");
  if (abs < 3600) return rtf.format(Math.round(diff / 60), "minute");
  if (abs < 86400) return rtf.format(Math.round(diff / 3600), "hour");
  if (abs < 86400 * 30) return rtf.format(Math.round(diff / 86400), "day");
  return new Date(t).toLocaleDateString(undefined, { dateStyle: "medium" });
}

export function exactTime(iso) {
  const t = parseTime(iso);
  if (t == null) return "";
  const local = new Date(t).toLocaleString(undefined, {
    weekday: "short", year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short",
  });
  return `${local} (${iso})`;
}

export function formatDuration(ms) {
  if (ms == null || Number.isNaN(ms) || ms < 0) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  const hrs = Math.floor(m / 60);
  return `${hrs} h ${m - hrs * 60} min`;
}

/** Duration of a job or step: completed - started, or now - started while it runs. */
export function durationOf(item, now = Date.now()) {
  const start = parseTime(item.startedAt);
  if (start == null) return null;
  const end = parseTime(item.completedAt) ?? (ACTIVE.has(item.status) ? now : null);
  return end == null ? null : end - start;
}

export function formatMoney(cents) {
  const n = Number(cents) / 100;
  const text = Math.abs(n).toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return n < 0 ? `−${text}` : text;
}

/** Transaction dates come as YYYY-MM-DD (a calendar day, no time zone). */
export function formatDate(value) {
  if (!value) return "—";
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(value);
  if (!m) return String(value);
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return d.toLocaleDateString(undefined, { dateStyle: "medium", timeZone: "UTC" });
}

export function formatPercent(x) {
  if (x == null || Number.isNaN(Number(x))) return "—";
  return `${Math.round(Number(x) * 100)}%`;
}
