// A searchable category picker: a combobox over a listbox grouped by category group, usable with
// the keyboard alone (type to filter, ↑/↓/Home/End to move, Enter to choose, Escape to close).

import { h } from "./dom.js";

let counter = 0;

function normalize(text) {
  return String(text || "")
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase();
}

/**
 * Build a picker element. `groups` is [{name, categories: [{id, name}]}]. `onPick(category, always)`
 * is called with the chosen category and whether "Always" (create a rule) is ticked; `onClose()`
 * when it is dismissed. The caller places the element and calls `focus()` on it.
 */
export function createPicker({ groups, label, payeeName, current, always = false, allowAlways = true, onPick, onClose }) {
  const uid = `picker-${++counter}`;
  const options = [];
  const input = h("input", {
    id: `${uid}-input`,
    type: "text",
    class: "picker-input",
    role: "combobox",
    autocomplete: "off",
    spellcheck: "false",
    "aria-autocomplete": "list",
    "aria-expanded": "true",
    "aria-controls": `${uid}-list`,
    "data-testid": "picker-input",
    placeholder: "Type to search categories",
  });
  const list = h("div", { id: `${uid}-list`, class: "picker-list", role: "listbox", "aria-label": "Categories", "data-testid": "picker-list" });
  const status = h("p", { class: "visually-hidden", role: "status", "aria-live": "polite" });
  const alwaysBox = allowAlways
    ? h("input", { type: "checkbox", id: `${uid}-always`, "data-testid": "picker-always", checked: always || null })
    : null;
  let active = -1;
  let visible = [];

  groups.forEach((group, gi) => {
    const gid = `${uid}-g${gi}`;
    const items = group.categories.map((c, ci) => {
      const el = h(
        "div",
        {
          id: `${uid}-o${gi}-${ci}`,
          class: "picker-option" + (c.id === current ? " is-current" : ""),
          role: "option",
          "aria-selected": "false",
          "data-category-id": c.id,
          "data-testid": "picker-option",
          onmousedown: (e) => e.preventDefault(), // keep focus in the input
          onclick: () => choose(options.findIndex((o) => o.el === el)),
        },
        c.name,
        c.id === current ? h("span", { class: "muted" }, " (suggested)") : null,
      );
      const option = { el, category: { ...c, groupName: group.name }, text: normalize(`${c.name} ${group.name}`), groupEl: null };
      options.push(option);
      return option;
    });
    const groupEl = h(
      "div",
      { role: "group", "aria-labelledby": gid, class: "picker-group" },
      h("div", { id: gid, class: "picker-group-name", role: "presentation" }, group.name || "Other"),
      items.map((o) => o.el),
    );
    for (const o of items) o.groupEl = groupEl;
    list.append(groupEl);
  });

  function setActive(index) {
    if (active >= 0 && options[active]) options[active].el.setAttribute("aria-selected", "false");
    options.forEach((o) => o.el.classList.remove("is-active"));
    active = index;
    const o = options[index];
    if (o) {
      o.el.classList.add("is-active");
      o.el.setAttribute("aria-selected", "true");
      input.setAttribute("aria-activedescendant", o.el.id);
      o.el.scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function filter() {
    const q = normalize(input.value.trim());
    visible = [];
    options.forEach((o, i) => {
      const show = !q || o.text.includes(q);
      o.el.hidden = !show;
      if (show) visible.push(i);
    });
    for (const g of list.children) g.hidden = ![...g.querySelectorAll("[role=option]")].some((el) => !el.hidden);
    const preferred = visible.find((i) => options[i].category.id === current);
    setActive(visible.length ? (q ? visible[0] : preferred ?? visible[0]) : -1);
    status.textContent = visible.length ? `${visible.length} categories` : "No category matches";
  }

  function move(delta) {
    if (!visible.length) return;
    const at = visible.indexOf(active);
    const next = at < 0 ? 0 : Math.max(0, Math.min(visible.length - 1, at + delta));
    setActive(visible[next]);
  }

  function choose(index) {
    const o = options[index];
    if (!o) return;
    onPick(o.category, Boolean(alwaysBox && alwaysBox.checked));
  }

  input.addEventListener("input", filter);
  input.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown") move(1);
    else if (e.key === "ArrowUp") move(-1);
    else if (e.key === "PageDown") move(8);
    else if (e.key === "PageUp") move(-8);
    else if (e.key === "Home" && !input.value) setActive(visible[0]);
    else if (e.key === "End" && !input.value) setActive(visible[visible.length - 1]);
    else if (e.key === "Enter") choose(active);
    else if (e.key === "Escape") onClose();
    else return;
    e.preventDefault();
  });

  const root = h(
    "div",
    {
      class: "picker",
      role: "group",
      "aria-label": label,
      "data-testid": "picker",
      onkeydown: (e) => {
        if (e.key === "Escape") {
          e.preventDefault();
          onClose();
        }
      },
    },
    h("label", { for: input.id, class: "picker-label" }, label),
    input,
    list,
    status,
    h(
      "div",
      { class: "picker-foot" },
      alwaysBox
        ? h("label", { class: "check", for: alwaysBox.id }, alwaysBox, ` Always for ${payeeName || "this payee"}: create a rule in the budget`)
        : null,
      h("button", { type: "button", class: "btn btn-small", "data-testid": "picker-cancel", onclick: () => onClose() }, "Cancel"),
    ),
  );
  filter();
  root.focusInput = () => input.focus({ preventScroll: false });
  return root;
}
