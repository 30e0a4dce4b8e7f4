// Job Center: state, actions and the polling loop. Views live in jobs.js, suggestions.js and snapshots.js.

import { api, ApiError } from "./api.js";
import { h, renderInto, refreshTimes, errorNote, describedBy, blocked, timeEl } from "./dom.js";
import { ACTIVE, TERMINAL, statusText, plural, parseTime, triggerText, waitsForRetry } from "./format.js";
import { jobListItems, jobDetailView, jobLabel, typeTaking } from "./jobs.js";
import { createReview, groupByPayee } from "./suggestions.js";
import { snapshotsView } from "./snapshots.js";
import { budgetOptionText, budgetStatusView, removedText, REMOVE_KEY } from "./budgets.js";
import { explain, isNetworkError, isTransient } from "./errors.js";

const FAST_MS = 1000; // while something is queued or running
const IDLE_MS = 10000; // otherwise
const OFFLINE_MAX_MS = 5000; // while the server cannot be reached: 1, 2, 4, 5, 5… s
const BUDGETS_MS = 30000; // the budget list (new budgets show up without a reload)
const SUGGESTIONS_MS = 10000; // suggestions reviewed elsewhere show up within this
const BACK_ONLINE_MS = 6000; // how long "Back online" stays
const PAGE_SIZE = 20;
const BUDGET_KEY = "budget-assist.budgetId";

const state = {
  budgets: [],
  budgetId: null,
  jobTypes: [],
  filters: { type: "", status: "" },
  jobs: [], // newest first: the polled first page plus pages from "load more"
  nextCursor: null,
  loadedMore: false,
  listLoaded: false,
  selectedJobId: null,
  details: new Map(), // job id -> {job, steps, events}
  applyJobId: null,
  suggestions: [],
  suggestionsLoaded: false,
  suggestionsNotice: null, // what changed elsewhere since the page last looked
  jobInfo: new Map(), // job id -> {label, trigger, intervalMinutes, at}: where suggestions came from
  snapshots: [],
  snapshotsLoaded: false,
  busy: new Set(),
  errors: new Map(), // control key -> {text, transient}: shown beside that control
  seenStatus: new Map(), // job id -> last status seen, to notice transitions
  online: true,
  health: null, // GET /api/health: workers alive, degraded while jobs wait without one
  schedule: null, // GET /api/schedule for the selected budget
  opsPolledAt: 0,
  backOnline: false, // "Back online" is showing
  confirmRemove: null, // the budget whose removal is being confirmed
  budgetNotice: null, // what the last removal did
};

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- messages

function later(el, text) {
  el.textContent = "";
  // A fresh text node a moment later, so screen readers announce a repeated message again.
  return setTimeout(() => (el.textContent = text), 50);
}

let announceTimer = null;
function announce(text) {
  clearTimeout(announceTimer);
  announceTimer = later($("announcer"), text);
}

let alertTimer = null;
function alertNow(text) {
  clearTimeout(alertTimer);
  alertTimer = later($("alert"), text);
}

/** A control's request failed: say so beside it and in the alert region; go offline on a network error. */
function fail(key, what, err) {
  const text = explain(err, what);
  state.errors.set(key, { text, transient: isTransient(err) });
  alertNow(text);
  if (isNetworkError(err)) {
    goOffline();
  } else if (err instanceof ApiError && [404, 409, 422].includes(err.status)) {
    // The page's picture was out of date: fetch it again.
    suggestionsDirty = true;
    snapshotsDirty = true;
    budgetsDirty = true;
    pollSoon();
  }
}

/** A control's request succeeded: its error goes, and so do errors that only said the server was away. */
function succeeded(key) {
  let cleared = state.errors.delete(key);
  for (const [k, e] of state.errors) {
    if (e.transient && k !== "refresh") {
      state.errors.delete(k);
      cleared = true;
    }
  }
  if (cleared) {
    clearTimeout(alertTimer);
    $("alert").textContent = "";
    renderAll();
  }
}

// ---------------------------------------------------------------- connection

let backOnlineTimer = null;

function goOffline() {
  if (!state.online) return;
  state.online = false;
  state.backOnline = false;
  clearTimeout(backOnlineTimer);
  renderAll();
  if (!ticking) schedule(FAST_MS); // look again soon; the poller backs off from there
}

/** Called after a full catch-up tick: everything on the page is fresh again. */
function goOnline() {
  if (state.online) return;
  state.online = true;
  state.backOnline = true;
  renderAll();
  backOnlineTimer = setTimeout(() => {
    state.backOnline = false;
    renderConnection();
  }, BACK_ONLINE_MS);
}

/** The connection banner, a live region: its content changes only when the connection state does. */
function renderConnection() {
  const el = $("connection");
  const now = !state.online ? "offline" : state.backOnline ? "back" : "online";
  if (el.dataset.state === now) return;
  el.dataset.state = now;
  if (now === "offline") {
    renderInto(
      el,
      h("strong", null, "Offline: "),
      h("span", null, "budget-assist cannot be reached. Buttons that need it are paused; the page tries again every few seconds and catches up when it is back. "),
      h("button", { type: "button", class: "btn btn-small", "data-key": "try-now", "data-testid": "try-now", onclick: () => pollSoon() }, "Try now"),
    );
  } else if (now === "back") {
    renderInto(el, h("strong", null, "Back online. "), h("span", null, "The page has caught up."));
  } else {
    el.replaceChildren();
  }
}

// ---------------------------------------------------------------- rendering

function renderLive() {
  const el = $("live");
  const active = anyActive();
  el.dataset.state = !state.online ? "error" : active ? "fast" : "idle";
  el.textContent = !state.online
    ? "Offline · retrying"
    : active
      ? "Live · updating every second"
      : "Live · checking every 10 s";
  renderInto($("refresh-error"), errorNote(state, "refresh"));
}

const kebab = (name) => name.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());

/** The yes/no inputs of a job type: offered as checkboxes beside its start button. */
const optionInputs = (t) => (t.inputs || []).filter((i) => i.type === "boolean");
const optionId = (t, input) => `${t.kind}-${kebab(input.name)}-input`;

/**
 * Job types the start area can fill in: the budget comes from the picker, yes/no options from
 * checkboxes. Types that need suggestions picked are started from the review below.
 */
function startableHere(t) {
  return t.userStartable && t.kind && (t.inputs || []).every((i) => i.name === "budgetId" || i.type === "boolean");
}

/** The job type whose input `name` the review fills in (a suggestion of a group, the approved ones). */
function kindTaking(name) {
  const t = typeTaking(state.jobTypes, name);
  return t ? t.kind : null;
}

function renderStart() {
  // The main job first, on a row of its own; the others below it in their declared order.
  const types = state.jobTypes.filter(startableHere).sort((a, b) => Number(Boolean(b.primary)) - Number(Boolean(a.primary)));
  const nodes = types.map((t) => {
    const key = `start-${t.kind}`;
    const busy = state.busy.has(key);
    const options = optionInputs(t);
    const descId = t.description ? `desc-${t.kind}` : null;
    const chosen = () => Object.fromEntries(options.map((i) => [i.name, $(optionId(t, i))?.checked || undefined]));
    const button = h(
      "button",
      {
        type: "button",
        class: "btn" + (t.primary ? " btn-primary" : ""),
        "data-key": key,
        "data-testid": key,
        "aria-disabled": blocked(state, key, !state.budgetId),
        "aria-describedby": describedBy(state, key, descId),
        onclick: () => startJob(t.kind, chosen()),
      },
      busy ? `Starting ${t.label}…` : t.label,
    );
    const checks = options.map((i) =>
      h(
        "label",
        { class: "check" },
        h("input", {
          type: "checkbox",
          id: optionId(t, i),
          "data-key": `${t.kind}-${kebab(i.name)}`,
          "data-testid": kebab(i.name),
          "aria-describedby": descId,
          checked: $(optionId(t, i))?.checked || null,
        }),
        ` ${i.label || i.name}`,
      ),
    );
    return h(
      "div",
      { class: "start-item" + (t.primary ? " start-primary" : ""), "data-testid": "start-item" },
      h("div", { class: "start-controls" }, button, checks),
      descId ? h("p", { class: "start-desc muted", id: descId, "data-testid": "start-description" }, t.description) : null,
      errorNote(state, key),
    );
  });
  renderInto($("start-buttons"), nodes.length ? nodes : h("p", { class: "muted" }, "Loading job types…"));
}

function renderList() {
  const list = $("job-list");
  renderInto(list, jobListItems(state, actions));
  $("jobs-empty").hidden = !state.listLoaded || state.jobs.length > 0;
  $("jobs-empty").textContent =
    state.filters.type || state.filters.status ? "No jobs match these filters." : "No jobs yet. Start one above.";
  const more = $("load-more");
  more.hidden = !state.nextCursor;
  if (state.online) more.removeAttribute("aria-disabled");
  else more.setAttribute("aria-disabled", "true");
  const describe = describedBy(state, "load-more");
  if (describe) more.setAttribute("aria-describedby", describe);
  else more.removeAttribute("aria-describedby");
  renderInto($("load-more-error"), errorNote(state, "load-more"));
  renderLive();
}

function renderDetail() {
  renderInto($("job-detail"), jobDetailView(state, actions));
}

function renderSuggestions() {
  review.render();
  renderCallout();
  renderOrigin();
  renderNotice();
  const refresh = $("refresh-suggestions");
  if (state.online) refresh.removeAttribute("aria-disabled");
  else refresh.setAttribute("aria-disabled", "true");
}

function renderBudgetStatus() {
  const el = $("budget-status");
  renderInto(el, budgetStatusView(state, actions));
  el.hidden = !el.childElementCount;
}

function renderSnapshots() {
  const budget = state.budgets.find((b) => b.id === state.budgetId);
  $("snapshots-budget").textContent = budget ? `of ${budget.name}` : "";
  renderInto($("snapshots-body"), snapshotsView(state, actions));
}

function renderOps() {
  const banner = $("worker-banner");
  const degraded = state.health && state.health.status === "degraded";
  banner.hidden = !degraded;
  banner.textContent = degraded ? state.health.message || "No worker is running: jobs will wait." : "";
  const s = state.schedule;
  const line = $("next-sync");
  if (!s || s.budgetId !== state.budgetId) return renderInto(line);
  if (!s.nextSyncDueAt) return renderInto(line, "Scheduled syncs are off.");
  const due = parseTime(s.nextSyncDueAt) <= Date.now() + 60000;
  renderInto(line, "Next scheduled sync: ", due ? "due now" : timeEl(s.nextSyncDueAt, { "data-testid": "next-sync-time" }),
    ` (every ${plural(s.intervalMinutes, "minute")} after the last successful sync)`);
}

function renderAll() {
  renderOps();
  renderConnection();
  renderBudgetStatus();
  renderStart();
  renderList();
  renderDetail();
  renderSnapshots();
  renderSuggestions();
}

/** Where the pending suggestions came from: which job, started by whom, when. */
function renderOrigin() {
  const el = $("suggestions-origin");
  const pending = state.suggestions.filter((s) => s.status === "pending");
  const ids = [...new Set(pending.map((s) => s.jobId).filter(Boolean))];
  const known = ids.map((id) => state.jobInfo.get(id)).filter(Boolean);
  if (!pending.length || !known.length) {
    el.hidden = true;
    el.replaceChildren();
    return;
  }
  const latest = known.reduce((a, b) => (String(a.at) > String(b.at) ? a : b));
  let text;
  if (known.length === 1 && ids.length === 1) {
    const who = latest.trigger === "scheduled" ? triggerText("scheduled", latest.intervalMinutes) : latest.trigger === "user" ? "Made by a job you started" : "Made by a job";
    text = [`${who} (${latest.label}), `, timeEl(latest.at), "."];
  } else {
    const scheduled = known.filter((j) => j.trigger === "scheduled").length;
    const user = known.filter((j) => j.trigger === "user").length;
    const parts = [scheduled ? `${scheduled} by the schedule` : null, user ? `${user} started by you` : null].filter(Boolean);
    text = [`Made by ${plural(ids.length, "job")}${parts.length ? ` (${parts.join(", ")})` : ""}; the latest `, timeEl(latest.at), "."];
  }
  el.hidden = false;
  renderInto(el, text);
}

function renderNotice() {
  const el = $("suggestions-notice");
  if (!state.suggestionsNotice) {
    el.hidden = true;
    el.replaceChildren();
    return;
  }
  el.hidden = false;
  renderInto(
    el,
    h("p", null, state.suggestionsNotice),
    h(
      "button",
      {
        type: "button",
        class: "btn btn-small",
        "data-key": "dismiss-notice",
        "data-testid": "dismiss-notice",
        onclick: () => {
          state.suggestionsNotice = null;
          renderNotice();
          $("suggestions-h").focus();
        },
      },
      "Dismiss",
    ),
  );
}

// ---------------------------------------------------------------- state helpers

/** A job worth polling every second for: running, or queued and not waiting for a retry far ahead. */
function busyJob(job) {
  if (!ACTIVE.has(job.status)) return false;
  if (!waitsForRetry(job)) return true;
  return (parseTime(job.nextAttemptAt) ?? 0) - Date.now() < IDLE_MS;
}

function anyActive() {
  if (state.jobs.some(busyJob)) return true;
  for (const d of state.details.values()) if (d.job && busyJob(d.job)) return true;
  return false;
}

function matchesFilters(job) {
  return (!state.filters.type || state.filters.type === job.type) && (!state.filters.status || state.filters.status === job.status);
}

function rememberJob(job) {
  state.jobInfo.set(job.id, {
    label: jobLabel(job, state.jobTypes),
    trigger: job.trigger,
    intervalMinutes: job.metadata?.intervalMinutes,
    at: job.completedAt || job.createdAt,
  });
}

function upsertJob(job) {
  const i = state.jobs.findIndex((j) => j.id === job.id);
  if (i >= 0) {
    if (matchesFilters(job)) state.jobs[i] = job;
    else state.jobs.splice(i, 1);
  } else if (matchesFilters(job)) {
    state.jobs.unshift(job);
  }
  const d = state.details.get(job.id);
  if (d) d.job = job;
  rememberJob(job);
}

/** Merge a fresh first page: it replaces everything within its window; older loaded pages stay. */
function mergeFirstPage(page, nextCursor) {
  const ids = new Set(page.map((j) => j.id));
  const oldest = page.length ? page[page.length - 1].createdAt : null;
  const keepOlder = state.loadedMore && page.length >= PAGE_SIZE;
  const older = keepOlder ? state.jobs.filter((j) => !ids.has(j.id) && String(j.createdAt) <= String(oldest)) : [];
  state.jobs = [...page, ...older];
  if (!state.loadedMore) state.nextCursor = nextCursor;
  for (const job of page) {
    rememberJob(job);
    const d = state.details.get(job.id);
    if (d && d.job && (d.job.status !== job.status || String(d.job.updatedAt) < String(job.updatedAt))) d.job = job;
  }
}

/** Notice status changes: announce finished jobs, and report whether suggestions may have changed. */
function noticeTransitions(jobs) {
  let finished = false;
  for (const job of jobs) {
    const before = state.seenStatus.get(job.id);
    state.seenStatus.set(job.id, job.status);
    if (before === job.status) continue;
    if (TERMINAL.has(job.status) && (before !== undefined || state.listLoaded)) {
      finished = true;
      if (before !== undefined) review.jobFinished(job);
      if (before !== undefined) announce(`${jobLabel(job, state.jobTypes)}: ${statusText(job.status)}`);
    }
  }
  return finished;
}

function kindFor(job) {
  const jt = state.jobTypes.find((t) => t.type === job.type);
  if (jt && jt.userStartable && jt.kind) return jt.kind;
  if (!jt) return null;
  // A scheduled job type runs again as the user-startable type with the same steps.
  const same = state.jobTypes.find((t) => t.userStartable && t.kind && JSON.stringify(t.steps) === JSON.stringify(jt.steps));
  return same ? same.kind : null;
}

function writeHash() {
  const params = new URLSearchParams();
  if (state.budgetId) params.set("budget", state.budgetId);
  if (state.selectedJobId) params.set("job", state.selectedJobId);
  history.replaceState(null, "", "#" + params.toString());
}

/** Run one request of control `key`: not while offline, one at a time, its error beside it. */
async function withBusy(key, render, what, fn) {
  if (state.busy.has(key) || !state.online) return undefined;
  state.busy.add(key);
  render();
  try {
    const result = await fn();
    succeeded(key);
    return result;
  } catch (err) {
    fail(key, typeof what === "function" ? what(err) : what, err);
    return undefined;
  } finally {
    state.busy.delete(key);
    render();
  }
}

// ---------------------------------------------------------------- actions

function onStarted(data, select = true) {
  const { job, steps } = data;
  state.seenStatus.set(job.id, job.status);
  upsertJob(job);
  state.details.set(job.id, { job, steps: steps || [], events: (state.details.get(job.id) || {}).events || [] });
  if (select) state.selectedJobId = job.id;
  writeHash();
  renderList();
  renderDetail();
  announce(data.deduplicated ? `${job.label} is already ${statusText(job.status).toLowerCase()}; showing it` : `Started ${job.label}`);
  pollSoon();
  return job;
}

async function startJob(kind, extra = {}) {
  if (!state.budgetId) return;
  const body = { budgetId: state.budgetId };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) body[k] = v;
  const t = state.jobTypes.find((jt) => jt.kind === kind);
  await withBusy(`start-${kind}`, renderStart, `Could not start “${t ? t.label : kind}”`, async () => {
    const { data } = await api.startJob(kind, body);
    onStarted(data);
  });
}

let reviewGeneration = 0; // bumped by each review here, so an older poll answer does not undo it

const actions = {
  selectJob(id, scroll = false) {
    state.selectedJobId = id;
    writeHash();
    renderList();
    renderDetail();
    if (scroll) {
      $("job-detail").scrollIntoView({ block: "start" });
      const heading = $("detail-h");
      if (heading) {
        heading.setAttribute("tabindex", "-1");
        heading.focus({ preventScroll: true });
      }
    }
    pollSoon();
  },

  async cancelJob(job) {
    if (job.cancelRequested) return;
    await withBusy(
      `cancel-${job.id}`,
      renderDetail,
      (err) => (err.status === 409 ? "Could not cancel: this job has already finished" : "Could not cancel the job"),
      async () => {
        const { data } = await api.cancelJob(job.id);
        upsertJob(data.job);
        const d = state.details.get(job.id) || { events: [] };
        state.details.set(job.id, { ...d, job: data.job, steps: data.steps || d.steps });
        announce(data.job.status === "canceled" ? `${data.job.label} canceled` : `Cancel requested for ${data.job.label}`);
        renderList();
      },
    );
    pollSoon();
  },

  canRunAgain(job) {
    return Boolean(kindFor(job));
  },

  async runAgain(job) {
    const kind = kindFor(job);
    if (!kind) return;
    const meta = job.metadata || {};
    const body = { budgetId: job.budgetId };
    const jt = state.jobTypes.find((t) => t.kind === kind);
    for (const { name } of (jt && jt.inputs) || []) if (name !== "budgetId" && meta[name] !== undefined) body[name] = meta[name];
    await withBusy(`again-${job.id}`, renderDetail, "Could not start the job again", async () => {
      const { data } = await api.startJob(kind, body);
      onStarted(data);
    });
  },

  detailExtras(job) {
    return review.detailExtras(job);
  },

  askRemoveBudget() {
    if (!state.online || state.busy.has(REMOVE_KEY)) return;
    state.confirmRemove = state.budgetId;
    renderBudgetStatus();
    $("remove-question")?.focus();
  },

  keepBudget() {
    state.confirmRemove = null;
    state.errors.delete(REMOVE_KEY);
    renderBudgetStatus();
    document.querySelector('[data-key="remove-ask"]')?.focus();
  },

  async removeBudget() {
    const budget = state.budgets.find((b) => b.id === state.confirmRemove);
    if (!budget) return;
    await pausePolls();
    try {
      await withBusy(REMOVE_KEY, renderBudgetStatus, `Could not remove “${budget.name}”`, () => removeAndSwitch(budget));
    } finally {
      resumePolls();
    }
  },
};

/** DELETE the budget here, then show the next one (polls are paused meanwhile: see actions.removeBudget). */
async function removeAndSwitch(budget) {
  const { data } = await api.removeBudget(budget.id);
  const text = removedText(budget, data);
  state.budgets = state.budgets.filter((b) => b.id !== budget.id);
  const next = state.budgets[0];
  if (next) selectBudget(next.id);
  else forgetBudget();
  fillBudgetPicker();
  state.budgetNotice = text;
  renderBudgetStatus();
  announce(text);
  $("budget").focus();
}

// The review (web/suggestions.js) works on this page's state; it starts jobs through the Job Center.
const review = createReview($("suggestions-body"), {
  appState: state,
  run: (key, what, fn) => withBusy(key, renderSuggestions, what, fn),
  reviewed: () => {
    reviewGeneration += 1;
  },
  announce,
  kindTaking,
  selectJob: (id, scroll) => actions.selectJob(id, scroll),
  jobDetail: (id) => state.details.get(id) || (state.jobs.find((j) => j.id === id) ? { job: state.jobs.find((j) => j.id === id), steps: [] } : undefined),
  renderCallout,
  async startJob(kind, body, { select = true } = {}) {
    const { data } = await api.startJob(kind, body);
    const job = onStarted(data, select);
    if (!select) renderDetail();
    return job;
  },
});

function renderCallout() {
  const el = $("review-callout");
  if (!el) return;
  const view = review.calloutView();
  renderInto(el, view);
  el.hidden = !view;
}

// After a review the row that had focus may be gone: keep keyboard users in the section.
function moveFocusIfLost() {
  if (document.activeElement && document.activeElement !== document.body) return;
  const next = $("suggestions-body").querySelector("button:not([aria-disabled='true'])");
  (next || $("suggestions-h")).focus();
}

// ---------------------------------------------------------------- data loading

function listParams(extra = {}) {
  return { budgetId: state.budgetId, type: state.filters.type, status: state.filters.status, limit: PAGE_SIZE, ...extra };
}

async function refreshList() {
  const generation = listGeneration;
  const { data, changed } = await api.jobs(listParams());
  if (generation !== listGeneration) return false; // filters or budget changed meanwhile: a new poll follows
  const finished = noticeTransitions(data.jobs || []);
  if (changed || !state.listLoaded) {
    mergeFirstPage(data.jobs || [], data.nextCursor || null);
    state.listLoaded = true;
    renderList();
  }
  return finished;
}

async function refreshDetails() {
  const ids = new Set();
  if (state.selectedJobId) ids.add(state.selectedJobId);
  if (state.applyJobId) ids.add(state.applyJobId);
  for (const id of review.watchedJobs()) ids.add(id);
  let finished = false;
  for (const id of ids) {
    const known = state.details.get(id);
    // Finished jobs do not change: once fetched in a final state, leave them be.
    if (known && TERMINAL.has(known.fetchedStatus)) continue;
    try {
      const { data, changed } = await api.job(id);
      finished = noticeTransitions([data.job]) || finished;
      if (changed || !known || !known.fetchedStatus) {
        state.details.set(id, { job: data.job, steps: data.steps || [], events: data.events || [], fetchedStatus: data.job.status });
        upsertJob(data.job);
        if (id === state.selectedJobId) renderDetail();
        if (id === state.applyJobId || review.watchedJobs().includes(id)) renderSuggestions();
        renderList();
      }
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        if (id === state.selectedJobId) state.selectedJobId = null;
        if (id === state.applyJobId) state.applyJobId = null;
        state.details.delete(id);
        renderDetail();
      } else {
        throw err;
      }
    }
  }
  return finished;
}

const fingerprint = (rows) => JSON.stringify(rows.map((s) => [s.id, s.status, s.proposedCategoryId, s.confidence]));

/** What changed between two looks at the review list that this page did not do itself. */
function changesElsewhere(before, after) {
  const now = new Map(after.map((s) => [s.id, s]));
  const counts = new Map(); // payee title -> {approved, pending, gone}
  for (const s of before) {
    const next = now.get(s.id);
    const what = !next ? "gone" : next.status !== s.status ? next.status : null;
    if (!what) continue;
    const title = (groupByPayee([s])[0] || {}).title || s.payeeName || "";
    if (!counts.has(title)) counts.set(title, { approved: 0, pending: 0, gone: 0 });
    counts.get(title)[what] = (counts.get(title)[what] || 0) + 1;
  }
  if (!counts.size) return null;
  const parts = [...counts.entries()].slice(0, 5).map(([title, c]) => {
    const bits = [
      c.approved ? `${c.approved} approved` : null,
      c.pending ? `${c.pending} back to review` : null,
      c.gone ? `${c.gone} no longer to review (rejected, applied or replaced)` : null,
    ].filter(Boolean);
    return `${title}: ${bits.join(", ")}`;
  });
  const more = counts.size > 5 ? `; and ${plural(counts.size - 5, "more payee")}` : "";
  return `Changed since this page last looked, in another tab or by a job: ${parts.join("; ")}${more}.`;
}

const OPS_MS = 5000; // health and schedule: often enough for the banner, cheap for the server

async function refreshOps(force = false) {
  if (!force && Date.now() - state.opsPolledAt < OPS_MS) return;
  state.opsPolledAt = Date.now();
  const budgetId = state.budgetId;
  const [health, schedule] = await Promise.all([api.health(), api.schedule(budgetId)]);
  state.health = health.data;
  if (budgetId === state.budgetId) state.schedule = schedule.data;
  renderOps();
}

async function refreshSuggestions(afterJob) {
  if (!state.budgetId) return;
  const budgetId = state.budgetId;
  const generation = reviewGeneration;
  const [pending, approved] = await Promise.all([
    api.suggestions({ budgetId, status: "pending" }),
    api.suggestions({ budgetId, status: "approved" }),
  ]);
  suggestionsAt = Date.now();
  if (budgetId !== state.budgetId) return;
  await review.refresh(); // undone applies, transactions without a suggestion
  renderCallout();
  renderDetail(); // an apply's Undo button or "undone" note
  if (generation !== reviewGeneration) {
    suggestionsDirty = true; // a review here answered meanwhile; look again next tick
    return;
  }
  const next = [...(pending.data.suggestions || []), ...(approved.data.suggestions || [])];
  if (state.suggestionsLoaded && fingerprint(next) === fingerprint(state.suggestions)) return;
  if (state.suggestionsLoaded && !afterJob) {
    const notice = changesElsewhere(state.suggestions, next);
    if (notice) {
      state.suggestionsNotice = notice;
      announce(notice);
    }
  }
  const hadFocus = $("suggestions-body").contains(document.activeElement);
  state.suggestions = next;
  state.suggestionsLoaded = true;
  await learnOrigins();
  renderSuggestions();
  if (hadFocus) moveFocusIfLost();
}

/** Look up the jobs that made the pending suggestions (a few per refresh), to say where they came from. */
async function learnOrigins() {
  const ids = [...new Set(state.suggestions.filter((s) => s.status === "pending").map((s) => s.jobId).filter(Boolean))];
  for (const id of ids.filter((i) => !state.jobInfo.has(i)).slice(0, 3)) {
    try {
      const { data } = await api.job(id);
      rememberJob(data.job);
    } catch (err) {
      if (isNetworkError(err)) throw err;
      state.jobInfo.set(id, null); // purged: do not ask again
    }
  }
}

async function refreshSnapshots() {
  if (!state.budgetId) return;
  const budgetId = state.budgetId;
  try {
    const { data } = await api.snapshots(budgetId);
    if (budgetId !== state.budgetId) return;
    state.snapshots = data.snapshots || [];
    state.errors.delete("snapshots");
  } catch (err) {
    if (isNetworkError(err)) throw err;
    state.errors.set("snapshots", { text: explain(err, "Could not list the snapshots"), transient: isTransient(err) });
  }
  state.snapshotsLoaded = true;
  snapshotsDirty = false;
  renderSnapshots();
}

async function refreshBudgets() {
  const { data } = await api.budgets();
  budgetsAt = Date.now();
  budgetsDirty = false;
  const next = data.budgets || [];
  if (JSON.stringify(next) === JSON.stringify(state.budgets)) return;
  const known = new Set(state.budgets.map((b) => b.id));
  const added = next.filter((b) => !known.has(b.id));
  state.budgets = next;
  fillBudgetPicker();
  renderBudgetStatus();
  renderSnapshots();
  if (known.size && added.length) announce(`New ${added.length === 1 ? "budget" : "budgets"}: ${added.map((b) => b.name).join(", ")}`);
}

// ---------------------------------------------------------------- polling

let timer = null;
let ticking = false;
let tickAgain = false;
let holdPolls = false; // while a budget is removed: a poll could ask about it after it is gone (a 404)

/** Stop polling and wait for a poll in flight to end; `resumePolls` starts again. */
async function pausePolls() {
  holdPolls = true;
  while (ticking) await new Promise((resolve) => setTimeout(resolve, 25));
}

function resumePolls() {
  holdPolls = false;
  pollSoon();
}
let failures = 0;
let suggestionsDirty = true;
let snapshotsDirty = true;
let budgetsDirty = false;
let suggestionsAt = 0;
let budgetsAt = Date.now();
let listGeneration = 0; // bumped when the list's query changes, so late answers to old queries are dropped

function schedule(ms) {
  clearTimeout(timer);
  timer = null;
  if (document.hidden) return; // resumes on visibilitychange
  timer = setTimeout(tick, ms);
}

function pollSoon() {
  schedule(0);
}

async function tick() {
  clearTimeout(timer);
  timer = null;
  if (ticking) {
    tickAgain = true;
    return;
  }
  if (document.hidden || holdPolls) return;
  if (!state.budgetId) {
    await lookForBudgets();
    return;
  }
  ticking = true;
  const catchingUp = !state.online;
  if (catchingUp) {
    // Back from offline: fetch everything again before the buttons come back.
    suggestionsDirty = true;
    snapshotsDirty = true;
    budgetsDirty = true;
  }
  try {
    if (budgetsDirty || Date.now() - budgetsAt > BUDGETS_MS) await refreshBudgets();
    const listFinished = await refreshList();
    const detailFinished = await refreshDetails();
    const finished = listFinished || detailFinished;
    await refreshOps(finished);
    if (finished || suggestionsDirty || Date.now() - suggestionsAt > SUGGESTIONS_MS) {
      // While a job of this budget runs it may change suggestions itself: that is no news from elsewhere.
      const afterJob = finished || suggestionsDirty || state.jobs.some((j) => ACTIVE.has(j.status));
      suggestionsDirty = false;
      await refreshSuggestions(afterJob);
    }
    if (finished || snapshotsDirty) await refreshSnapshots();
    refreshTimes();
    failures = 0;
    if (state.errors.delete("refresh")) renderLive();
    if (catchingUp) goOnline();
  } catch (err) {
    failures += 1;
    if (isNetworkError(err)) {
      goOffline();
    } else {
      state.errors.set("refresh", { text: explain(err, "Could not refresh the page"), transient: true });
      renderLive();
    }
  } finally {
    ticking = false;
  }
  if (tickAgain) {
    tickAgain = false;
    schedule(0);
    return;
  }
  const base = anyActive() ? FAST_MS : IDLE_MS;
  const backoff = state.online ? Math.min(IDLE_MS, FAST_MS * 2 ** failures) : Math.min(OFFLINE_MAX_MS, FAST_MS * 2 ** (failures - 1));
  schedule(failures ? backoff : base);
}

/** No budget yet (none configured): check the list now and then, and show the first one that appears. */
async function lookForBudgets() {
  try {
    await refreshBudgets();
    if (!state.online) goOnline();
  } catch (err) {
    if (isNetworkError(err)) goOffline();
  }
  if (state.budgets.length && !state.budgetId) {
    selectBudget(state.budgets[0].id);
    return;
  }
  schedule(state.online ? IDLE_MS : OFFLINE_MAX_MS);
}

document.addEventListener("visibilitychange", () => {
  if (document.hidden) {
    clearTimeout(timer);
    timer = null;
  } else {
    pollSoon();
  }
});
window.addEventListener("offline", () => goOffline());
window.addEventListener("online", () => pollSoon());

// ---------------------------------------------------------------- setup

function selectBudget(id) {
  state.budgetId = id;
  state.confirmRemove = null;
  state.budgetNotice = null;
  state.errors.delete(REMOVE_KEY);
  listGeneration += 1;
  try {
    localStorage.setItem(BUDGET_KEY, id);
  } catch {
    // storage may be unavailable; the choice just is not remembered
  }
  state.jobs = [];
  state.nextCursor = null;
  state.loadedMore = false;
  state.listLoaded = false;
  state.details.clear();
  state.selectedJobId = null;
  state.applyJobId = null;
  state.suggestions = [];
  state.suggestionsLoaded = false;
  state.suggestionsNotice = null;
  review.setBudget(id);
  state.snapshots = [];
  state.snapshotsLoaded = false;
  state.schedule = null;
  state.opsPolledAt = 0;
  suggestionsDirty = true;
  snapshotsDirty = true;
  writeHash();
  renderAll();
  pollSoon();
}

/** The last budget was removed: the page waits for one to appear, as when none was configured. */
function forgetBudget() {
  state.budgetId = null;
  state.confirmRemove = null;
  state.jobs = [];
  state.details.clear();
  state.selectedJobId = null;
  state.suggestions = [];
  state.snapshots = [];
  review.setBudget(null);
  writeHash();
  renderAll();
  pollSoon();
}

function resetList() {
  listGeneration += 1;
  state.jobs = [];
  state.nextCursor = null;
  state.loadedMore = false;
  state.listLoaded = false;
  renderList();
  pollSoon();
}

async function loadMore() {
  if (!state.nextCursor || !state.online) return;
  const button = $("load-more");
  if (state.busy.has("load-more")) return;
  state.busy.add("load-more");
  button.setAttribute("aria-disabled", "true");
  button.textContent = "Loading…";
  try {
    const { data } = await api.jobsPage(listParams({ cursor: state.nextCursor }));
    const known = new Set(state.jobs.map((j) => j.id));
    const fresh = (data.jobs || []).filter((j) => !known.has(j.id));
    for (const job of fresh) state.seenStatus.set(job.id, job.status);
    state.jobs.push(...fresh);
    state.nextCursor = data.nextCursor || null;
    state.loadedMore = true;
    succeeded("load-more");
    renderList();
    if (fresh.length) {
      const row = $("job-list").querySelector(`[data-job-id="${CSS.escape(fresh[0].id)}"]`);
      if (row && !state.nextCursor) row.focus();
    }
  } catch (err) {
    fail("load-more", "Could not load more jobs", err);
  } finally {
    state.busy.delete("load-more");
    button.textContent = "Load more";
    renderList();
  }
}

function fillBudgetPicker() {
  const picker = $("budget");
  const listed = state.budgets.some((b) => b.id === state.budgetId);
  const options = state.budgets.map((b) => h("option", { value: b.id, selected: b.id === state.budgetId || null }, budgetOptionText(b)));
  if (state.budgetId && !listed) options.push(h("option", { value: state.budgetId, selected: true }, `${state.budgetId} (no longer listed)`));
  picker.replaceChildren(...options);
  picker.disabled = !options.length;
}

function fillTypeFilter() {
  const select = $("filter-type");
  select.replaceChildren(
    h("option", { value: "" }, "All types"),
    ...state.jobTypes.map((t) => h("option", { value: t.type }, t.label)),
  );
}

async function loadBasics() {
  const [budgets, jobTypes] = await Promise.all([api.budgets(), api.jobTypes()]);
  state.budgets = budgets.data.budgets || [];
  state.jobTypes = jobTypes.data.jobTypes || [];
  budgetsAt = Date.now();
}

/** A link or the address bar changed the hash: show the budget and job it names. */
async function followHash() {
  const hash = new URLSearchParams(location.hash.slice(1));
  const budgetId = hash.get("budget");
  if (budgetId && budgetId !== state.budgetId) {
    if (!state.budgets.some((b) => b.id === budgetId)) {
      try {
        await refreshBudgets(); // a budget made since the list was fetched
      } catch (err) {
        if (isNetworkError(err)) goOffline();
      }
    }
    if (!state.budgets.some((b) => b.id === budgetId)) return;
    state.budgetId = budgetId;
    fillBudgetPicker();
    selectBudget(budgetId);
  }
  const jobId = hash.get("job");
  if (jobId && jobId !== state.selectedJobId) actions.selectJob(jobId);
}

async function init() {
  window.addEventListener("hashchange", followHash);
  $("budget").addEventListener("change", (e) => selectBudget(e.target.value));
  $("filter-type").addEventListener("change", (e) => {
    state.filters.type = e.target.value;
    resetList();
  });
  $("filter-status").addEventListener("change", (e) => {
    state.filters.status = e.target.value;
    resetList();
  });
  $("load-more").addEventListener("click", loadMore);
  $("refresh-suggestions").addEventListener("click", () => {
    if (!state.online) return;
    suggestionsDirty = true;
    snapshotsDirty = true;
    pollSoon();
  });
  renderAll();

  for (let attempt = 0; ; attempt += 1) {
    try {
      await loadBasics();
      break;
    } catch (err) {
      if (isNetworkError(err)) goOffline();
      else {
        state.errors.set("refresh", { text: explain(err, "Could not load the budgets"), transient: true });
        renderLive();
      }
      await new Promise((r) => setTimeout(r, Math.min(OFFLINE_MAX_MS, 1000 * 2 ** attempt)));
    }
  }
  state.errors.delete("refresh");
  const wasOffline = !state.online;

  const hash = new URLSearchParams(location.hash.slice(1));
  const ids = new Set(state.budgets.map((b) => b.id));
  let stored = null;
  try {
    stored = localStorage.getItem(BUDGET_KEY);
  } catch {
    stored = null;
  }
  const budgetId = [hash.get("budget"), stored, state.budgets[0] && state.budgets[0].id].find((id) => id && ids.has(id));
  fillTypeFilter();
  if (!budgetId) {
    if (wasOffline) goOnline();
    fillBudgetPicker();
    renderAll();
    renderInto($("start-buttons"), h("p", { class: "muted" }, "No budgets configured yet."));
    schedule(IDLE_MS); // one may be added: the list is checked again
    return;
  }
  state.budgetId = budgetId;
  fillBudgetPicker();
  selectBudget(budgetId);
  if (hash.get("job") && hash.get("budget") === budgetId) actions.selectJob(hash.get("job"));
}

init();
