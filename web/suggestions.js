// The suggestion review: pending and approved suggestions grouped by payee, filtered, sorted and paged;
// correct with a category picker, categorize by hand what has no suggestion, approve with "Always"
// (a rule), apply, undo. Owns its state and the DOM under #suggestions-body; only rows and groups
// whose data changed are rebuilt, so focus and scroll stay where the reviewer is.

import { api } from "./api.js";
import { h, badge, errorNote, describedBy, blocked } from "./dom.js";
import { ACTIVE, TERMINAL, formatMoney, formatDate, formatPercent, plural } from "./format.js";
import { applySyncNote } from "./jobs.js";
import { createPicker } from "./picker.js";

const PAGE_GROUPS = 20;
const GENERATING = new Set(["sync_and_suggest", "suggestions_generate", "suggestions_retry_payee", "scheduled_sync_and_suggest"]);

function titleCase(text) {
  return text.replace(/\b[a-z]/g, (c) => c.toUpperCase());
}

const pct = (value) => Math.max(0, Math.min(100, Math.round(Number(value || 0) * 100)));

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

const SORTS = {
  count: { label: "Most transactions", cmp: (a, b) => b.items.length - a.items.length || a.payee.localeCompare(b.payee) },
  payee: { label: "Payee A–Z", cmp: (a, b) => a.title.localeCompare(b.title) },
  confidence: { label: "Least confident first", cmp: (a, b) => minConf(a) - minConf(b) || a.payee.localeCompare(b.payee) },
  newest: { label: "Newest first", cmp: (a, b) => String(b.items[0].date).localeCompare(String(a.items[0].date)) },
  amount: { label: "Largest amount", cmp: (a, b) => total(a) - total(b) },
};
const minConf = (g) => Math.min(...g.items.map((s) => Number(s.confidence || 0)));
const total = (g) => g.items.reduce((sum, s) => sum + Number(s.amount || 0), 0);

/** The screen-reader sentence of a suggestion: "suggested Coffee, 99 % confident". */
export function spokenProposal(s) {
  if (s.origin === "manual") return `chosen by hand: ${s.categoryName}`;
  const chosen = s.categoryId && s.categoryId !== s.proposedCategoryId;
  const base = `suggested ${s.proposedCategoryName || "no category"}, ${pct(s.confidence)} % confident`;
  return chosen ? `${base}; corrected to ${s.categoryName}` : base;
}

function confidenceEl(s) {
  const p = pct(s.confidence);
  const level = p >= 80 ? "high" : p >= 50 ? "medium" : "low";
  const fill = h("span");
  fill.style.width = `${p}%`; // CSSOM, not a style attribute
  return h(
    "span",
    { class: `confidence confidence-${level}`, "data-testid": "suggestion-confidence", "aria-hidden": "true" },
    h("span", { class: "confidence-bar" }, fill),
    formatPercent(s.confidence),
  );
}

/** Put `nodes` into `container` in order, moving or inserting only what is not already in place. */
function reconcile(container, nodes) {
  nodes = nodes.filter(Boolean);
  nodes.forEach((node, i) => {
    const here = container.children[i];
    if (here !== node) container.insertBefore(node, here || null);
  });
  while (container.children.length > nodes.length) container.lastElementChild.remove();
}

function btn(props, text) {
  return h("button", { type: "button", class: "btn btn-small", ...props }, text);
}

/**
 * The review controller over the Job Center's state `deps.appState` (suggestions, busy, errors,
 * online, applyJobId). `deps`: { appState, run(key, what, fn) (one request of a control, its error
 * beside it), reviewed() (a review here: older poll answers must not undo it), announce(text),
 * startJob(kind, body, {select}) -> job, kindTaking(inputName), selectJob(id, scroll),
 * jobDetail(id) -> {job, steps} | undefined, renderCallout() }.
 */
export function createReview(root, deps) {
  const S = deps.appState;
  const st = {
    budgetId: null,
    uncategorized: { groups: [], total: 0 },
    uncatLoaded: false,
    categories: null,
    filters: { account: "", minConf: "0", payee: "", sort: "count" },
    shown: PAGE_GROUPS,
    uncatShown: 10,
    picker: null, // {key, el}
    revertJobId: null,
    reverts: new Map(), // apply job id -> revert job
    callout: null, // {count, job}
    generation: 0,
  };
  const cache = new Map(); // key -> {sig, el}

  // ------------------------------------------------------------------ skeleton (built once)
  const summary = h("p", { class: "muted", "data-testid": "suggestions-summary", "aria-live": "polite" });
  const applyButton = btn({ class: "btn btn-primary", "data-key": "apply-approved", "data-testid": "apply-approved", onclick: () => applyApproved() }, "Apply approved");
  const bannerSlot = h("div", { "data-testid": "apply-slot" });
  const applyError = h("div");
  const accountSel = h("select", { "data-testid": "filter-account", id: "review-filter-account" });
  const confSel = h(
    "select",
    { "data-testid": "filter-confidence", id: "review-filter-confidence" },
    [["0", "Any"], ["0.5", "50 % or more"], ["0.8", "80 % or more"], ["0.95", "95 % or more"], ["-0.8", "Under 80 %"]].map(([v, t]) => h("option", { value: v }, t)),
  );
  const payeeInput = h("input", { type: "search", id: "review-filter-payee", "data-testid": "filter-payee", placeholder: "Payee" });
  const sortSel = h("select", { "data-testid": "sort", id: "review-sort" }, Object.entries(SORTS).map(([v, s]) => h("option", { value: v }, s.label)));
  const filters = h(
    "div",
    { class: "filters review-filters", role: "group", "aria-label": "Filter and sort suggestions" },
    h("label", { for: accountSel.id }, h("span", null, "Account"), accountSel),
    h("label", { for: confSel.id }, h("span", null, "Confidence"), confSel),
    h("label", { for: payeeInput.id }, h("span", null, "Payee"), payeeInput),
    h("label", { for: sortSel.id }, h("span", null, "Sort"), sortSel),
  );
  const groupsEl = h("div", { class: "review-groups", "data-testid": "review-groups" });
  const emptyEl = h("p", { class: "muted empty", "data-testid": "suggestions-empty", hidden: true });
  const moreButton = btn({ "data-testid": "show-more", hidden: true, onclick: () => showMore() }, "Show more");
  const uncatHead = h("h3", { id: "uncategorized-h", tabindex: "-1" }, "Without a suggestion");
  const uncatIntro = h("p", { class: "muted", "data-testid": "uncategorized-summary" });
  const uncatEl = h("div", { class: "review-groups", "data-testid": "uncategorized" });
  const uncatMore = btn({ "data-testid": "uncategorized-more", hidden: true, onclick: () => { st.uncatShown += 10; renderUncategorized(); } }, "Show more");
  root.replaceChildren(
    h("div", { class: "suggestions-toolbar" }, summary, applyButton),
    applyError,
    bannerSlot,
    filters,
    groupsEl,
    emptyEl,
    moreButton,
    h("section", { class: "uncategorized", "aria-labelledby": "uncategorized-h" }, uncatHead, uncatIntro, uncatEl, uncatMore),
  );
  for (const [el, key] of [[accountSel, "account"], [confSel, "minConf"], [sortSel, "sort"]]) {
    el.addEventListener("change", () => {
      st.filters[key] = el.value;
      st.shown = PAGE_GROUPS;
      renderGroups();
    });
  }
  payeeInput.addEventListener("input", () => {
    st.filters.payee = payeeInput.value;
    st.shown = PAGE_GROUPS;
    renderGroups();
  });

  // ------------------------------------------------------------------ derived data
  function approved() {
    return S.suggestions.filter((s) => s.status === "approved");
  }

  function filteredGroups() {
    const f = st.filters;
    const q = f.payee.trim().toLowerCase();
    const min = Number(f.minConf);
    const items = S.suggestions.filter((s) => {
      if (f.account && s.accountName !== f.account) return false;
      if (q && !`${s.payeeName} ${s.payeeKey}`.toLowerCase().includes(q)) return false;
      if (min > 0 && Number(s.confidence) < min) return false;
      if (min < 0 && Number(s.confidence) >= -min) return false;
      return true;
    });
    return groupByPayee(items).sort(SORTS[f.sort] ? SORTS[f.sort].cmp : SORTS.count.cmp);
  }

  // ------------------------------------------------------------------ rendering
  function cached(key, sig, build) {
    const hit = cache.get(key);
    if (hit && hit.sig === sig) return hit.el;
    const el = build();
    cache.set(key, { sig, el });
    return el;
  }

  function render() {
    renderToolbar();
    renderBanner();
    renderGroups();
    renderUncategorized();
  }

  function renderToolbar() {
    const pending = S.suggestions.filter((s) => s.status === "pending").length;
    const ids = approved().map((s) => s.id);
    summary.textContent = S.suggestionsLoaded
      ? `${plural(pending, "suggestion")} to review, ${ids.length} approved` + (st.uncategorized.total ? `, ${st.uncategorized.total} without a suggestion` : "")
      : "Loading suggestions…";
    const applying = S.applyJobId && !TERMINAL.has((jobOf(S.applyJobId) || {}).status);
    applyButton.textContent = ids.length ? `Apply approved (${ids.length})` : "Apply approved";
    applyButton.setAttribute("aria-disabled", blocked(S, "apply", !ids.length, applying) || "false");
    const described = describedBy(S, "apply");
    if (described) applyButton.setAttribute("aria-describedby", described);
    else applyButton.removeAttribute("aria-describedby");
    reconcile(applyError, [errorNote(S, "apply")]);
    const accounts = [...new Set(S.suggestions.map((s) => s.accountName).filter(Boolean))].sort();
    const sig = accounts.join("|");
    if (accountSel.dataset.sig !== sig) {
      accountSel.dataset.sig = sig;
      accountSel.replaceChildren(h("option", { value: "" }, "All accounts"), accounts.map((a) => h("option", { value: a, selected: a === st.filters.account || null }, a)));
    }
  }

  function jobOf(id) {
    const d = deps.jobDetail(id);
    return d && d.job;
  }

  function renderGroups() {
    const groups = filteredGroups();
    const visible = groups.slice(0, st.shown);
    reconcile(groupsEl, visible.map(groupView));
    const filtered = st.filters.account || st.filters.payee || st.filters.minConf !== "0";
    emptyEl.hidden = !S.suggestionsLoaded || visible.length > 0;
    emptyEl.textContent = filtered ? "No suggestion matches these filters." : "Nothing to review. Run “Sync & Generate” to get new suggestions.";
    const rest = groups.length - visible.length;
    moreButton.hidden = rest <= 0;
    moreButton.textContent = `Show more (${plural(rest, "payee")} more)`;
    renderToolbar();
  }

  function showMore() {
    const before = groupsEl.children.length;
    st.shown += PAGE_GROUPS;
    renderGroups();
    const first = groupsEl.children[before];
    if (first) (first.querySelector("button:not([aria-disabled='true'])") || first).focus();
  }

  function pickerFor(key) {
    return st.picker && st.picker.key === key ? st.picker.el : null;
  }

  function groupView(group) {
    const key = `g:${group.payee}`;
    const sig = JSON.stringify([
      group.items.map((s) => [s.id, s.status, s.categoryId, s.createRule, S.busy.has(`s-${s.id}`), Boolean(pickerFor(`s:${s.id}`))]),
      S.busy.has(key), S.busy.has(`retry-${group.payee}`), Boolean(pickerFor(key)), S.online,
      [key, `retry-${group.payee}`, ...group.items.map((s) => `s-${s.id}`)].map((k) => (S.errors.get(k) || {}).text),
    ]);
    return cached(key, sig, () => buildGroup(group, key));
  }

  function buildGroup(group, key) {
    const pending = group.items.filter((s) => s.status === "pending");
    const approvedHere = group.items.filter((s) => s.status === "approved");
    const sum = group.items.reduce((a, s) => a + Number(s.amount || 0), 0);
    const categories = [...new Set(group.items.map((s) => s.categoryName || s.proposedCategoryName).filter(Boolean))];
    const retryKey = `retry-${group.payee}`;
    const headingId = `g-${encodeURIComponent(group.payee).replace(/[^A-Za-z0-9_-]/g, "_")}`;
    const alwaysId = `${headingId}-always`;
    const always = h("input", { type: "checkbox", id: alwaysId, "data-testid": "group-always", checked: pending.some((s) => s.createRule) || null });
    const proposal = pending[0] && pending[0].proposedCategoryName;
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
            h("span", { class: sum < 0 ? "amount-out" : "amount-in" }, formatMoney(sum)),
            categories.length ? ` · → ${categories.join(", ")}` : "",
            approvedHere.length ? ` · ${approvedHere.length} approved` : "",
          ),
        ),
        h(
          "div",
          { class: "group-actions" },
          h("label", { class: "check", for: alwaysId, title: "Teach the budget: this payee always gets this category" }, always, " Always"),
          btn(
            {
              class: "btn btn-small btn-approve",
              "data-key": `${key}:approve`,
              "data-testid": "group-approve",
              "aria-disabled": blocked(S, key, !pending.length),
              "aria-describedby": describedBy(S, key),
              "aria-label": `Approve all ${pending.length} pending for ${group.title}${proposal ? ` as ${proposal}` : ""}`,
              onclick: () => pending.length && approve(pending, { createRule: always.checked }, group),
            },
            pending.length ? `Approve all (${pending.length})` : "Approve all",
          ),
          btn(
            {
              "data-key": `${key}:change`,
              "data-testid": "group-change",
              "aria-disabled": blocked(S, key, !pending.length),
              "aria-describedby": describedBy(S, key),
              "aria-expanded": pickerFor(key) ? "true" : "false",
              "aria-label": `Change the category for all ${pending.length} pending of ${group.title}`,
              onclick: () => pending.length && openPicker(key, `Category for all of ${group.title}`, group.title, pending[0].proposedCategoryId, always.checked,
                (cat, alw) => approve(pending, { categoryId: cat.id, createRule: alw }, group)),
            },
            "Change…",
          ),
          btn(
            {
              class: "btn btn-small btn-reject",
              "data-key": `${key}:reject`,
              "data-testid": "group-reject",
              "aria-disabled": blocked(S, key, !pending.length),
              "aria-describedby": describedBy(S, key),
              "aria-label": `Reject all ${pending.length} pending for ${group.title}`,
              onclick: () => pending.length && reject(pending, group),
            },
            "Reject all",
          ),
          btn(
            {
              "data-key": `${key}:retry`,
              "data-testid": "group-retry",
              "aria-disabled": blocked(S, retryKey),
              "aria-describedby": describedBy(S, retryKey),
              "aria-label": `Retry suggestions for ${group.title}, using every decision so far`,
              onclick: () => retryGroup(group),
            },
            "Retry",
          ),
        ),
      ),
      errorNote(S, key, { class: "inline-error group-error" }),
      errorNote(S, retryKey, { class: "inline-error group-error" }),
      pickerFor(key),
      h("ul", { class: "suggestion-list" }, group.items.map((s) => row(s))),
    );
  }

  function row(s) {
    const key = `s:${s.id}`;
    const reqKey = `s-${s.id}`;
    const pending = s.status === "pending";
    const chosen = s.categoryName || s.proposedCategoryName;
    const corrected = s.corrected || (s.categoryId && s.categoryId !== s.proposedCategoryId && s.origin !== "manual");
    const label = `${s.payeeName} ${formatDate(s.date)} ${formatMoney(s.amount)}`;
    return h(
      "li",
      { class: `suggestion suggestion-${s.status}`, "data-testid": "suggestion", "data-suggestion-id": s.id, "data-status": s.status, "data-key": key },
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
        h("span", { class: "visually-hidden", "data-testid": "suggestion-spoken" }, spokenProposal(s)),
        h("span", { class: "arrow", "aria-hidden": "true" }, "→ "),
        h("span", { class: "category", "data-testid": "suggestion-category", "aria-hidden": "true" }, chosen || "(no category)"),
        s.origin === "manual" ? h("span", { class: "tag", "aria-hidden": "true" }, "by hand") : confidenceEl(s),
        corrected ? h("span", { class: "tag", "data-testid": "suggestion-corrected", "aria-hidden": "true" }, `was ${s.proposedCategoryName}`) : null,
        s.createRule ? h("span", { class: "tag", "data-testid": "suggestion-rule" }, "Always (rule)") : null,
      ),
      s.rationale && s.origin !== "manual" ? h("p", { class: "rationale muted", "data-testid": "suggestion-rationale" }, s.rationale) : null,
      h(
        "div",
        { class: "suggestion-actions" },
        pending
          ? [
              btn({ class: "btn btn-small btn-approve", "data-key": `${key}:approve`, "data-testid": "suggestion-approve", "aria-disabled": blocked(S, reqKey), "aria-describedby": describedBy(S, reqKey), "aria-label": `Approve ${chosen} for ${label}`, onclick: () => approve([s], {}) }, "Approve"),
              btn({
                "data-key": `${key}:change`,
                "data-testid": "suggestion-change",
                "aria-disabled": blocked(S, reqKey), "aria-describedby": describedBy(S, reqKey),
                "aria-expanded": pickerFor(key) ? "true" : "false",
                "aria-label": `Change the category for ${label}`,
                onclick: () => openPicker(key, `Category for ${label}`, s.payeeName, s.proposedCategoryId, s.createRule, (cat, alw) => approve([s], { categoryId: cat.id, createRule: alw })),
              }, "Change…"),
              btn({ class: "btn btn-small btn-reject", "data-key": `${key}:reject`, "data-testid": "suggestion-reject", "aria-disabled": blocked(S, reqKey), "aria-describedby": describedBy(S, reqKey), "aria-label": `Reject ${chosen} for ${label}`, onclick: () => reject([s]) }, "Reject"),
            ]
          : [
              badge(s.status, { "data-testid": "suggestion-status" }),
              s.status === "approved"
                ? btn({ "data-key": `${key}:change`, "data-testid": "suggestion-change", "aria-disabled": blocked(S, reqKey), "aria-describedby": describedBy(S, reqKey), "aria-label": `Change the category for ${label}`, onclick: () => openPicker(key, `Category for ${label}`, s.payeeName, s.categoryId || s.proposedCategoryId, s.createRule, (cat, alw) => approve([s], { categoryId: cat.id, createRule: alw })) }, "Change…")
                : null,
            ],
      ),
      errorNote(S, reqKey, { class: "inline-error suggestion-error" }),
      pickerFor(key),
    );
  }

  // ------------------------------------------------------------------ uncategorized
  function renderUncategorized() {
    const groups = st.uncategorized.groups || [];
    const shown = groups.slice(0, st.uncatShown);
    uncatIntro.textContent = !st.uncatLoaded
      ? "Loading…"
      : st.uncategorized.total
        ? `${plural(st.uncategorized.total, "uncategorized transaction")} without a suggestion. Choose a category by hand; it is applied with the rest.`
        : "Every uncategorized transaction has a suggestion.";
    reconcile(uncatEl, shown.map(uncatGroup));
    const rest = groups.length - shown.length;
    uncatMore.hidden = rest <= 0;
    uncatMore.textContent = `Show more (${plural(rest, "payee")} more)`;
  }

  function uncatGroup(g) {
    const key = `u:${g.payeeKey}`;
    const sig = JSON.stringify([g.transactions.map((t) => [t.id, t.reason, S.busy.has(`t-${t.id}`), Boolean(pickerFor(`t:${t.id}`)), (S.errors.get(`t-${t.id}`) || {}).text]), Boolean(pickerFor(key)), S.busy.has(key), S.online, (S.errors.get(key) || {}).text]);
    return cached(key, sig, () => {
      const headingId = `u-${encodeURIComponent(g.payeeKey).replace(/[^A-Za-z0-9_-]/g, "_")}`;
      return h(
        "section",
        { class: "group group-uncategorized", "data-testid": "uncategorized-group", "data-payee": g.payeeKey, "aria-labelledby": headingId },
        h(
          "header",
          { class: "group-head" },
          h(
            "div",
            { class: "group-title" },
            h("h4", { id: headingId }, g.payeeName || g.payeeKey),
            h("p", { class: "muted group-summary", "data-testid": "uncategorized-why" }, `${plural(g.transactions.length, "transaction")} · ${g.why}`),
          ),
          h(
            "div",
            { class: "group-actions" },
            btn({
              "data-key": `${key}:choose`,
              "data-testid": "uncategorized-group-choose",
              "aria-disabled": blocked(S, key), "aria-describedby": describedBy(S, key),
              "aria-expanded": pickerFor(key) ? "true" : "false",
              "aria-label": `Choose for all ${g.transactions.length} of ${g.payeeName}: one category`,
              onclick: () => openPicker(key, `Category for all of ${g.payeeName}`, g.payeeName, null, false, (cat, alw) => categorize(g.transactions, cat, alw, key)),
            }, "Choose for all…"),
          ),
        ),
        errorNote(S, key, { class: "inline-error group-error" }),
        pickerFor(key),
        h(
          "ul",
          { class: "suggestion-list" },
          g.transactions.map((t) => {
            const tkey = `t:${t.id}`;
            const label = `${t.payeeName} ${formatDate(t.date)} ${formatMoney(t.amount)}`;
            return h(
              "li",
              { class: "suggestion suggestion-none", "data-testid": "uncategorized-transaction", "data-transaction-id": t.id, "data-key": tkey },
              h("span", { class: "suggestion-date" }, formatDate(t.date)),
              h("span", { class: "suggestion-who" }, h("span", { class: "suggestion-payee" }, t.payeeName || ""), h("span", { class: "suggestion-account muted" }, t.accountName || "")),
              h("span", { class: "amount" + (t.amount < 0 ? " amount-out" : " amount-in") }, formatMoney(t.amount)),
              h("div", { class: "suggestion-proposal" }, h("span", { class: "muted" }, t.why)),
              h(
                "div",
                { class: "suggestion-actions" },
                btn({
                  "data-key": `${tkey}:choose`,
                  "data-testid": "uncategorized-choose",
                  "aria-disabled": blocked(S, `t-${t.id}`), "aria-describedby": describedBy(S, `t-${t.id}`),
                  "aria-expanded": pickerFor(tkey) ? "true" : "false",
                  "aria-label": `Choose category for ${label}`,
                  onclick: () => openPicker(tkey, `Category for ${label}`, t.payeeName, null, false, (cat, alw) => categorize([t], cat, alw, tkey)),
                }, "Choose category…"),
              ),
              errorNote(S, `t-${t.id}`, { class: "inline-error suggestion-error" }),
              pickerFor(tkey),
            );
          }),
        ),
      );
    });
  }

  // ------------------------------------------------------------------ apply banner + undo
  function renderBanner() {
    const id = st.revertJobId || S.applyJobId;
    if (!id) {
      bannerSlot.replaceChildren();
      return;
    }
    const detail = deps.jobDetail(id);
    const job = detail && detail.job;
    if (!job) return;
    const isRevert = job.type === "suggestions_revert";
    const steps = (detail && detail.steps) || [];
    const lines = steps.map((s) => s.summary).filter(Boolean);
    const failed = steps.find((s) => s.failureReason);
    const done = TERMINAL.has(job.status);
    const reverted = !isRevert && st.reverts.get(job.id);
    const canUndo = !isRevert && done && !reverted && steps.some((s) => s.stepType === "apply" && s.status === "succeeded");
    const title = isRevert
      ? ACTIVE.has(job.status) ? "Undoing the apply" : job.status === "succeeded" ? "Apply undone" : "Undo apply"
      : ACTIVE.has(job.status) ? "Applying approved suggestions" : "Apply approved suggestions";
    const sig = JSON.stringify([id, job.status, lines, job.failureReason, canUndo, Boolean(reverted), S.busy.has(`undo-${job.id}`), S.online, (S.errors.get(`undo-${job.id}`) || {}).text]);
    const el = cached(`banner:${id}`, sig, () =>
      h(
        "div",
        { class: `apply-banner apply-${job.status}`, "data-testid": isRevert ? "undo-status" : "apply-status", "data-status": job.status, "data-job-type": job.type },
        h("div", { class: "apply-banner-head" }, h("strong", null, title), badge(job.status, { "data-testid": "apply-status-badge" })),
        lines.length ? h("ul", { class: "step-result" }, lines.map((l) => h("li", null, l))) : null,
        reverted ? h("p", { "data-testid": "apply-reverted" }, "This apply was undone.") : null,
        job.failureReason || failed ? h("p", { class: "step-failure" }, job.failureReason || failed.failureReason) : null,
        isRevert ? null : applySyncNote(job, steps, S.jobTypes),
        errorNote(S, `undo-${job.id}`),
        h(
          "div",
          { class: "apply-banner-actions" },
          btn({ "data-key": "apply-show", onclick: () => deps.selectJob(id, true) }, "Show job"),
          canUndo
            ? btn({ class: "btn btn-small btn-danger", "data-key": "apply-undo", "data-testid": "apply-undo", "aria-disabled": blocked(S, `undo-${job.id}`), "aria-describedby": describedBy(S, `undo-${job.id}`), onclick: () => undoApply(job) }, "Undo")
            : null,
          done ? btn({ "data-key": "apply-dismiss", "data-testid": "apply-dismiss", onclick: () => dismiss() }, "Dismiss") : null,
        ),
      ),
    );
    reconcile(bannerSlot, [el]);
  }

  function dismiss() {
    S.applyJobId = null;
    st.revertJobId = null;
    renderBanner();
    document.getElementById("suggestions-h")?.focus();
  }

  /** Nodes for the job detail panel: an Undo button on a finished apply, and whether it was undone. */
  function detailExtras(job) {
    if (job.type === "suggestions_revert" && job.metadata && job.metadata.applyJobId) {
      return h(
        "p",
        { class: "muted", "data-testid": "revert-of" },
        "Undoes ",
        h("button", { type: "button", class: "linklike", "data-key": "revert-of", onclick: () => deps.selectJob(job.metadata.applyJobId) }, "this apply job"),
        ".",
      );
    }
    if (job.type !== "suggestions_apply" || !TERMINAL.has(job.status)) return null;
    const revert = st.reverts.get(job.id);
    if (revert) {
      return h(
        "p",
        { class: "reverted-note", "data-testid": "apply-reverted" },
        revert.status === "succeeded" ? "This apply was undone by " : `An undo of this apply is ${String(revert.status).toLowerCase()}: `,
        h("button", { type: "button", class: "linklike", "data-key": "revert-job", onclick: () => deps.selectJob(revert.id) }, "its Undo Apply job"),
        ".",
      );
    }
    const d = deps.jobDetail(job.id);
    const wrote = d && d.steps && d.steps.some((s) => s.stepType === "apply" && s.status === "succeeded" && s.result && (s.result.applied || (s.result.rules || []).length));
    if (!wrote) return null;
    return h(
      "div",
      { class: "actions" },
      btn({ class: "btn btn-danger", "data-key": `undo-${job.id}`, "data-testid": "undo-apply", "aria-disabled": blocked(S, `undo-${job.id}`), "aria-describedby": describedBy(S, `undo-${job.id}`), onclick: () => undoApply(job) }, "Undo"),
      h("span", { class: "muted" }, " Restores the previous categories and removes the rules this apply created; anything changed since is left alone."),
    );
  }

  // ------------------------------------------------------------------ picker
  async function loadCategories() {
    if (st.categories) return st.categories;
    const { data } = await api.categories(st.budgetId);
    st.categories = data.groups || [];
    return st.categories;
  }

  async function openPicker(key, label, payeeName, current, always, onChosen) {
    if (st.picker && st.picker.key === key) return closePicker();
    const opener = document.activeElement;
    let groups;
    try {
      groups = await loadCategories();
    } catch (err) {
      deps.run(`${key}:categories`, "Could not load the categories", () => Promise.reject(err));
      return;
    }
    const el = createPicker({
      groups,
      label,
      payeeName,
      current,
      always,
      onPick: (cat, alw) => {
        closePicker(false);
        onChosen(cat, alw);
      },
      onClose: () => closePicker(true),
    });
    st.picker = { key, el, opener };
    renderGroups();
    renderUncategorized();
    el.focusInput();
  }

  function closePicker(refocus = true) {
    if (!st.picker) return;
    const { key } = st.picker;
    st.picker = null;
    renderGroups();
    renderUncategorized();
    if (refocus) {
      const again = root.querySelector(`[data-key="${CSS.escape(key)}:change"], [data-key="${CSS.escape(key)}:choose"]`);
      if (again) again.focus();
    }
  }

  // ------------------------------------------------------------------ actions
  /** One request of control `key` through the Job Center (not offline, one at a time, its error beside it). */
  function run(key, what, fn) {
    return deps.run(key, what, fn);
  }

  /** After a review the reviewed rows may be gone: focus the next thing to review (never the top). */
  function focusNext(anchorKeys) {
    const buttons = [...groupsEl.querySelectorAll("[data-testid='suggestion-approve'], [data-testid='group-approve']")].filter((b) => b.getAttribute("aria-disabled") !== "true");
    const order = [...groupsEl.querySelectorAll("[data-key]")].map((el) => el.getAttribute("data-key"));
    const anchorIndex = Math.max(...anchorKeys.map((k) => order.indexOf(k)));
    const after = buttons.find((b) => order.indexOf(b.getAttribute("data-key")) > anchorIndex && b.dataset.testid === "suggestion-approve");
    const target = after || buttons.find((b) => b.dataset.testid === "suggestion-approve") || (moreButton.hidden ? null : moreButton) || document.getElementById("suggestions-h");
    if (target) target.focus({ preventScroll: false });
  }

  function merge(updated) {
    const byId = new Map(updated.map((s) => [s.id, s]));
    const known = new Set(S.suggestions.map((s) => s.id));
    S.suggestions = S.suggestions.map((s) => byId.get(s.id) || s).concat(updated.filter((s) => !known.has(s.id)));
    S.suggestions = S.suggestions.filter((s) => s.status === "pending" || s.status === "approved");
  }

  const hasFocus = () => root.contains(document.activeElement) || document.activeElement === document.body;

  async function approve(items, { categoryId, createRule }, group) {
    const ids = items.map((s) => s.id);
    const key = group ? `g:${group.payee}` : `s-${ids[0]}`;
    const anchors = items.map((s) => `s:${s.id}`);
    const who = group ? group.title : (items[0] && items[0].payeeName) || "";
    const hadFocus = hasFocus();
    deps.reviewed();
    const ok = await run(key, `Could not approve ${who}`, async () => {
      const body = {};
      if (categoryId) body.categoryId = categoryId;
      if (createRule !== undefined) body.createRule = Boolean(createRule);
      const updated = ids.length === 1 ? [(await api.approve(ids[0], body)).data.suggestion] : (await api.approveMany(ids, body)).data.suggestions || [];
      merge(updated);
      const first = updated[0] || {};
      announce(`Approved ${plural(ids.length, "transaction")} of ${who} as ${first.categoryName || first.proposedCategoryName}${createRule ? ", always (a rule will be created)" : ""}`);
      return true;
    });
    if (ok && hadFocus) focusNext(group ? [`g:${group.payee}:approve`, ...anchors] : anchors);
  }

  async function reject(items, group) {
    const ids = items.map((s) => s.id);
    const key = group ? `g:${group.payee}` : `s-${ids[0]}`;
    const anchors = items.map((s) => `s:${s.id}`);
    const who = group ? group.title : items[0].payeeName;
    const hadFocus = hasFocus();
    deps.reviewed();
    const ok = await run(key, `Could not reject ${who}`, async () => {
      const updated = ids.length === 1 ? [(await api.reject(ids[0])).data.suggestion] : (await api.rejectMany(ids)).data.suggestions || [];
      merge(updated);
      announce(`Rejected ${plural(ids.length, "suggestion")} for ${who}`);
      return true;
    });
    if (ok && hadFocus) focusNext(anchors);
    if (ok) refreshUncategorized();
  }

  async function categorize(transactions, category, always, key) {
    const hadFocus = hasFocus();
    deps.reviewed();
    const ok = await run(key.replace(/^t:/, "t-"), `Could not set the category of ${transactions[0].payeeName}`, async () => {
      const made = [];
      try {
        for (const t of transactions) {
          const { data } = await api.categorize({ budgetId: st.budgetId, transactionId: t.id, categoryId: category.id, createRule: Boolean(always) });
          made.push(data.suggestion);
        }
      } finally {
        merge(made);
        const done = new Set(made.map((s) => s.transactionId));
        st.uncategorized = {
          ...st.uncategorized,
          total: st.uncategorized.total - done.size,
          groups: st.uncategorized.groups.map((g) => ({ ...g, transactions: g.transactions.filter((t) => !done.has(t.id)) })).filter((g) => g.transactions.length),
        };
      }
      announce(`${plural(made.length, "transaction")} of ${transactions[0].payeeName} set to ${category.name}; apply to write it to the budget`);
      return true;
    });
    if (ok && hadFocus) {
      const next = uncatEl.querySelector("[data-testid='uncategorized-choose']") || uncatHead;
      next.focus();
    }
  }

  async function retryGroup(group) {
    const first = group.items[0];
    const kind = deps.kindTaking("suggestionId");
    if (!first || !kind) return;
    await run(`retry-${group.payee}`, `Could not retry suggestions for ${group.title}`, async () => {
      await deps.startJob(kind, { budgetId: st.budgetId, suggestionId: first.id });
    });
  }

  async function applyApproved() {
    const ids = approved().map((s) => s.id);
    const kind = deps.kindTaking("suggestionIds");
    if (!ids.length || !kind || applyButton.getAttribute("aria-disabled") === "true") return;
    await run("apply", "Could not apply the approved suggestions", async () => {
      const job = await deps.startJob(kind, { budgetId: st.budgetId, suggestionIds: ids });
      if (job) {
        S.applyJobId = job.id;
        st.revertJobId = null;
      }
    });
  }

  async function undoApply(job) {
    const kind = deps.kindTaking("applyJobId");
    if (!kind) return;
    await run(`undo-${job.id}`, "Could not undo the apply", async () => {
      const started = await deps.startJob(kind, { budgetId: job.budgetId, applyJobId: job.id }, { select: false });
      if (started) {
        st.reverts.set(job.id, started);
        S.applyJobId = job.id;
        st.revertJobId = started.id;
        announce("Undoing the apply");
      }
    });
  }

  function announce(text) {
    deps.announce(text);
  }

  // ------------------------------------------------------------------ data
  /** What the review adds to the Job Center's suggestions: undone applies and the transactions without one. */
  async function refresh() {
    if (!st.budgetId) return;
    const budgetId = st.budgetId;
    const reverts = await api.jobsPage({ budgetId, type: "suggestions_revert", limit: 100 }).catch(() => null);
    if (budgetId !== st.budgetId) return;
    if (reverts) for (const j of reverts.data.jobs || []) if (j.metadata && j.metadata.applyJobId && (!st.reverts.get(j.metadata.applyJobId) || j.status !== "failed")) st.reverts.set(j.metadata.applyJobId, j);
    await refreshUncategorized(false);
    render();
  }

  async function refreshUncategorized(draw = true) {
    if (!st.budgetId) return;
    const budgetId = st.budgetId;
    try {
      const { data } = await api.uncategorized(budgetId);
      if (budgetId !== st.budgetId) return;
      st.uncategorized = data;
      st.uncatLoaded = true;
    } catch {
      st.uncatLoaded = true; // no working copy yet: nothing listed
    }
    if (draw) render();
  }

  function setBudget(budgetId) {
    st.budgetId = budgetId;
    st.uncategorized = { groups: [], total: 0 };
    st.uncatLoaded = false;
    st.categories = null;
    st.revertJobId = null;
    st.reverts.clear();
    st.picker = null;
    cache.clear();
    render();
  }

  /** A job finished: a suggestion run says how many wait and offers to go there; a revert marks its apply. */
  function jobFinished(job) {
    if (job.type === "suggestions_revert" && job.metadata && job.metadata.applyJobId) st.reverts.set(job.metadata.applyJobId, job);
    if (job.type === "suggestions_apply" || job.type === "suggestions_revert") st.categories = null;
    if (GENERATING.has(job.type) && job.status === "succeeded" && job.budgetId === st.budgetId) {
      st.callout = { jobId: job.id, pending: null };
    }
  }

  /** The "N suggestions are waiting" notice after a Sync & Generate, with a link to the review. */
  function calloutView() {
    if (!st.callout || !S.suggestionsLoaded) return null;
    const pending = S.suggestions.filter((s) => s.status === "pending").length;
    const uncat = st.uncategorized.total || 0;
    return h(
      "div",
      { class: "review-callout", "data-testid": "review-callout" },
      h("p", null, pending ? `${plural(pending, "suggestion")} waiting for review` : "No suggestion is waiting for review", uncat ? `, ${uncat} without a suggestion.` : "."),
      h(
        "div",
        { class: "apply-banner-actions" },
        pending || uncat
          ? btn({ class: "btn btn-small btn-primary", "data-key": "go-review", "data-testid": "go-review", onclick: () => goToReview() }, "Review now")
          : null,
        btn({ "data-key": "callout-dismiss", onclick: () => { st.callout = null; deps.renderCallout(); } }, "Dismiss"),
      ),
    );
  }

  function goToReview() {
    st.callout = null;
    deps.renderCallout();
    const first = groupsEl.querySelector("[data-testid='suggestion-approve']") || uncatEl.querySelector("[data-testid='uncategorized-choose']");
    document.getElementById("suggestions").scrollIntoView({ block: "start" });
    (first || document.getElementById("suggestions-h")).focus({ preventScroll: true });
  }

  function watchedJobs() {
    return [S.applyJobId, st.revertJobId].filter(Boolean);
  }

  return { render, refresh, setBudget, jobFinished, watchedJobs, detailExtras, calloutView, undoApply, renderBanner };
}
