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

/** Bytes as B, KB or MB with one decimal (as the server's step summaries write them). */
export function formatBytes(n) {
  const b = Number(n);
  if (!Number.isFinite(b) || b < 0) return "—";
  if (b < 1024) return `${b} B`;
  if (b < 1024 * 1024) return `${(b / 1024).toFixed(1)} KB`;
  return `${(b / 1024 / 1024).toFixed(1)} MB`;
}

/** A time of day, "14:05", with the date in front when it is not today ("Dec 1, 14:05"). */
export function clockTime(iso, now = Date.now()) {
  const t = parseTime(iso);
  if (t == null) return "—";
  const d = new Date(t);
  const time = d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  if (d.toDateString() === new Date(now).toDateString()) return time;
  return `${d.toLocaleDateString(undefined, { month: "short", day: "numeric" })}, ${time}`;
}

/** A date and time for a list ("Nov 30, 2026, 14:05"). */
export function dateTime(iso) {
  const t = parseTime(iso);
  if (t == null) return "—";
  const d = new Date(t);
  return `${d.toLocaleDateString(undefined, { dateStyle: "medium" })}, ${d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" })}`;
}

/** A queued job waiting for its next attempt after a transient failure. */
export function waitsForRetry(job) {
  return job.status === "queued" && Boolean(job.nextAttemptAt) && (job.attempt || 0) >= 1;
}

/** "Retrying at 14:05 (attempt 2 of 3)": job.attempt counts the attempts made so far. */
export function retryText(job, now = Date.now()) {
  const next = (job.attempt || 0) + 1;
  const of = job.maxAttempts ? ` of ${job.maxAttempts}` : "";
  return `Retrying at ${clockTime(job.nextAttemptAt, now)} (attempt ${next}${of})`;
}

/** The schedule that runs every `minutes`: "the hourly schedule", "the schedule that runs every 30 min". */
export function scheduleText(minutes) {
  const m = Number(minutes) || 0;
  const named = { 60: "hourly", 1440: "daily", 10080: "weekly" }[m];
  if (named) return `the ${named} schedule`;
  if (m <= 0) return "the schedule";
  const every = m % 1440 === 0 ? plural(m / 1440, "day") : m % 60 === 0 ? plural(m / 60, "hour") : `${formatCount(m)} min`;
  return `the schedule that runs every ${every}`;
}

/** Who made a job: the user, or the periodic schedule of `intervalMinutes` (the job's metadata). */
export function triggerText(trigger, intervalMinutes) {
  if (trigger === "scheduled") return `Made by ${scheduleText(intervalMinutes)}`;
  if (trigger === "user") return "Started by you";
  return humanize(trigger || "unknown");
}
