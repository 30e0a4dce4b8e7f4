// View for the suggestion review: pending and approved suggestions grouped by payee.

import { h, badge, errorNote, describedBy, blocked } from "./dom.js";
import { ACTIVE, TERMINAL, formatMoney, formatDate, formatPercent, plural } from "./format.js";
import { applySyncNote } from "./jobs.js";

function titleCase(text) {
  return text.replace(/\b[a-z]/g, (c) => c.toUpperCase());
}

/**
 * Groups by the server's normalised payee key (`SQ *BLUE BOTTLE 0412` and `BLUE BOTTLE 8100` are one
 * payee), the same grouping the retry job uses; falls back to the raw name.
 */
export function groupByPayee(suggestions) {
  const groups = new Map();
  for (const s of suggestions) {
    const key = s.payeeKey || s.payeeName || "(no payee)";
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(s);
  }
  const list = [...groups.entries()].map(([payee, items]) => {
    const names = [...new Set(items.map((s) => s.payeeName).filter(Boolean))];
    return {
      payee,
      title: items[0].payeeKey ? titleCase(payee) : payee,
      names,
      items: items.sort((a, b) => String(b.date).localeCompare(String(a.date))),
    };
  });
  list.sort((a, b) => b.items.length - a.items.length || a.payee.localeCompare(b.payee));
  return list;
}

function confidenceEl(value) {
  const pct = Math.max(0, Math.min(100, Math.round(Number(value || 0) * 100)));
  const level = pct >= 80 ? "high" : pct >= 50 ? "medium" : "low";
  return h(
    "span",
    { class: `confidence confidence-${level}`, title: `Confidence ${pct}%`, "data-testid": "suggestion-confidence" },
    h("span", { class: "confidence-bar", "aria-hidden": "true" }, h("span", { style: { width: `${pct}%` } })),
    formatPercent(value),
  );
}

function suggestionRow(s, state, actions) {
  const key = `s-${s.id}`;
  const pending = s.status === "pending";
  return h(
    "li",
    { class: `suggestion suggestion-${s.status}`, "data-testid": "suggestion", "data-suggestion-id": s.id, "data-status": s.status },
    h("span", { class: "suggestion-date" }, formatDate(s.date)),
    h(
      "span",
      { class: "suggestion-who" },
      h("span", { class: "suggestion-payee", "data-testid": "suggestion-payee" }, s.payeeName || ""),
      h("span", { class: "suggestion-account muted" }, s.accountName || ""),
    ),
    h("span", { class: "amount" + (s.amount < 0 ? " amount-out" : " amount-in"), "data-testid": "suggestion-amount" }, formatMoney(s.amount)),
    h(
      "div",
      { class: "suggestion-proposal" },
      h("span", { class: "arrow", "aria-hidden": "true" }, "→ "),
      h("span", { class: "category", "data-testid": "suggestion-category" }, s.proposedCategoryName || "(no category)"),
      confidenceEl(s.confidence),
    ),
    s.rationale ? h("p", { class: "rationale muted", "data-testid": "suggestion-rationale" }, s.rationale) : null,
    h(
      "div",
      { class: "suggestion-actions" },
      pending
        ? [
            h(
              "button",
              {
                type: "button",
                class: "btn btn-small btn-approve",
                "data-key": `approve-${s.id}`,
                "data-testid": "suggestion-approve",
                "aria-disabled": blocked(state, key),
                "aria-describedby": describedBy(state, key),
                "aria-label": `Approve ${s.proposedCategoryName || "suggestion"} for ${s.payeeName} on ${formatDate(s.date)}`,
                onclick: () => actions.review([s], "approve"),
              },
              "Approve",
            ),
            h(
              "button",
              {
                type: "button",
                class: "btn btn-small btn-reject",
                "data-key": `reject-${s.id}`,
                "data-testid": "suggestion-reject",
                "aria-disabled": blocked(state, key),
                "aria-describedby": describedBy(state, key),
                "aria-label": `Reject ${s.proposedCategoryName || "suggestion"} for ${s.payeeName} on ${formatDate(s.date)}`,
                onclick: () => actions.review([s], "reject"),
              },
              "Reject",
            ),
          ]
        : badge(s.status, { "data-testid": "suggestion-status" }),
    ),
    errorNote(state, key, { class: "inline-error suggestion-error" }),
  );
}

function groupView(group, state, actions) {
  const pending = group.items.filter((s) => s.status === "pending");
  const approved = group.items.filter((s) => s.status === "approved");
  const total = group.items.reduce((sum, s) => sum + Number(s.amount || 0), 0);
  const categories = [...new Set(group.items.map((s) => s.proposedCategoryName).filter(Boolean))];
  const key = (what) => `group-${what}-${group.payee}`;
  const reviewKey = `g-${group.payee}`;
  const retryKey = `retry-${group.payee}`;
  const headingId = `g-${encodeURIComponent(group.payee).replace(/%/g, "_")}`;
  return h(
    "div",
    { class: "group", role: "group", "data-testid": "suggestion-group", "data-payee": group.payee, "aria-labelledby": headingId },
    h(
      "header",
      { class: "group-head" },
      h(
        "div",
        { class: "group-title" },
        h("h3", { id: headingId, "data-testid": "group-payee" }, group.title),
        h(
          "p",
          { class: "muted group-summary" },
          plural(group.items.length, "transaction"),
          " · ",
          h("span", { class: total < 0 ? "amount-out" : "amount-in" }, formatMoney(total)),
          categories.length ? ` · → ${categories.join(", ")}` : "",
          approved.length ? ` · ${approved.length} approved` : "",
        ),
      ),
      h(
        "div",
        { class: "group-actions" },
        h(
          "button",
          {
            type: "button",
            class: "btn btn-small btn-approve",
            "data-key": key("approve"),
            "data-testid": "group-approve",
            "aria-disabled": blocked(state, reviewKey, !pending.length),
            "aria-describedby": describedBy(state, reviewKey),
            "aria-label": `Approve all ${pending.length} pending for ${group.title}`,
            onclick: () => pending.length && actions.review(pending, "approve", group),
          },
          pending.length ? `Approve all (${pending.length})` : "Approve all",
        ),
        h(
          "button",
          {
            type: "button",
            class: "btn btn-small btn-reject",
            "data-key": key("reject"),
            "data-testid": "group-reject",
            "aria-disabled": blocked(state, reviewKey, !pending.length),
            "aria-describedby": describedBy(state, reviewKey),
            "aria-label": `Reject all ${pending.length} pending for ${group.title}`,
            onclick: () => pending.length && actions.review(pending, "reject", group),
          },
          "Reject all",
        ),
        h(
          "button",
          {
            type: "button",
            class: "btn btn-small",
            "data-key": key("retry"),
            "data-testid": "group-retry",
            "aria-disabled": blocked(state, retryKey),
            "aria-describedby": describedBy(state, retryKey),
            "aria-label": `Retry suggestions for ${group.title}`,
            onclick: () => actions.retryGroup(group),
          },
          "Retry",
        ),
      ),
    ),
    errorNote(state, reviewKey, { class: "inline-error group-error" }),
    errorNote(state, retryKey, { class: "inline-error group-error" }),
    h("ul", { class: "suggestion-list" }, group.items.map((s) => suggestionRow(s, state, actions))),
  );
}

function applyBanner(state, actions) {
  const id = state.applyJobId;
  if (!id) return null;
  const detail = state.details.get(id);
  const job = detail ? detail.job : state.jobs.find((j) => j.id === id);
  if (!job) return null;
  const steps = (detail && detail.steps) || [];
  const lines = steps.map((s) => s.summary).filter(Boolean);
  const failed = steps.find((s) => s.failureReason);
  const done = TERMINAL.has(job.status);
  return h(
    "div",
    { class: `apply-banner apply-${job.status}`, "data-testid": "apply-status", "data-status": job.status },
    h(
      "div",
      { class: "apply-banner-head" },
      h("strong", null, ACTIVE.has(job.status) ? "Applying approved suggestions" : "Apply approved suggestions"),
      badge(job.status, { "data-testid": "apply-status-badge" }),
    ),
    lines.length ? h("ul", { class: "step-result" }, lines.map((l) => h("li", null, l))) : null,
    job.failureReason || failed ? h("p", { class: "step-failure" }, job.failureReason || failed.failureReason) : null,
    applySyncNote(job, steps, state.jobTypes),
    h(
      "div",
      { class: "apply-banner-actions" },
      h("button", { type: "button", class: "btn btn-small", "data-key": "apply-show", onclick: () => actions.selectJob(id, true) }, "Show job"),
      done
        ? h("button", { type: "button", class: "btn btn-small", "data-key": "apply-dismiss", "data-testid": "apply-dismiss", onclick: () => actions.dismissApply() }, "Dismiss")
        : null,
    ),
  );
}

export function suggestionsView(state, actions) {
  const approvedIds = state.suggestions.filter((s) => s.status === "approved").map((s) => s.id);
  const applying = state.applyJobId && !TERMINAL.has(((state.details.get(state.applyJobId) || {}).job || {}).status);
  const pendingCount = state.suggestions.filter((s) => s.status === "pending").length;
  const groups = groupByPayee(state.suggestions);
  const toolbar = h(
    "div",
    { class: "suggestions-toolbar" },
    h(
      "p",
      { class: "muted", "data-testid": "suggestions-summary" },
      state.suggestionsLoaded
        ? `${plural(pendingCount, "suggestion")} to review, ${approvedIds.length} approved`
        : "Loading suggestions…",
    ),
    h(
      "button",
      {
        type: "button",
        class: "btn btn-primary",
        "data-key": "apply-approved",
        "data-testid": "apply-approved",
        "aria-disabled": blocked(state, "apply", !approvedIds.length, applying),
        "aria-describedby": describedBy(state, "apply"),
        onclick: () => approvedIds.length && !applying && actions.applyApproved(approvedIds),
      },
      approvedIds.length ? `Apply approved (${approvedIds.length})` : "Apply approved",
    ),
  );
  const empty =
    state.suggestionsLoaded && !groups.length
      ? h("p", { class: "muted empty", "data-testid": "suggestions-empty" }, "Nothing to review. Run “Sync & generate” to get new suggestions.")
      : null;
  return [toolbar, errorNote(state, "apply"), applyBanner(state, actions), empty, groups.map((g) => groupView(g, state, actions))];
}
