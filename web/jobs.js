// Views for the job list and the job detail panel. They read state and call actions; no fetching.

import { h, badge, timeEl, durationEl, errorNote, describedBy, blocked } from "./dom.js";
import {
  ACTIVE, TERMINAL, statusText, humanize, formatCount, plural, clockTime, retryText, triggerText, waitsForRetry,
} from "./format.js";

export function jobLabel(job, jobTypes) {
  if (job.label) return job.label;
  const jt = jobTypes.find((t) => t.type === job.type);
  return jt ? jt.label : humanize(job.type);
}

/** What a job's row says about its time: how long it ran, runs, or when it tries again. */
function timing(job) {
  if (job.status === "running") return h("span", { "data-testid": "job-row-timing" }, "Running for ", durationEl(job));
  if (waitsForRetry(job)) return h("span", { "data-testid": "job-row-timing" }, retryText(job));
  if (job.status === "queued") return h("span", { "data-testid": "job-row-timing" }, "Not started yet");
  if (job.startedAt) return h("span", { "data-testid": "job-row-timing" }, "Took ", durationEl(job));
  return h("span", { "data-testid": "job-row-timing" }, "Never started");
}

/** The job type whose request takes input `name` (the apply job takes the approved suggestions). */
export function typeTaking(jobTypes, name) {
  return jobTypes.find((t) => t.userStartable && (t.inputs || []).some((i) => i.name === name)) || null;
}

/**
 * An apply job syncs the budget after writing to it, and that sync may bring new transactions.
 * They get no suggestions from the apply; say so, and which job makes them.
 */
export function applySyncNote(job, steps, jobTypes) {
  const applyType = typeTaking(jobTypes, "suggestionIds");
  if (!applyType || job.type !== applyType.type) return null;
  const later = steps.filter((s) => (s.position ?? 0) > 0 && s.result && Number(s.result.new) > 0);
  if (!later.length) return null;
  const fresh = later.reduce((n, s) => n + Number(s.result.new), 0);
  const primary = jobTypes.find((t) => t.primary);
  return h(
    "p",
    { class: "note", "data-testid": "apply-sync-note" },
    `The sync after applying brought ${plural(fresh, "new transaction")} from the budget. This job does not suggest categories for them`,
    primary ? `; “${primary.label}” does.` : ".",
  );
}

/** Items for the <ol> job list. */
export function jobListItems(state, actions) {
  return state.jobs.map((job) => {
    const selected = job.id === state.selectedJobId;
    return h(
      "li",
      { class: "job-item" },
      h(
        "button",
        {
          type: "button",
          class: "job-row" + (selected ? " is-selected" : ""),
          "aria-current": selected ? "true" : null,
          "data-key": `job-${job.id}`,
          "data-testid": "job-row",
          "data-job-id": job.id,
          "data-job-type": job.type,
          "data-status": job.status,
          onclick: () => actions.selectJob(job.id),
        },
        h(
          "span",
          { class: "job-row-top" },
          h("span", { class: "job-row-label", "data-testid": "job-row-label" }, jobLabel(job, state.jobTypes)),
          badge(job.status, { "data-testid": "job-row-status" }),
        ),
        h(
          "span",
          { class: "job-row-meta" },
          h("span", null, "Created ", timeEl(job.createdAt)),
          timing(job),
          h("span", { "data-testid": "job-row-trigger" }, triggerText(job.trigger, job.metadata?.intervalMinutes)),
        ),
      ),
    );
  });
}

function metaRow(term, ...value) {
  return [h("dt", null, term), h("dd", null, ...value)];
}

function progressBar(step) {
  const total = step.progressTotal;
  const done = step.progressDone ?? 0;
  const known = total != null && total > 0;
  const pct = known ? Math.min(100, Math.round((done / total) * 100)) : null;
  return h(
    "div",
    { class: "progress" },
    h(
      "div",
      {
        class: "progress-track" + (known ? "" : " is-indeterminate"),
        role: "progressbar",
        "aria-label": `${step.label} progress`,
        "aria-valuemin": "0",
        "aria-valuemax": known ? String(total) : null,
        "aria-valuenow": known ? String(done) : null,
        "data-testid": "step-progress",
      },
      h("div", { class: "progress-fill", style: known ? { width: `${pct}%` } : null }),
    ),
    h("span", { class: "progress-text" }, known ? `${formatCount(done)} / ${formatCount(total)}` : "Working…"),
  );
}

/** Why a step has not started: the step before it runs, or the job waits for a worker or its retry. */
function stepWaits(job, isNext) {
  if (!isNext || job.status === "running") return "Waits for the step before it";
  if (waitsForRetry(job)) return `Waits for the retry at ${clockTime(job.nextAttemptAt)}`;
  return "Waits for a worker";
}

/** Tables a step declares in its result ({caption, columns, rows}, values already formatted), e.g. the backtest's. */
function resultTables(result) {
  const tables = result && Array.isArray(result.tables) ? result.tables : [];
  return tables.map((t) =>
    h(
      "table",
      { class: "step-table", "data-testid": "step-table" },
      t.caption ? h("caption", null, t.caption) : null,
      h("thead", null, h("tr", null, (t.columns || []).map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", null, (t.rows || []).map((row) => h("tr", null, row.map((v, i) => h(i ? "td" : "th", i ? null : { scope: "row" }, v))))),
    ),
  );
}

function stepItem(step, job, isNext) {
  return h(
    "li",
    { class: `step step-${step.status}`, "data-testid": "step", "data-step-type": step.stepType, "data-status": step.status },
    h(
      "div",
      { class: "step-head" },
      h("span", { class: "step-pos", "aria-hidden": "true" }, String((step.position ?? 0) + 1)),
      h("span", { class: "step-name", "data-testid": "step-name" }, step.label),
      badge(step.status, { "data-testid": "step-status" }),
    ),
    step.status === "running" ? progressBar(step) : null,
    step.summary ? h("ul", { class: "step-result", "data-testid": "step-result" }, h("li", null, step.summary)) : null,
    resultTables(step.result),
    step.failureReason ? h("p", { class: "step-failure", "data-testid": "step-failure" }, step.failureReason) : null,
    step.startedAt
      ? h(
          "p",
          { class: "step-times muted" },
          "Started ",
          timeEl(step.startedAt),
          step.status === "running" ? " · running for " : " · took ",
          durationEl(step),
        )
      : step.status === "pending" || step.status === "queued"
        ? h("p", { class: "step-times muted", "data-testid": "step-waits" }, stepWaits(job, isNext))
        : null,
  );
}

function failureBox(job, steps) {
  if (job.status !== "failed" && !job.failureReason) return null;
  const failedStep = steps.find((s) => s.status === "failed");
  const reason = job.failureReason || (failedStep && failedStep.failureReason) || "The job failed without a reason.";
  const where = failedStep ? `The step “${failedStep.label}” failed: ` : job.status === "failed" ? "The job failed: " : "";
  return h(
    "div",
    { class: "failure", "data-testid": "failure-reason" },
    h("strong", null, job.status === "failed" ? "Why it failed" : "Note"),
    h("p", null, where, h("span", { "data-testid": "failure-text" }, reason)),
  );
}

function eventItem(event, steps) {
  const step = event.stepId ? steps.find((s) => s.id === event.stepId) : null;
  return h(
    "li",
    { class: "event", "data-testid": "event", "data-status": event.status },
    h("span", { class: "event-time" }, timeEl(event.createdAt)),
    h(
      "span",
      { class: "event-body" },
      badge(event.status, { class: `badge badge-small badge-${event.status}` }),
      step && !String(event.message || "").includes(step.label)
        ? h("span", { class: "event-step" }, step.label)
        : null,
      h("span", { class: "event-message" }, event.message || statusText(event.status)),
    ),
  );
}

/** The detail panel content for the selected job (or a hint when none is selected). */
export function jobDetailView(state, actions) {
  const id = state.selectedJobId;
  if (!id) {
    return [
      h("h2", { id: "detail-h" }, "Job detail"),
      h("p", { class: "muted empty" }, "Choose a job in the list, or start one, to see its steps and events here."),
    ];
  }
  const detail = state.details.get(id);
  const listed = state.jobs.find((j) => j.id === id);
  const job = (detail && detail.job) || listed;
  if (!job) {
    return [h("h2", { id: "detail-h" }, "Job detail"), h("p", { class: "muted empty" }, "Loading…")];
  }
  const steps = ((detail && detail.steps) || []).slice().sort((a, b) => (a.position ?? 0) - (b.position ?? 0));
  const events = ((detail && detail.events) || [])
    .slice()
    .sort((a, b) => String(a.createdAt).localeCompare(String(b.createdAt)));
  const busy = (key) => state.busy.has(key);
  const nextStep = steps.find((s) => s.status === "pending" || s.status === "queued");

  const actionsRow = [];
  const errors = [];
  if (ACTIVE.has(job.status)) {
    const key = `cancel-${job.id}`;
    actionsRow.push(
      h(
        "button",
        {
          type: "button",
          class: "btn btn-danger",
          "data-key": key,
          "data-testid": "cancel-job",
          "aria-disabled": blocked(state, key, job.cancelRequested),
          "aria-describedby": describedBy(state, key),
          onclick: () => actions.cancelJob(job),
        },
        job.cancelRequested ? "Cancel requested…" : busy(key) ? "Canceling…" : "Cancel job",
      ),
    );
    errors.push(errorNote(state, key));
  }
  if (TERMINAL.has(job.status) && job.status !== "succeeded" && actions.canRunAgain(job)) {
    const key = `again-${job.id}`;
    actionsRow.push(
      h(
        "button",
        {
          type: "button",
          class: "btn btn-primary",
          "data-key": key,
          "data-testid": "run-again",
          "aria-disabled": blocked(state, key),
          "aria-describedby": describedBy(state, key),
          onclick: () => actions.runAgain(job),
        },
        busy(key) ? "Starting…" : "Run again",
      ),
    );
    errors.push(errorNote(state, key));
  }

  const meta = job.metadata || {};
  const extras = [];
  const jt = state.jobTypes.find((t) => t.type === job.type);
  for (const i of (jt && jt.inputs) || []) if (i.type === "boolean" && meta[i.name] === true) extras.push(i.label || i.name);
  if (meta.payeeName) extras.push(`Payee ${meta.payeeName}`);
  if (Array.isArray(meta.suggestionIds)) extras.push(`${meta.suggestionIds.length} suggestions`);
  if (job.attempt > 1 && !waitsForRetry(job)) extras.push(`Attempt ${job.attempt} of ${job.maxAttempts ?? job.attempt}`);
  const running = job.status === "running";

  return [
    h(
      "div",
      { class: "detail-head" },
      h("h2", { id: "detail-h", "data-testid": "job-detail-label" }, jobLabel(job, state.jobTypes)),
      badge(job.status, { "data-testid": "job-detail-status" }),
    ),
    h(
      "dl",
      { class: "meta" },
      metaRow("Created", timeEl(job.createdAt)),
      metaRow(waitsForRetry(job) ? "Last attempt started" : "Started", timeEl(job.startedAt)),
      metaRow("Completed", timeEl(job.completedAt)),
      job.status === "queued" ? null : metaRow(running ? "Running for" : "Duration", durationEl(job)),
      metaRow("Trigger", triggerText(job.trigger, meta.intervalMinutes)),
      extras.length ? metaRow("Details", extras.join(" · ")) : null,
      waitsForRetry(job)
        ? metaRow("Next attempt", h("span", { "data-testid": "job-retry" }, retryText(job), " · ", timeEl(job.nextAttemptAt)))
        : null,
      job.parentJobId
        ? metaRow(
            "Started by",
            h("button", { type: "button", class: "linklike", "data-key": "parent", onclick: () => actions.selectJob(job.parentJobId) }, "parent job"),
          )
        : null,
      metaRow("Job id", h("code", { class: "job-id" }, job.id)),
    ),
    failureBox(job, steps),
    applySyncNote(job, steps, state.jobTypes),
    actionsRow.length ? h("div", { class: "actions" }, actionsRow) : null,
    actions.detailExtras ? actions.detailExtras(job) : null,
    errors,
    h("h3", null, "Steps"),
    steps.length
      ? h("ol", { class: "steps", "data-testid": "step-list" }, steps.map((step) => stepItem(step, job, step === nextStep)))
      : h("p", { class: "muted" }, detail ? "This job has no steps." : "Loading steps…"),
    h("h3", null, "Timeline"),
    events.length
      ? h("ol", { class: "events", "data-testid": "event-list" }, events.map((e) => eventItem(e, steps)))
      : h("p", { class: "muted" }, detail ? "No events yet." : "Loading events…"),
  ];
}
