"""The diagram of a published workflow version, drawn by viewflow's chart (SPEC §10.2).

Viewflow draws a Flow class: ``viewflow.workflow.chart.calc_layout_data`` lays its nodes out on
a grid and ``grid_to_svg`` renders them. A version's steps are data, so a throw-away Flow
subclass is built whose nodes mirror them — a start, then per step a ``View`` (task, approval),
a ``Function`` (action) or a ``Timer`` (wait), a ``Switch`` with one labelled branch per target
of its outcomes, and an ``End`` for each of resolve, dismiss and escalate the steps lead to.
The class is never run: it has no views, no URLs and starts no process.

Building a Flow subclass has no effect on ``workflows.flows.HandlingFlow`` or on anything
global that viewflow reads:

- ``Flow.__init_subclass__`` copies the nodes onto the new class and resolves ``this.…`` against
  it; nothing is registered (flows are found by import path, and this class is never stored in
  a process row);
- it adds the ``manage`` permission to its process model's default permissions: the class uses
  ``HandlingCase``, which has it already from ``HandlingFlow``;
- viewflow's system check (``viewflow.W001``) and ``fire_due_start_timers`` walk every Flow
  subclass still alive: these have no Join and no StartTimer, so both pass over them.

The SVG of a version in a language never changes (versions are immutable), so it is cached.
Node captions are re-wrapped by their width in characters (a Chinese character is two Latin
ones; viewflow wraps by count, which lets Chinese names run out of their box) and an empty
first caption line keeps viewflow's template from title-casing English names.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import viewflow
from django.template import Context, Engine
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from viewflow import this
from viewflow.workflow import chart, flow
from viewflow.workflow.base import Edge

from workflows.document import BACK, KIND_LABELS, TERMINAL_LABELS, TERMINALS, StepKind, parse_duration
from workflows.models import HandlingCase, HandlingTask

# In Latin-character widths: a task box is 150 px wide, a caption under a circle about 90 px.
BOX_LINE = 22
CAPTION_LINE = 14
FONT_SIZE = 12
LINE_HEIGHT = 14
VIEWFLOW_TEMPLATES = Path(viewflow.__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class Diagram:
    svg: str
    width: int
    height: int


def _in_language(names: dict[str, str] | None) -> str:
    names = names or {}
    language = translation.get_language() or ""
    if language.startswith("en") and names.get("en"):
        return names["en"]
    return names.get("zh-hans") or names.get("en") or ""


def _width(character: str) -> int:
    return 2 if unicodedata.east_asian_width(character) in ("W", "F") else 1


def wrap(text: str, limit: int) -> list[str]:
    """``text`` in lines of at most ``limit`` Latin-character widths, broken at spaces where possible."""
    lines: list[str] = []
    line, used = "", 0
    for word in text.split(" "):
        word_width = sum(_width(c) for c in word)
        if line and used + 1 + word_width <= limit:
            line, used = f"{line} {word}", used + 1 + word_width
            continue
        if line:
            lines.append(line)
            line, used = "", 0
        # A word wider than a line (a Chinese name has no spaces): cut it by width.
        for character in word:
            if used + _width(character) > limit and line:
                lines.append(line)
                line, used = "", 0
            line += character
            used += _width(character)
    if line:
        lines.append(line)
    return lines or [""]


class _Outcomes(flow.Switch):
    """A step's outcomes: viewflow's Switch, whose branches carry the outcomes' names."""

    def __init__(self, labels: list[str]):
        super().__init__()
        self._labels = labels

    def _outgoing(self):
        for (node, _condition), label in zip(self._activate_next, self._labels, strict=True):
            yield Edge(src=self, dst=node, edge_class="cond_true", label=label)


def _never(activation) -> bool:
    return False


def _nothing(*args, **kwargs) -> None:
    return None


def _targets(steps: list[dict[str, Any]], index: int) -> list[tuple[str, str]]:
    """Where step ``index`` may lead, as (node name, label): outcomes to one place share a branch.

    ``back`` leads to each step with an outcome leading here.
    """
    step = steps[index]
    names = {other["key"]: f"step{position}" for position, other in enumerate(steps)}
    earlier = [
        names[other["key"]]
        for other in steps
        if any(outcome.get("to") == step["key"] for outcome in other.get("outcomes") or [])
        and other["key"] != step["key"]
    ]
    branches: dict[str, list[str]] = {}
    for outcome in step.get("outcomes") or []:
        to = outcome.get("to", "")
        label = _in_language(outcome.get("name")) or outcome.get("key", "")
        if to == BACK:
            destinations = earlier
        elif to in TERMINALS:
            destinations = [f"end_{to}"]
        elif to in names:
            destinations = [names[to]]
        else:
            destinations = []
        for destination in destinations:
            branches.setdefault(destination, []).append(label)
    return [(destination, " / ".join(labels)) for destination, labels in branches.items()]


def _step_node(step: dict[str, Any]):
    kind = step.get("kind")
    if kind == StepKind.ACTION:
        return flow.Function(_nothing)
    if kind == StepKind.WAIT:
        return flow.Timer(parse_duration(step.get("wait") or "") or timedelta(minutes=1))
    return flow.View(_nothing)


def _flow_class(document: dict[str, Any]) -> type[flow.Flow]:
    """A Flow subclass whose nodes mirror the document's steps (never run: only drawn)."""
    steps = document.get("steps") or []
    attrs: dict[str, Any] = {
        "__module__": __name__,
        "__doc__": _in_language(document.get("name")) or document.get("key", ""),
        "process_class": HandlingCase,
        "task_class": HandlingTask,
        "start": flow.StartHandle(_nothing).Annotation(title=pgettext("workflow diagram", "Start")),
    }
    if steps:
        attrs["start"] = attrs["start"].Next(this.step0)
    used_ends: set[str] = set()
    for index, step in enumerate(steps):
        node = _step_node(step).Annotation(title=_in_language(step.get("name")) or step.get("key", ""))
        targets = _targets(steps, index)
        used_ends.update(name for name, _label in targets if name.startswith("end_"))
        if len(targets) == 1:
            node = node.Next(getattr(this, targets[0][0]))
        elif targets:
            switch = _Outcomes([label for _name, label in targets])
            for name, _label in targets:
                switch = switch.Case(getattr(this, name), _never)
            attrs[f"outcomes{index}"] = switch.Annotation(title=pgettext("workflow diagram", "Outcome"))
            node = node.Next(getattr(this, f"outcomes{index}"))
        attrs[f"step{index}"] = node
    for to in TERMINALS:
        if f"end_{to}" in used_ends:
            attrs[f"end_{to}"] = flow.End().Annotation(title=str(TERMINAL_LABELS[to]))
    return type("WorkflowDiagramFlow", (flow.Flow,), attrs)


def _relabel(grid, steps: list[dict[str, Any]]) -> list[tuple[int, int, int, int]]:
    """Captions by width; the step's kind above its name; events named under their circle.

    Returns the boxes of the captions under circles, which branch names must keep clear of.
    """
    kinds = {f"step{index}": step.get("kind") for index, step in enumerate(steps)}
    captions: list[tuple[int, int, int, int]] = []
    for cell in grid.cells:
        node = cell.node
        title = str(node.task_title or "")
        width, height = cell.shape.width, cell.shape.height
        if node.name in kinds and kinds[node.name] != StepKind.WAIT:
            lines = wrap(title, BOX_LINE)[:4]
            top = int((height - (len(lines) - 1) * LINE_HEIGHT) / 2) + 6
            # The empty first line: the template title-cases a first line.
            cell.shape.text = [("", "align-middle", FONT_SIZE, int(width / 2), top)]
            cell.shape.text += [
                (line, "align-middle", FONT_SIZE, int(width / 2), top + n * LINE_HEIGHT) for n, line in enumerate(lines)
            ]
            kind = KIND_LABELS.get(kinds[node.name])
            # An action's box has viewflow's script marker in its corner: the kind goes beside it.
            left = 30 if kinds[node.name] == StepKind.ACTION else 8
            cell.shape.svg = cell.shape.svg + (
                f'<text x="{left}" y="16" font-size="10px" fill="#4b5563" font-family="sans-serif">'
                f"{escape(kind)}</text>"
            )
        elif node.name.startswith(("end_", "step", "start")):
            lines = wrap(title, CAPTION_LINE)[:3]
            cell.shape.text = [("", "align-middle", FONT_SIZE, int(width / 2), height + 12)]
            cell.shape.text += [
                (line, "align-middle", 11, int(width / 2), height + 12 + n * 13) for n, line in enumerate(lines)
            ]
            cell.title = title
            wide = max(_text_width(line) for line in lines)
            left = cell.shape.x + int((width - wide) / 2)
            captions.append((left, cell.shape.y + height + 2, wide, len(lines) * 13 + 2))
    return captions


@lru_cache(maxsize=1)
def _engine() -> Engine:
    """viewflow's chart template, read from the viewflow package.

    ``chart.grid_to_svg`` looks the template up among the installed apps' templates, where it is
    not: it ships in the ``viewflow`` package, and only ``viewflow.workflow`` is installed (the
    ``viewflow`` app's templates would replace the admin's and the sign-in pages).
    """
    return Engine(dirs=[str(VIEWFLOW_TEMPLATES)], libraries={"l10n": "django.templatetags.l10n"})


def _svg(grid) -> str:
    """What ``chart.grid_to_svg`` renders, with the same template and context."""
    template = _engine().get_template("viewflow/workflow/graph.svg")
    return template.render(Context({"grid": grid, "cells": grid.cells, "edges": grid.edges}))


def _text_width(text: str) -> int:
    return int(sum(_width(character) for character in text) * 6.2) + 2


def _overlaps(box: tuple[int, int, int, int], others: list[tuple[int, int, int, int]], slack: int = 2) -> bool:
    """Whether ``box`` overlaps any of ``others`` by more than ``slack`` pixels (the text's own margin)."""
    x, y, w, h = box
    return any(
        x + slack < ox + ow and ox + slack < x + w and y + slack < oy + oh and oy + slack < y + h
        for ox, oy, ow, oh in others
    )


def _run_length(run) -> int:
    (x1, y1), (x2, y2) = run
    return abs(x2 - x1) + abs(y2 - y1)


def _place_labels(grid, captions: list[tuple[int, int, int, int]]) -> None:
    """Put each branch's name beside its longest run, clear of the shapes and of the other names.

    viewflow puts a label a few pixels after where its edge starts: the branches of one Switch
    then start at the same point and their names print over each other, and a long name on a
    short edge runs into the next box.
    """
    shapes = [(c.shape.x, c.shape.y, c.shape.width, c.shape.height) for c in grid.cells] + captions
    placed: list[tuple[int, int, int, int]] = []
    for edge in grid.edges:
        if not edge.label or len(edge.segments) < 2:
            continue
        width, height = _text_width(edge.label), 13
        candidates = []
        runs = sorted(zip(edge.segments, edge.segments[1:], strict=False), key=_run_length, reverse=True)
        # First above a horizontal run or right of a vertical one; then below or left of it.
        for side in (1, -1):
            for (x1, y1), (x2, y2) in runs:
                for share in (0.5, 0.3, 0.7, 0.15, 0.85):
                    x, y = x1 + (x2 - x1) * share, y1 + (y2 - y1) * share
                    if y1 == y2:
                        top = y - height - 3 if side == 1 else y + 3
                        candidates.append((int(x - width / 2), int(top), width, height))
                    else:
                        left = x + 5 if side == 1 else x - 5 - width
                        candidates.append((int(left), int(y - height / 2), width, height))
        inside = [box for box in candidates if box[0] >= 0 and box[1] >= 0 and box[0] + box[2] <= grid.width]
        free = [box for box in inside if not _overlaps(box, shapes) and not _overlaps(box, placed)]
        box = (free or inside or candidates)[0]
        placed.append(box)
        # The template writes the label at its baseline.
        edge.label_pos = (box[0], box[1] + height - 3)


def diagram(document: dict[str, Any]) -> Diagram:
    """The version's diagram in the active language (labels in the page's language)."""
    language = translation.get_language() or ""
    return _diagram(json.dumps(document, sort_keys=True, ensure_ascii=False), language)


@lru_cache(maxsize=64)
def _diagram(document_json: str, language: str) -> Diagram:
    document = json.loads(document_json)
    with translation.override(language or None):
        flow_class = _flow_class(document)
        grid = chart.calc_layout_data(flow_class)
        captions = _relabel(grid, document.get("steps") or [])
        _place_labels(grid, captions)
        # Room for the captions under the last row of circles.
        grid.height += 30
        svg = _svg(grid)
        title = escape(_("Diagram of %(name)s") % {"name": _in_language(document.get("name"))})
    svg = svg.replace("<defs>", f"<title>{title}</title>\n    <defs>", 1)
    return Diagram(svg=svg, width=grid.width, height=grid.height)
