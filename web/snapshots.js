// View for the snapshots of the chosen budget: when, size, contents, the job that made it, a download.

import { h, timeEl, errorNote, describedBy } from "./dom.js";
import { formatBytes, formatCount, plural, dateTime, triggerText } from "./format.js";

function madeBy(snap, actions) {
  if (!snap.jobId) return h("span", { class: "muted" }, "Made by an unknown job");
  if (!snap.jobLabel) return h("span", { class: "muted" }, "Made by a job since deleted");
  return h(
    "span",
    null,
    "Made by ",
    h(
      "button",
      {
        type: "button",
        class: "linklike",
        "data-key": `snapshot-job-${snap.id}`,
        "data-testid": "snapshot-job",
        onclick: () => actions.selectJob(snap.jobId, true),
      },
      snap.jobLabel,
    ),
    snap.jobTrigger ? ` · ${triggerText(snap.jobTrigger).toLowerCase()}` : "",
  );
}

function snapshotItem(snap, state, actions) {
  const when = dateTime(snap.createdAt);
  const online = state.online;
  return h(
    "li",
    { class: "snapshot", "data-testid": "snapshot", "data-snapshot-id": snap.id, "data-job-id": snap.jobId || "" },
    h(
      "div",
      { class: "snapshot-main" },
      h("span", { class: "snapshot-when", "data-testid": "snapshot-when" }, when, " ", h("span", { class: "muted" }, "(", timeEl(snap.createdAt), ")")),
      h(
        "span",
        { class: "snapshot-facts", "data-testid": "snapshot-facts" },
        `${formatBytes(snap.sizeBytes)} · ${plural(snap.transactions, "transaction")} · ${formatCount(snap.categories)} ${snap.categories === 1 ? "category" : "categories"}`,
      ),
      h("span", { class: "snapshot-job muted" }, madeBy(snap, actions)),
    ),
    h(
      "a",
      {
        class: "btn btn-small snapshot-download",
        href: online ? snap.fileUrl : null,
        download: online ? "" : null,
        role: online ? null : "link",
        "aria-disabled": online ? null : "true",
        "data-key": `snapshot-download-${snap.id}`,
        "data-testid": "snapshot-download",
        "aria-label": `Download snapshot of ${when} (${formatBytes(snap.sizeBytes)})`,
        "aria-describedby": describedBy(state, "snapshots"),
      },
      "Download",
    ),
  );
}

/** The snapshots panel body for the chosen budget. */
export function snapshotsView(state, actions) {
  const note = errorNote(state, "snapshots");
  if (!state.snapshotsLoaded) return [note, h("p", { class: "muted empty" }, "Loading snapshots…")];
  if (!state.snapshots.length) {
    return [
      note,
      h("p", { class: "muted empty", "data-testid": "snapshots-empty" }, "No snapshots of this budget yet. A snapshot job started above makes one."),
    ];
  }
  return [
    note,
    h("ol", { class: "snapshot-list", "data-testid": "snapshot-list", "aria-label": "Snapshots, newest first" }, state.snapshots.map((s) => snapshotItem(s, state, actions))),
  ];
}
