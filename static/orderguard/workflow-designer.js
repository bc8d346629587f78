/* The workflow designer (workflows/templates/workflows/designer.html): an Alpine.js component.
 *
 * It holds only what is being edited: the workflow's names and what it applies to, its steps as
 * the person arranges them (a vertical flow of cards, each with its outcomes as labelled
 * branches), which step is selected, and what the server last said. Every change is sent
 * (debounced) to the check endpoint, which answers the problems by path ("steps.1.outcomes.0.to")
 * in the page's language; they are shown at the step card, the outcome and the input they
 * concern, never as paths. "Save draft" stores the document through the service the
 * configuration API uses; "Publish" saves, then publishes.
 *
 * Configuration: the JSON script element #og-workflow-designer-config (workflows/designer_views.py).
 * The checking, saving and publishing: static/orderguard/designer-common.js.
 * Drag and drop: SortableJS (static/vendor/sortablejs), the step cards by their handle.
 */
(function () {
  "use strict";

  var common = window.OrderGuardDesigner;
  var MAX_KEY = common.MAX_KEY;
  var ENDS = ["resolve", "dismiss", "escalate"];
  var BACK = "back";
  var has = common.has;
  var text = common.text;
  var filled = common.filled;
  var format = common.format;

  function uid() {
    return common.uid("wf");
  }

  // A key from an English name: "Check the payment" -> "check_the_payment".
  function slug(label, prefix) {
    return common.slug(label, prefix || "s");
  }

  // "30m" -> {amount: "30", unit: "m"}; anything else is kept as typed, for the server to refuse.
  function splitDuration(value) {
    var match = /^(\d+)([mhd])$/.exec(value || "");
    if (match) return { amount: match[1], unit: match[2] };
    return { amount: value ? String(value) : "", unit: "h" };
  }

  function designer() {
    var config = JSON.parse(document.getElementById("og-workflow-designer-config").textContent);

    return common.component(config, { list: "steps", savedEvent: "og-workflow-saved" }, {
      name: text(config.document.name),
      description: text(config.document.description),
      priority: String(config.document.priority === undefined ? 0 : config.document.priority),
      categories: ((config.document.applies_to || {}).categories || []).slice(),
      rules: ((config.document.applies_to || {}).rules || []).slice(),
      steps: [],
      selectedId: null,
      adding: null,

      init: function () {
        var self = this;
        this.steps = (config.document.steps || []).map(function (raw) { return self.loadStep(raw); });
        if (this.steps.length) this.selectedId = this.steps[0]._id;
        this.startEditing(["steps", "name", "description", "priority", "categories", "rules"]);
      },

      // --- The document: loaded into editable steps, and back ---------------------------------

      loadStep: function (raw) {
        var assign = raw.assign || {};
        var deadline = splitDuration(raw.deadline);
        var wait = splitDuration(raw.wait);
        var map = assign.map || {};
        return {
          _id: uid(),
          _autoKey: false,
          key: raw.key || "",
          kind: raw.kind || "task",
          name: text(raw.name),
          form: raw.form || "",
          deadlineAmount: deadline.amount,
          deadlineUnit: deadline.unit,
          assign: {
            strategy: assign.strategy || (raw.kind === "approval" ? "manager" : "queue"),
            department: assign.department || "",
            user: assign.user || "",
            field: assign.field || "channel",
            map: Object.keys(map).map(function (value) {
              return { _id: uid(), value: value, target: map[value] };
            }),
          },
          action: raw.action || "",
          waitAmount: wait.amount,
          waitUnit: wait.unit,
          outcomes: (raw.outcomes || []).map(function (outcome) {
            return { _id: uid(), _autoKey: false, key: outcome.key || "", name: text(outcome.name), to: outcome.to || "" };
          }),
        };
      },

      isHuman: function (step) {
        return step.kind === "task" || step.kind === "approval";
      },

      documentAssign: function (step) {
        var assign = step.assign;
        var strategy = config.strategies[assign.strategy];
        var out = { strategy: assign.strategy };
        if (strategy && strategy.department && assign.department) out.department = assign.department;
        if (assign.strategy === "user") out.user = assign.user;
        if (assign.strategy === "by_field") {
          out.field = assign.field;
          out.map = {};
          assign.map.forEach(function (row) {
            if (filled(row.value) || filled(row.target)) out.map[row.value.trim()] = row.target;
          });
        }
        return out;
      },

      documentStep: function (step) {
        var out = { key: step.key.trim(), kind: step.kind, name: text(step.name) };
        if (this.isHuman(step)) {
          if (step.form) out.form = step.form;
          if (filled(step.deadlineAmount)) out.deadline = String(step.deadlineAmount).trim() + step.deadlineUnit;
          out.assign = this.documentAssign(step);
        } else if (step.kind === "action") {
          out.action = step.action;
        } else if (step.kind === "wait") {
          out.wait = filled(step.waitAmount) ? String(step.waitAmount).trim() + step.waitUnit : "";
        }
        out.outcomes = step.outcomes.map(function (outcome) {
          return { key: outcome.key.trim(), name: text(outcome.name), to: outcome.to };
        });
        return out;
      },

      documentJson: function () {
        var self = this;
        var raw = String(this.priority).trim();
        var out = {
          key: config.document.key,
          name: text(this.name),
          // Whole numbers travel as numbers; anything else is sent as typed, for the server to refuse.
          priority: /^\d+$/.test(raw) ? parseInt(raw, 10) : raw,
          applies_to: { categories: this.categories.slice(), rules: this.rules.slice() },
          steps: this.steps.map(function (step) { return self.documentStep(step); }),
        };
        if (this.description["zh-hans"].trim() || this.description.en.trim()) out.description = text(this.description);
        return out;
      },

      // --- Edits ---------------------------------------------------------------------------------

      select: function (id) {
        this.selectedId = id;
        this.adding = null;
      },

      stepByKey: function (key) {
        return this.steps.find(function (step) { return step.key === key; }) || null;
      },

      uniqueKey: function (base, own) {
        base = base || "step";
        var self = this;
        var taken = function (candidate) {
          return has(ENDS, candidate) || candidate === BACK || self.steps.some(function (step) { return step !== own && step.key === candidate; });
        };
        var candidate = base;
        for (var n = 2; taken(candidate); n += 1) {
          var suffix = "_" + n;
          candidate = base.slice(0, MAX_KEY - suffix.length) + suffix;
        }
        return candidate;
      },

      // Where a new step's outcomes lead: on to the step after it, or resolve after the last.
      following: function (index) {
        var next = this.steps[index];
        return next ? next.key : "resolve";
      },

      newOutcome: function (key, to) {
        var names = config.resultNames[key];
        return { _id: uid(), _autoKey: !names, key: key, name: text(names), to: to };
      },

      defaultOutcomes: function (kind, index) {
        var next = this.following(index);
        if (kind === "approval") {
          return [this.newOutcome("approve", next), this.newOutcome("reject", index === 0 ? "escalate" : BACK)];
        }
        return [this.newOutcome("done", next)];
      },

      addStep: function (kind, index) {
        if (!this.canEdit || !config.kinds[kind]) return;
        if (index === undefined || index === null) index = this.steps.length;
        var number = index + 1;
        var name = {
          "zh-hans": format(config.stepName["zh-hans"], { number: number }),
          en: format(config.stepName.en, { number: number }),
        };
        var step = this.loadStep({ key: "", kind: kind, name: name });
        step._autoKey = true;
        step.key = this.uniqueKey(slug(name.en) || "step", step);
        if (kind === "action") step.action = Object.keys(config.actions)[0];
        if (kind === "wait") {
          step.waitAmount = "1";
          step.waitUnit = "h";
        }
        step.outcomes = this.defaultOutcomes(kind, index);
        this.steps.splice(index, 0, step);
        this.selectedId = step._id;
        this.adding = null;
        var self = this;
        this.$nextTick(function () {
          var input = self.$root.querySelector("#og-step-name-zh");
          if (input && window.matchMedia("(min-width: 64rem)").matches) input.focus();
          var card = self.$root.querySelector('[data-step-id="' + step._id + '"]');
          if (card && card.scrollIntoView) card.scrollIntoView({ block: "nearest" });
        });
      },

      toggleAdding: function (index) {
        this.adding = this.adding === index ? null : index;
      },

      // Outcomes that led to it keep its key: the server then says they lead nowhere.
      removeStep: function (step) {
        this.removePart(step, this.stepName(step));
      },

      // The key follows the English name until the person types a key of their own.
      setEnglishName: function (step, value) {
        step.name.en = value;
        if (step._autoKey && slug(value)) this.setKey(step, this.uniqueKey(slug(value), step), true);
      },

      setKey: function (step, value, automatic) {
        var old = step.key;
        step.key = value;
        if (!automatic) step._autoKey = false;
        if (!old || old === value) return;
        // Outcomes follow the step they lead to.
        this.steps.forEach(function (other) {
          other.outcomes.forEach(function (outcome) {
            if (outcome.to === old) outcome.to = value;
          });
        });
      },

      kindChanged: function (step) {
        var index = this.steps.indexOf(step);
        if (step.kind === "approval") {
          if (!config.strategies[step.assign.strategy].approver) step.assign.strategy = "manager";
          if (!step.outcomes.length) step.outcomes = this.defaultOutcomes("approval", index + 1);
        } else if (step.kind === "action" || step.kind === "wait") {
          if (step.kind === "action" && !step.action) step.action = Object.keys(config.actions)[0];
          if (step.kind === "wait" && !filled(step.waitAmount)) step.waitAmount = "1";
          var allowed = this.outcomeKeys(step);
          var kept = step.outcomes.filter(function (outcome) { return has(allowed, outcome.key); });
          step.outcomes = kept.length ? kept : [this.newOutcome("done", this.following(index + 1))];
        } else if (!step.outcomes.length) {
          step.outcomes = this.defaultOutcomes("task", index + 1);
        }
      },

      actionChanged: function (step) {
        var allowed = this.outcomeKeys(step);
        step.outcomes = step.outcomes.filter(function (outcome) { return has(allowed, outcome.key); });
        if (!step.outcomes.length) step.outcomes = [this.newOutcome("done", this.following(this.steps.indexOf(step) + 1))];
      },

      // The outcome keys an automatic step may have (null: any key).
      outcomeKeys: function (step) {
        if (step.kind === "wait") return ["done"];
        if (step.kind === "action") return (config.actions[step.action] || { outcomes: ["done"] }).outcomes;
        return null;
      },

      canAddOutcome: function (step) {
        var allowed = this.outcomeKeys(step);
        if (!allowed) return true;
        var used = step.outcomes.map(function (outcome) { return outcome.key; });
        return allowed.some(function (key) { return !has(used, key); });
      },

      addOutcome: function (step) {
        var allowed = this.outcomeKeys(step);
        var index = this.steps.indexOf(step);
        if (allowed) {
          var used = step.outcomes.map(function (outcome) { return outcome.key; });
          var key = allowed.find(function (candidate) { return !has(used, candidate); });
          if (key) step.outcomes.push(this.newOutcome(key, this.following(index + 1)));
          return;
        }
        var number = step.outcomes.length + 1;
        var outcome = {
          _id: uid(),
          _autoKey: true,
          key: "",
          name: {
            "zh-hans": format(config.outcomeName["zh-hans"], { number: number }),
            en: format(config.outcomeName.en, { number: number }),
          },
          // Not chosen yet: the server says so at the outcome until a target is picked.
          to: "",
        };
        outcome.key = this.uniqueOutcomeKey(step, slug(outcome.name.en, "o") || "outcome", outcome);
        step.outcomes.push(outcome);
      },

      uniqueOutcomeKey: function (step, base, own) {
        var candidate = base;
        for (var n = 2; step.outcomes.some(function (o) { return o !== own && o.key === candidate; }); n += 1) {
          candidate = base.slice(0, MAX_KEY - 3) + "_" + n;
        }
        return candidate;
      },

      removeOutcome: function (step, outcome) {
        step.outcomes.splice(step.outcomes.indexOf(outcome), 1);
      },

      setOutcomeEnglish: function (step, outcome, value) {
        outcome.name.en = value;
        if (outcome._autoKey && slug(value, "o") && !this.outcomeKeys(step)) {
          outcome.key = this.uniqueOutcomeKey(step, slug(value, "o"), outcome);
        }
      },

      setOutcomeKey: function (outcome, value) {
        outcome.key = value;
        outcome._autoKey = false;
      },

      setOutcomeTarget: function (outcome, value) {
        outcome.to = value;
      },

      strategyChanged: function (step) {
        if (step.assign.strategy === "by_field" && !step.assign.map.length) this.addMapRow(step);
      },

      addMapRow: function (step) {
        step.assign.map.push({ _id: uid(), value: "", target: "" });
      },

      removeMapRow: function (step, row) {
        step.assign.map.splice(step.assign.map.indexOf(row), 1);
      },

      toggleCategory: function (value, on) {
        var list = this.categories.filter(function (item) { return item !== value; });
        if (on) list.push(value);
        this.categories = list;
      },

      toggleRule: function (code, on) {
        var list = this.rules.filter(function (item) { return item !== code; });
        if (on) list.push(code);
        this.rules = list;
      },

      // --- Words ---------------------------------------------------------------------------------

      stepName: function (step) {
        return this.localized(step.name) || step.key || config.kinds[step.kind];
      },

      stepTitle: function (index) {
        var step = this.steps[index];
        var place = format(config.strings.step, { number: index + 1 });
        return step ? place + " · " + this.stepName(step) : place;
      },

      kindLabel: function (kind) {
        return config.kinds[kind] || kind;
      },

      departmentName: function (code) {
        var found = config.departments.find(function (department) { return department.code === code; });
        return found ? found.name : code || config.strings.exceptionDepartment;
      },

      userName: function (username) {
        var found = config.users.find(function (user) { return user.username === username; });
        return found ? found.name : username;
      },

      formName: function (key) {
        var found = config.forms.find(function (form) { return form.key === key; });
        return found ? found.name : key;
      },

      // Who gets the step, in words: "Queue of 财务部".
      assignSummary: function (step) {
        var assign = step.assign;
        var strings = config.strings;
        var department = this.departmentName(assign.department);
        switch (assign.strategy) {
          case "queue":
            return format(strings.queueOf, { department: department });
          case "user":
            return assign.user ? this.userName(assign.user) : config.strategies.user.label;
          case "round_robin":
          case "least_loaded":
            return config.strategies[assign.strategy].label + " · " + format(strings.someone, { department: department });
          case "lead":
            return format(strings.leadOf, { department: department });
          case "manager":
            return strings.managers;
          case "by_field":
            return format(strings.byField, { field: config.byFields[assign.field] || assign.field });
          default:
            return assign.strategy;
        }
      },

      durationWords: function (amount, unit, template) {
        return format(template, { amount: String(amount).trim(), unit: config.units[unit] || unit });
      },

      stepDetails: function (step) {
        var lines = [];
        if (this.isHuman(step)) {
          lines.push(this.assignSummary(step));
          if (step.form) lines.push(format(config.strings.formNamed, { name: this.formName(step.form) }));
          if (filled(step.deadlineAmount)) lines.push(this.durationWords(step.deadlineAmount, step.deadlineUnit, config.strings.within));
        } else if (step.kind === "action") {
          lines.push((config.actions[step.action] || {}).label || "");
        } else if (step.kind === "wait" && filled(step.waitAmount)) {
          lines.push(this.durationWords(step.waitAmount, step.waitUnit, config.strings.waitFor));
        }
        return lines.filter(Boolean);
      },

      outcomeName: function (outcome) {
        return this.localized(outcome.name) || outcome.key;
      },

      // Where an outcome leads, in words: "Step 2 · Manager approval", "Resolve", or "leads nowhere yet".
      targetLabel: function (outcome, step) {
        var to = outcome.to;
        if (!to) return config.strings.nowhere;
        if (has(ENDS, to) || to === BACK) return config.ends[to];
        var index = this.steps.findIndex(function (other) { return other.key === to; });
        if (index === -1) return config.strings.nowhere;
        if (this.steps[index] === step) return config.strings.tryAgain;
        return this.stepTitle(index);
      },

      targetKind: function (outcome) {
        var to = outcome.to;
        if (has(ENDS, to) || to === BACK) return to;
        return this.stepByKey(to) ? "step" : "nowhere";
      },

      // The options of an outcome's "leads to": the other steps (a task also itself), then the ends.
      targetSteps: function (step) {
        var self = this;
        return this.steps
          .map(function (other, index) { return { key: other.key, label: self.stepTitle(index), own: other === step }; })
          .filter(function (option) { return option.key && (!option.own || step.kind === "task"); });
      },

      targetEnds: function (step) {
        var ends = ENDS.slice();
        if (this.steps.indexOf(step) > 0) ends.push(BACK);
        return ends.map(function (to) { return { key: to, label: config.ends[to] }; });
      },

      get appliesSummary() {
        var self = this;
        return this.categories
          .map(function (value) {
            var found = config.categories.find(function (category) { return category.value === value; });
            return found ? found.label : value;
          })
          .concat(this.rules.map(function (code) {
            var found = config.rules.find(function (rule) { return rule.code === code; });
            return found ? found.name : code;
          }))
          .join(" · ") || (self.config.strings.everyException || "");
      },

      // --- Problems, by path ---------------------------------------------------------------------

      // A problem of the selected step, by the property's path ("assign.department").
      msgs: function (path) {
        return this.docMsgs("steps." + this.selectedIndex + (path ? "." + path : ""));
      },

      // Problems of the selected step at or under a path ("assign" and "assign.map.tmall"...).
      msgsUnder: function (path) {
        var prefix = "steps." + this.selectedIndex + "." + path;
        var self = this;
        return Object.keys(this.errors)
          .filter(function (key) { return key.indexOf(prefix + ".") === 0; })
          .map(function (key) { return self.errors[key].join(" "); })
          .join(" ");
      },

      docMsgsUnder: function (path) {
        var self = this;
        return Object.keys(this.errors)
          .filter(function (key) { return key === path || key.indexOf(path + ".") === 0; })
          .map(function (key) { return self.errors[key].join(" "); })
          .join(" ");
      },

      // Whether step ``index`` has a problem anywhere (its card is marked).
      stepHasProblem: function (index) {
        var prefix = "steps." + index;
        return Object.keys(this.errors).some(function (path) {
          return path === prefix || path.indexOf(prefix + ".") === 0;
        });
      },

      // The first problem of step ``index`` written on its card; an outcome's own problems are
      // written under that outcome's branch instead.
      stepProblem: function (index) {
        var prefix = "steps." + index;
        var outcome = new RegExp("^steps\\." + index + "\\.outcomes\\.\\d+(\\.|$)");
        var found = "";
        Object.keys(this.errors).some(function (path) {
          if ((path === prefix || path.indexOf(prefix + ".") === 0) && !outcome.test(path)) {
            found = this.errors[path].join(" ");
            return true;
          }
          return false;
        }, this);
        return found;
      },

      // Problems of an outcome (its key, name or target), shown under it on the card and in the panel.
      outcomeProblem: function (index, position) {
        var prefix = "steps." + index + ".outcomes." + position;
        var self = this;
        return Object.keys(this.errors)
          .filter(function (path) { return path === prefix || path.indexOf(prefix + ".") === 0; })
          .map(function (path) { return self.errors[path].join(" "); })
          .join(" ");
      },

      outcomeMsgs: function (position, property) {
        return this.msgs("outcomes." + position + "." + property);
      },

      mapRowMsgs: function (row) {
        return this.msgs("assign.map." + row.value.trim());
      },

      // Where a problem is, in words: "Step 2 «Manager approval» · Outcome 1 · Leads to".
      placeOf: function (path) {
        var parts = path.split(".");
        var words = config.properties;
        var languages = config.languageNames;
        if (parts[0] !== "steps" || parts.length < 2) {
          if (parts[0] === "name") return config.strings.workflowName + (parts[1] ? " (" + languages[parts[1]] + ")" : "");
          if (words[parts[0]]) {
            var place = words[parts[0]];
            if (parts[1] && words[parts[1]]) place += " · " + words[parts[1]];
            return place;
          }
          return config.strings.workflow;
        }
        var index = parseInt(parts[1], 10);
        var place = this.steps[index] ? format(config.strings.step, { number: index + 1 }) + " «" + this.stepName(this.steps[index]) + "»" : format(config.strings.step, { number: index + 1 });
        var rest = parts.slice(2);
        if (!rest.length) return place;
        if (rest[0] === "outcomes" && rest[1] !== undefined) {
          place += " · " + format(config.strings.outcome, { number: parseInt(rest[1], 10) + 1 });
          if (rest[2]) place += " · " + (words[rest[2]] || rest[2]);
          if (rest[3] && languages[rest[3]]) place += " (" + languages[rest[3]] + ")";
          return place;
        }
        if (rest[0] === "assign" && rest[1]) {
          place += " · " + words.assign + " · " + (words[rest[1]] || rest[1]);
          if (rest[1] === "map" && rest.length > 2) place += " «" + rest.slice(2).join(".") + "»";
          return place;
        }
        place += " · " + (words[rest[0]] || rest[0]);
        if (rest[1] && languages[rest[1]]) place += " (" + languages[rest[1]] + ")";
        return place;
      },

      goTo: function (problem) {
        var step = this.steps[problem.index];
        if (step) {
          this.selectedId = step._id;
          var card = this.$root.querySelector('[data-step-id="' + step._id + '"]');
          if (card && card.scrollIntoView) card.scrollIntoView({ block: "center" });
        }
      },

      // The draft as the server stored it (names trimmed, defaults written out), keeping what the
      // screen knows about each step: the server keeps the steps and outcomes in their order.
      adopt: function (stored) {
        var self = this;
        var selectedIndex = this.selectedIndex;
        var steps = (stored.steps || []).map(function (raw, index) {
          var step = self.loadStep(raw);
          var before = self.steps[index];
          if (before) {
            step._id = before._id;
            step._autoKey = before._autoKey;
            step.outcomes.forEach(function (outcome, position) {
              var old = before.outcomes[position];
              if (old) {
                outcome._id = old._id;
                outcome._autoKey = old._autoKey;
              }
            });
            // Map rows the server dropped (both empty) are not brought back.
            step.assign.map.forEach(function (row, position) {
              var old = before.assign.map[position];
              if (old) row._id = old._id;
            });
          }
          return step;
        });
        this.name = text(stored.name);
        this.description = text(stored.description);
        this.priority = String(stored.priority === undefined ? 0 : stored.priority);
        this.categories = ((stored.applies_to || {}).categories || []).slice();
        this.rules = ((stored.applies_to || {}).rules || []).slice();
        this.steps = steps;
        if (steps[selectedIndex]) this.selectedId = steps[selectedIndex]._id;
        this.adopted();
      },

      // --- Drag and drop -------------------------------------------------------------------------

      bindSortable: function () {
        if (!window.Sortable || !this.canEdit) return;
        var self = this;
        var list = this.$refs.stepList;
        var home = null;
        window.Sortable.create(list, {
          animation: 150,
          forceFallback: true,
          fallbackTolerance: 4,
          delayOnTouchOnly: true,
          delay: 120,
          handle: ".og-wf__handle",
          draggable: "[data-step-id]",
          // Dropped on the upper half of a card: before it; on the lower half: after it.
          invertSwap: true,
          onStart: function (event) {
            home = event.item.nextSibling;
            self.adding = null;
          },
          onEnd: function (event) {
            var from = event.oldDraggableIndex;
            var to = event.newDraggableIndex;
            // Put the card back where Alpine rendered it; Alpine then moves it with the data.
            list.insertBefore(event.item, home);
            if (from !== to) self.steps.splice(to, 0, self.steps.splice(from, 1)[0]);
          },
        });
      },
    });
  }

  document.addEventListener("alpine:init", function () {
    window.Alpine.data("workflowDesigner", designer);
  });
})();
