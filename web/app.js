// Job Center: state, actions and the polling loop. Views live in jobs.js and suggestions.js.

import { api, ApiError } from "./api.js";
import { h, renderInto, refreshTimes } from "./dom.js";
import { ACTIVE, TERMINAL, statusText } from "./format.js";
import { jobListItems, jobDetailView, jobLabel } from "./jobs.js";
import { suggestionsView } from "./suggestions.js";

const FAST_MS = 1000; // while something is queued or running
const IDLE_MS = 10000; // otherwise
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
  busy: new Set(),
  seenStatus: new Map(), // job id -> last status seen, to notice transitions
  connectionOk: true,
};

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- messages

let announceTimer = null;
function announce(text) {
  const el = $("announcer");
  el.textContent = "";
  clearTimeout(announceTimer);
  announceTimer = setTimeout(() => (el.textContent = text), 50);
}

function showError(err, context) {
  const el = $("error");
  const message = err instanceof ApiError ? err.message : err && err.message ? err.message : String(err);
  renderInto(
    el,
    h("span", null, context ? `${context}: ` : "", message),
    h("button", { type: "button", class: "btn btn-small", "data-key": "dismiss-error", onclick: clearError }, "Dismiss"),
  );
  el.hidden = false;
}

function clearError() {
  const el = $("error");
  el.hidden = true;
  el.replaceChildren();
}

function setConnection(ok) {
  state.connectionOk = ok;
  renderLive();
}

// ---------------------------------------------------------------- rendering

function renderLive() {
  const el = $("live");
  const active = anyActive();
  el.dataset.state = !state.connectionOk ? "error" : active ? "fast" : "idle";
  el.textContent = !state.connectionOk
    ? "Connection lost, retrying…"
    : active
      ? "Live · updating every second"
      : "Live · checking every 10 s";
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
  const t = state.jobTypes.find((jt) => jt.userStartable && jt.kind && (jt.inputs || []).some((i) => i.name === name));
  return t ? t.kind : null;
}

function renderStart() {
  const types = state.jobTypes.filter(startableHere);
  const nodes = types.map((t) => {
    const key = `start-${t.kind}`;
    const busy = state.busy.has(key);
    const options = optionInputs(t);
    const chosen = () => Object.fromEntries(options.map((i) => [i.name, $(optionId(t, i))?.checked || undefined]));
    const button = h(
      "button",
      {
        type: "button",
        class: "btn" + (t.primary ? " btn-primary" : ""),
        "data-key": key,
        "data-testid": key,
        "aria-disabled": busy || !state.budgetId ? "true" : null,
        onclick: () => startJob(t.kind, chosen()),
      },
      busy ? `Starting ${t.label}…` : t.label,
    );
    if (!options.length) return button;
    return h(
      "span",
      { class: "start-group" },
      button,
      options.map((i) =>
        h(
          "label",
          { class: "check" },
          h("input", {
            type: "checkbox",
            id: optionId(t, i),
            "data-key": `${t.kind}-${kebab(i.name)}`,
            "data-testid": kebab(i.name),
            checked: $(optionId(t, i))?.checked || null,
          }),
          ` ${i.label || i.name}`,
        ),
      ),
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
  renderLive();
}

function renderDetail() {
  renderInto($("job-detail"), jobDetailView(state, actions));
}

function renderSuggestions() {
  renderInto($("suggestions-body"), suggestionsView(state, actions));
}

function renderAll() {
  renderStart();
  renderList();
  renderDetail();
  renderSuggestions();
}

// ---------------------------------------------------------------- state helpers

function anyActive() {
  if (state.jobs.some((j) => ACTIVE.has(j.status))) return true;
  for (const d of state.details.values()) if (d.job && ACTIVE.has(d.job.status)) return true;
  return false;
}

function matchesFilters(job) {
  return (!state.filters.type || state.filters.type === job.type) && (!state.filters.status || state.filters.status === job.status);
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

async function withBusy(key, render, fn) {
  if (state.busy.has(key)) return undefined;
  state.busy.add(key);
  render();
  try {
    return await fn();
  } finally {
    state.busy.delete(key);
    render();
  }
}

// ---------------------------------------------------------------- actions

function onStarted(data) {
  const { job, steps } = data;
  state.seenStatus.set(job.id, job.status);
  upsertJob(job);
  state.details.set(job.id, { job, steps: steps || [], events: (state.details.get(job.id) || {}).events || [] });
  state.selectedJobId = job.id;
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
  await withBusy(`start-${kind}`, renderStart, async () => {
    try {
      clearError();
      const { data } = await api.startJob(kind, body);
      onStarted(data);
    } catch (err) {
      showError(err, "Could not start the job");
    }
  });
}

const actions = {
  selectJob(id, scroll = false) {
    state.selectedJobId = id;
    writeHash();
    renderList();
    renderDetail();
    if (scroll) $("job-detail").scrollIntoView({ block: "start" });
    pollSoon();
  },

  async cancelJob(job) {
    if (job.cancelRequested) return;
    await withBusy(`cancel-${job.id}`, renderDetail, async () => {
      try {
        clearError();
        const { data } = await api.cancelJob(job.id);
        upsertJob(data.job);
        const d = state.details.get(job.id) || { events: [] };
        state.details.set(job.id, { ...d, job: data.job, steps: data.steps || d.steps });
        announce(data.job.status === "canceled" ? `${data.job.label} canceled` : `Cancel requested for ${data.job.label}`);
        renderList();
      } catch (err) {
        showError(err, err.status === 409 ? "This job has already finished" : "Could not cancel the job");
      }
    });
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
    await withBusy(`again-${job.id}`, renderDetail, async () => {
      try {
        clearError();
        const { data } = await api.startJob(kind, body);
        onStarted(data);
      } catch (err) {
        showError(err, "Could not start the job again");
      }
    });
  },

  async review(items, verb, group) {
    const ids = items.map((s) => s.id);
    const payee = group ? group.payee : null;
    const hadFocus = $("suggestions-body").contains(document.activeElement);
    const key = payee ? `g-${payee}` : `s-${ids[0]}`;
    await withBusy(key, renderSuggestions, async () => {
      try {
        clearError();
        let updated;
        if (ids.length === 1) {
          const { data } = await (verb === "approve" ? api.approve(ids[0]) : api.reject(ids[0]));
          updated = [data.suggestion];
        } else {
          const { data } = await (verb === "approve" ? api.approveMany(ids) : api.rejectMany(ids));
          updated = data.suggestions || [];
        }
        const byId = new Map(updated.map((s) => [s.id, s]));
        state.suggestions = state.suggestions
          .map((s) => byId.get(s.id) || s)
          .filter((s) => s.status === "pending" || s.status === "approved");
        const who = group ? group.title : (items[0] && items[0].payeeName) || "";
        announce(`${verb === "approve" ? "Approved" : "Rejected"} ${ids.length} for ${who}`);
      } catch (err) {
        showError(err, `Could not ${verb}`);
      }
    });
    if (hadFocus) moveFocusIfLost();
  },

  async retryGroup(group) {
    const first = group.items[0];
    const kind = kindTaking("suggestionId");
    if (!first || !kind) return;
    await withBusy(`retry-${group.payee}`, renderSuggestions, async () => {
      try {
        clearError();
        const { data } = await api.startJob(kind, { budgetId: state.budgetId, suggestionId: first.id });
        onStarted(data);
      } catch (err) {
        showError(err, `Could not retry ${group.title}`);
      }
    });
  },

  async applyApproved(ids) {
    const kind = kindTaking("suggestionIds");
    if (!kind) return;
    await withBusy("apply", renderSuggestions, async () => {
      try {
        clearError();
        const { data } = await api.startJob(kind, { budgetId: state.budgetId, suggestionIds: ids });
        state.applyJobId = data.job.id;
        onStarted(data);
      } catch (err) {
        showError(err, "Could not apply the approved suggestions");
      }
    });
  },

  dismissApply() {
    state.applyJobId = null;
    renderSuggestions();
    $("suggestions-h").focus();
  },
};

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
        if (id === state.applyJobId) renderSuggestions();
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

async function refreshSuggestions() {
  if (!state.budgetId) return;
  const budgetId = state.budgetId;
  const [pending, approved] = await Promise.all([
    api.suggestions({ budgetId, status: "pending" }),
    api.suggestions({ budgetId, status: "approved" }),
  ]);
  if (budgetId !== state.budgetId) return;
  if (pending.changed || approved.changed || !state.suggestionsLoaded) {
    const hadFocus = $("suggestions-body").contains(document.activeElement);
    state.suggestions = [...(pending.data.suggestions || []), ...(approved.data.suggestions || [])];
    state.suggestionsLoaded = true;
    renderSuggestions();
    if (hadFocus) moveFocusIfLost();
  }
}

// ---------------------------------------------------------------- polling

let timer = null;
let ticking = false;
let tickAgain = false;
let failures = 0;
let suggestionsDirty = true;
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
  if (document.hidden || !state.budgetId) return;
  ticking = true;
  try {
    const listFinished = await refreshList();
    const detailFinished = await refreshDetails();
    if (listFinished || detailFinished || suggestionsDirty) {
      suggestionsDirty = false;
      await refreshSuggestions();
    }
    refreshTimes();
    failures = 0;
    setConnection(true);
  } catch (err) {
    failures += 1;
    setConnection(false);
    if (!(err instanceof TypeError)) showError(err, "Could not refresh");
  } finally {
    ticking = false;
  }
  if (tickAgain) {
    tickAgain = false;
    schedule(0);
    return;
  }
  const base = anyActive() ? FAST_MS : IDLE_MS;
  schedule(failures ? Math.min(IDLE_MS, FAST_MS * 2 ** failures) : base);
}

document.addEventListener("visibilitychange", () => {
  if (document.hidden) {
    clearTimeout(timer);
    timer = null;
  } else {
    pollSoon();
  }
});

// ---------------------------------------------------------------- setup

function selectBudget(id) {
  state.budgetId = id;
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
  suggestionsDirty = true;
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
  if (!state.nextCursor) return;
  const button = $("load-more");
  if (button.getAttribute("aria-disabled") === "true") return;
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
    renderList();
    if (fresh.length) {
      const row = $("job-list").querySelector(`[data-job-id="${CSS.escape(fresh[0].id)}"]`);
      if (row && !state.nextCursor) row.focus();
    }
  } catch (err) {
    showError(err, "Could not load more jobs");
  } finally {
    button.removeAttribute("aria-disabled");
    button.textContent = "Load more";
  }
}

function fillBudgetPicker() {
  const picker = $("budget");
  picker.replaceChildren(
    ...state.budgets.map((b) =>
      h("option", { value: b.id, selected: b.id === state.budgetId || null }, b.connector ? `${b.name} (${b.connector})` : b.name),
    ),
  );
  picker.disabled = !state.budgets.length;
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
}

async function init() {
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
    suggestionsDirty = true;
    pollSoon();
  });
  renderAll();

  for (let attempt = 0; ; attempt += 1) {
    try {
      await loadBasics();
      setConnection(true);
      break;
    } catch (err) {
      setConnection(false);
      if (!(err instanceof TypeError)) showError(err, "Could not load budgets");
      await new Promise((r) => setTimeout(r, Math.min(10000, 1000 * 2 ** attempt)));
    }
  }
  clearError();

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
    fillBudgetPicker();
    renderAll();
    renderInto($("start-buttons"), h("p", { class: "muted" }, "No budgets configured yet."));
    return;
  }
  state.budgetId = budgetId;
  fillBudgetPicker();
  selectBudget(budgetId);
  if (hash.get("job") && hash.get("budget") === budgetId) actions.selectJob(hash.get("job"));
}

init();
