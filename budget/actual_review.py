"""What the review asks of an Actual budget beyond categories: rules and note tags.

Rules go through actualpy's rule API: `actual.rules.Rule` / `Condition` / `Action` describe
"payee is <payee> -> set category <category>" and `actual.queries.create_rule` writes it, so the rule
is the one Actual's own Rules page shows and Actual's client runs on every later import. The
condition is on the payee (`description is <payee id>`) when the transaction has a payee; without
one it is on the imported payee text (`imported_description is <text>`), the only thing that then
identifies it. A rule is deleted as Actual deletes one: its row gets tombstone = 1.

Each function works on an open actualpy session (the connector pulls first, sends the resulting
sync messages to the server and only then commits locally). Undoing an apply's categories is not
here: it is written like the apply itself (connector `_write_checked`, `rules.revert_writes`).
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Optional

from budget.connector import RuleOutcome, RuleSpec

if TYPE_CHECKING:
    from sqlmodel import Session

RULE_REMOVED = "removed"
RULE_GONE = "already deleted"
RULE_CHANGED = "changed since the apply; left alone"


def rule_of(spec: RuleSpec):
    """The actualpy Rule for a spec: payee (or imported payee) is X -> set category Y."""
    from actual.rules import Action, ActionType, Condition, ConditionType, Rule, ValueType

    if spec.imported:
        condition = Condition(field="imported_description", op=ConditionType.IS, value=spec.payee_name,
                              type=ValueType.IMPORTED_PAYEE)
    else:
        condition = Condition(field="description", op=ConditionType.IS, value=spec.payee_id, type=ValueType.ID)
    action = Action(field="category", op=ActionType.SET, value=spec.category_id, type=ValueType.ID)
    return Rule(conditions=[condition], operation="and", actions=[action], stage=None)


def _shape(conditions_json: Optional[str], actions_json: Optional[str], op: Optional[str], stage) -> tuple:
    """A rule row reduced to what makes two rules the same."""
    def items(raw, keys):
        try:
            data = json.loads(raw or "[]")
        except ValueError:
            return None
        return tuple(tuple(str(d.get(k) if k != "value" or not isinstance(d.get(k), str) else d[k].lower())
                           for k in keys) for d in data)

    return (op or "and", stage or None, items(conditions_json, ("field", "op", "value")),
            items(actions_json, ("field", "op", "value")))


def _shape_of(spec: RuleSpec) -> tuple:
    rule = rule_of(spec)
    conditions = json.dumps([c.model_dump(mode="json", by_alias=True) for c in rule.conditions])
    actions = json.dumps([a.model_dump(mode="json", by_alias=True) for a in rule.actions])
    return _shape(conditions, actions, rule.operation, rule.stage)


def create_rules(s: "Session", specs: list[RuleSpec]) -> list[RuleOutcome]:
    """Create each rule unless an identical live one exists (then that one is reported, not doubled)."""
    from actual.queries import create_rule, get_rules

    existing = {_shape(r.conditions, r.actions, r.conditions_op, r.stage): r.id for r in get_rules(s)}
    out = []
    for spec in specs:
        shape = _shape_of(spec)
        if shape in existing:
            out.append(RuleOutcome(spec, existing[shape], False))
            continue
        row = create_rule(s, rule_of(spec))
        existing[shape] = row.id
        out.append(RuleOutcome(spec, row.id, True))
    return out


def delete_rules(s: "Session", rules: dict[str, RuleSpec]) -> dict[str, str]:
    """Tombstone rules that are still what they were created as; a rule someone edited is left alone."""
    from actual.database import Rules

    out = {}
    for rule_id, spec in rules.items():
        row = s.get(Rules, rule_id)
        if row is None or row.tombstone:
            out[rule_id] = RULE_GONE
        elif _shape(row.conditions, row.actions, row.conditions_op, row.stage) != _shape_of(spec):
            out[rule_id] = RULE_CHANGED
        else:
            row.delete()
            out[rule_id] = RULE_REMOVED
    return out


def tag_notes(s: "Session", transaction_ids: list[str], tag: str) -> list[str]:
    """Append ` <tag>` to the notes of these transactions, once."""
    from actual.database import Transactions

    tagged = []
    for tx_id in transaction_ids:
        tx = s.get(Transactions, tx_id)
        if tx is None or tx.tombstone or tag in (tx.notes or "").split():
            continue
        tx.notes = f"{tx.notes} {tag}" if tx.notes else tag
        tagged.append(tx_id)
    return tagged
