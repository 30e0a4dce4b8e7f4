// The chosen budget's status above the start area: deleted on its server, and removing it from this service
// (DELETE /api/budgets/{id}, offered only when the API says `removable`). A view: state in, elements out.

import { h, errorNote, describedBy, blocked } from "./dom.js";
import { plural } from "./format.js";

export const REMOVE_KEY = "remove-budget"; // the busy/error key of the removal

/** The picker's text for a budget: "Household (actual, deleted on the server)". */
export function budgetOptionText(b) {
  if (b.deletedOnServer) return `${b.name} (${b.connector}, deleted on the server)`;
  return b.connector ? `${b.name} (${b.connector})` : b.name;
}

/** What a removal did, in words: shown and announced once the budget is gone. */
export function removedText(budget, result) {
  const copy = result.workingCopyRemoved ? "its local copy deleted" : "its local copy could not be deleted (see the log)";
  const server = budget.connector === "actual" ? " The Actual server was not changed." : "";
  return `Removed “${budget.name}” from budget-assist: ${plural(result.droppedSuggestions, "suggestion")} dropped, ${copy}. Its jobs stay in the history.${server}`;
}

function whyRemovable(budget) {
  if (budget.deletedOnServer) {
    return [h("strong", null, budget.name), " was deleted on the Actual server. Its jobs and snapshots stay here; you can remove it from budget-assist."];
  }
  return [h("strong", null, budget.name), " is a demo budget you added; you can remove it from budget-assist."];
}

function confirmView(budget, state, actions) {
  const busy = state.busy.has(REMOVE_KEY);
  const server = budget.connector === "actual" ? " The Actual server is not changed." : "";
  return h(
    "div",
    { class: "budget-status budget-confirm", role: "group", "aria-labelledby": "remove-question", "data-testid": "budget-remove-confirmation" },
    h(
      "p",
      { id: "remove-question", tabindex: "-1", "data-key": "remove-question" },
      `Remove “${budget.name}” from budget-assist? Its suggestions and its local copy are deleted; its jobs and snapshots stay.${server}`,
    ),
    h(
      "div",
      { class: "budget-actions" },
      h(
        "button",
        {
          type: "button",
          class: "btn btn-danger",
          "data-key": "remove-confirm",
          "data-testid": "budget-remove-confirm",
          "aria-disabled": blocked(state, REMOVE_KEY),
          "aria-describedby": describedBy(state, REMOVE_KEY),
          onclick: actions.removeBudget,
        },
        busy ? "Removing…" : "Remove",
      ),
      h("button", { type: "button", class: "btn", "data-key": "remove-cancel", "data-testid": "budget-remove-cancel", onclick: actions.keepBudget }, "Keep it"),
    ),
    errorNote(state, REMOVE_KEY),
  );
}

/** The status area of the chosen budget: nothing for an ordinary one. */
export function budgetStatusView(state, actions) {
  const notice = state.budgetNotice ? h("p", { class: "budget-status budget-removed", "data-testid": "budget-removed" }, state.budgetNotice) : null;
  const budget = state.budgets.find((b) => b.id === state.budgetId);
  if (!budget || !budget.removable) return [notice, errorNote(state, REMOVE_KEY)];
  if (state.confirmRemove === budget.id) return [notice, confirmView(budget, state, actions)];
  return [
    notice,
    h(
      "div",
      { class: "budget-status" + (budget.deletedOnServer ? " budget-deleted" : ""), "data-testid": "budget-status-note" },
      h("p", { id: "budget-status-text" }, whyRemovable(budget)),
      h(
        "button",
        {
          type: "button",
          class: "btn btn-small btn-danger",
          "data-key": "remove-ask",
          "data-testid": "budget-remove",
          "aria-disabled": blocked(state, REMOVE_KEY),
          "aria-describedby": describedBy(state, REMOVE_KEY, "budget-status-text"),
          onclick: actions.askRemoveBudget,
        },
        "Remove budget…",
      ),
      errorNote(state, REMOVE_KEY),
    ),
  ];
}
