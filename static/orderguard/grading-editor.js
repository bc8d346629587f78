/* The grading table editor (apps/exceptions/templates/exceptions/grading/editor.html): an Alpine.js component.
 *
 * It holds only what is being edited: the rows' cells as the person changes them, which rows are
 * waiting for the server, and what the server last said. Every change to a cell saves its row
 * through the endpoint that calls grading_rule_save (the configuration API's service); a refusal
 * comes back by field ("max_amount") and is shown at that cell, with the cells kept as typed, so
 * nothing is lost: the next change sends them again. Rows are reordered by dragging their handle
 * (SortableJS) or with their arrow buttons; the new order is saved at once. The tester posts an
 * exception's facts and shows the server's verdict: its summary as HTML, and each row's reasons
 * beside the row.
 *
 * Writes go to the server one at a time, in the order they were made, so that a save never
 * races a reorder or a delete. Configuration: the JSON script element #og-grading-config
 * (apps/exceptions/grading_views.py); shared helpers: static/orderguard/designer-common.js.
 */
(function () {
  "use strict";

  var common = window.OrderGuardDesigner;
  var format = common.format;
  var filled = common.filled;

  // The fields the server names a problem by, and the cell it belongs to.
  var FIELD_OF_PATH = { "name.zh-hans": "name_zh", "name.en": "name_en", name: "name_zh" };
  var CELLS = [
    "name_zh",
    "name_en",
    "is_active",
    "category",
    "rule",
    "channel",
    "min_amount",
    "max_amount",
    "customer_tag",
    "time_from",
    "time_to",
    "severity",
    "department",
    "handling",
    "first_response_minutes",
    "resolution_minutes",
    "notify_channels",
  ];

  function blankAsText(value) {
    return value === null || value === undefined ? "" : String(value);
  }

  // The cells of a row as the server stored it.
  function cellsOf(data) {
    return {
      name_zh: (data.name && data.name["zh-hans"]) || "",
      name_en: (data.name && data.name.en) || "",
      is_active: data.is_active === true,
      category: data.category || "",
      rule: data.rule || "",
      channel: data.channel || "",
      min_amount: blankAsText(data.min_amount),
      max_amount: blankAsText(data.max_amount),
      customer_tag: data.customer_tag || "",
      time_from: data.time_from || "",
      time_to: data.time_to || "",
      severity: data.severity || "",
      department: data.department || "",
      handling: data.handling || "",
      first_response_minutes: blankAsText(data.first_response_minutes),
      resolution_minutes: blankAsText(data.resolution_minutes),
      notify_channels: (data.notify_channels || []).slice(),
    };
  }

  // Whole numbers travel as numbers, an empty cell as null; anything else as typed, for the server to refuse.
  function whole(value) {
    var raw = String(value).trim();
    if (raw === "") return null;
    return /^\d+$/.test(raw) ? parseInt(raw, 10) : raw;
  }

  function textOrNull(value) {
    var raw = String(value).trim();
    return raw === "" ? null : raw;
  }

  function same(a, b) {
    return JSON.stringify(a) === JSON.stringify(b);
  }

  function editor() {
    var config = JSON.parse(document.getElementById("og-grading-config").textContent);
    var strings = config.strings;
    var nextKey = 0;
    // The writes waiting, as one promise chain; kept out of Alpine's reactive data (a proxied
    // promise cannot be chained).
    var queue = Promise.resolve();

    return {
      config: config,
      canEdit: config.canEdit,
      rows: [],
      pending: 0,
      status: "",
      statusIsError: false,
      // The tester
      find: "",
      found: [],
      findMessage: "",
      filledFrom: "",
      probe: { rule: "", category: "", channel: "", amount: "", tags: "", time: "" },
      probeErrors: {},
      verdict: null,
      verdictHtml: "",

      init: function () {
        var self = this;
        this.rows = config.rows.map(function (data) { return self.makeRow(data); });
        this.$nextTick(function () { self.bindSortable(); });
        window.addEventListener("beforeunload", function (event) {
          if (self.rows.some(function (row) { return row.failed || row.rev !== row.savedRev; })) {
            event.preventDefault();
            event.returnValue = strings.leave;
          }
        });
      },

      format: format,

      get busy() {
        return this.pending > 0;
      },

      // --- Rows -----------------------------------------------------------------------------------

      makeRow: function (data) {
        nextKey += 1;
        return {
          key: "r" + nextKey,
          id: data.id,
          values: cellsOf(data),
          sent: null,
          phrase: data.phrase,
          deadlines: data.deadlines,
          note: data.note,
          errors: {},
          message: "",
          failed: false,
          rev: 0,
          savedRev: 0,
        };
      },

      rowById: function (id) {
        return this.rows.find(function (row) { return row.id === id; }) || null;
      },

      cellId: function (row, field) {
        return "og-gt-" + row.key + "-" + field;
      },

      // The problem at ``field`` of ``row``, in words; a list's problems ("notify_channels.1") count as its own.
      err: function (row, field) {
        var messages = [];
        Object.keys(row.errors).forEach(function (path) {
          var cell = FIELD_OF_PATH[path] || path.split(".")[0];
          if (cell === field) messages = messages.concat(row.errors[path]);
        });
        return messages.join(" ");
      },

      invalid: function (row, field) {
        return this.err(row, field) ? "true" : "false";
      },

      describedBy: function (row, field) {
        return this.err(row, field) ? this.cellId(row, field) + "-error" : null;
      },

      // What an empty resolution time means for the row: the first response time times the factor.
      resolutionHint: function (row) {
        var first = whole(row.values.first_response_minutes);
        if (typeof first !== "number" || first <= 0) return "";
        return format(strings.resolutionHint, { minutes: first * config.resolutionFactor });
      },

      // Problems of the row as a whole, and refusals of cells the grid does not show.
      rowMessage: function (row) {
        var loose = Object.keys(row.errors).filter(function (path) {
          var cell = FIELD_OF_PATH[path] || path.split(".")[0];
          return CELLS.indexOf(cell) === -1 || cell === "is_active";
        });
        var words = loose.map(function (path) { return row.errors[path].join(" "); });
        if (!words.length && row.failed && row.message && !Object.keys(row.errors).length) words.push(row.message);
        return words.join(" ");
      },

      // The cells as the save endpoint reads them (the configuration API's names and types).
      payload: function (row) {
        var v = row.values;
        return {
          name: { "zh-hans": v.name_zh, en: v.name_en },
          is_active: v.is_active === true,
          category: v.category,
          rule: v.rule || null,
          channel: v.channel,
          min_amount: textOrNull(v.min_amount),
          max_amount: textOrNull(v.max_amount),
          customer_tag: String(v.customer_tag).trim(),
          time_from: v.time_from || null,
          time_to: v.time_to || null,
          severity: v.severity,
          department: v.department,
          handling: v.handling,
          first_response_minutes: whole(v.first_response_minutes),
          resolution_minutes: whole(v.resolution_minutes),
          notify_channels: v.notify_channels.slice(),
        };
      },

      // --- Talking to the server, one write at a time ----------------------------------------------

      // Run ``work`` (which returns a promise) after the writes before it.
      enqueue: function (work) {
        var self = this;
        this.pending += 1;
        var run = queue.then(work).catch(function () {
          self.say(strings.offline, true);
        });
        queue = run.then(function () {
          self.pending -= 1;
        });
        return run;
      },

      say: function (words, isError) {
        this.status = words;
        this.statusIsError = !!isError;
      },

      // Take the table as the server stored it, and its order. A row keeps the cells the server has
      // not accepted yet (a refusal to fix, a change waiting to be sent); the others take the stored
      // ones, except the cell being typed in.
      adoptTable: function (list) {
        var self = this;
        var kept = {};
        this.rows.forEach(function (row) { kept[row.id] = row; });
        this.rows = list.map(function (data) {
          var row = kept[data.id];
          if (!row) return self.makeRow(data);
          row.phrase = data.phrase;
          row.deadlines = data.deadlines;
          row.note = data.note;
          if (!row.failed && row.rev === row.savedRev && !row.queued) self.takeStored(row, data);
          return row;
        });
      },

      // The server may write a cell differently ("5000" → "5000.00"): take its spelling cell by cell,
      // leaving alone the input that has the focus (what is typed there is not sent yet).
      takeStored: function (row, data) {
        var fresh = cellsOf(data);
        var focused = document.activeElement;
        var inRow = focused && focused.id && focused.id.indexOf("og-gt-" + row.key + "-") === 0;
        var typing = inRow ? focused.dataset.field : null;
        CELLS.forEach(function (field) {
          if (field !== typing && !same(row.values[field], fresh[field])) row.values[field] = fresh[field];
        });
      },

      edited: function (row) {
        if (!this.canEdit) return;
        row.rev += 1;
        if (row.queued) return; // the save already waiting sends the cells as they are then
        row.queued = true;
        var self = this;
        this.enqueue(function () { return self.saveNow(row); });
      },

      saveNow: function (row) {
        var self = this;
        row.queued = false;
        if (this.rows.indexOf(row) === -1) return Promise.resolve();
        var rev = row.rev;
        var body = this.payload(row);
        this.say(strings.saving);
        return common.post(config.urls.save, { id: row.id, row: body }).then(function (result) {
          var data = result.data || {};
          if (result.ok) {
            row.failed = false;
            row.errors = {};
            row.message = "";
            row.savedRev = rev;
            self.adoptTable(data.rows || []);
            self.say(strings.saved);
            self.written();
            return;
          }
          if (result.status === 404 || result.status === 409) {
            self.say(data.message || strings.offline, true);
            if (data.rows) self.adoptTable(data.rows);
            return;
          }
          row.failed = true;
          row.errors = data.errors || {};
          row.message = data.message || "";
          self.say(format(strings.notSaved, { number: self.rows.indexOf(row) + 1 }), true);
        });
      },

      addRow: function () {
        var self = this;
        this.enqueue(function () {
          return common.post(config.urls.add, {}).then(function (result) {
            var data = result.data || {};
            if (!result.ok) {
              self.say(data.message || strings.offline, true);
              return;
            }
            self.adoptTable(data.rows);
            self.say(strings.added);
            self.written();
            var row = self.rowById(data.added);
            if (!row) return;
            self.$nextTick(function () {
              var input = document.getElementById(self.cellId(row, "name_zh"));
              if (input) {
                input.scrollIntoView({ block: "center" });
                input.focus();
              }
            });
          });
        });
      },

      deleteRow: function (row, index) {
        var name = row.values.name_zh || row.values.name_en || format(strings.unnamed, { number: index + 1 });
        if (config.language.indexOf("en") === 0 && row.values.name_en) name = row.values.name_en;
        if (!window.confirm(format(strings.deleteConfirm, { number: index + 1, name: name }))) return;
        var self = this;
        this.enqueue(function () {
          var url = config.urls["delete"].replace("/0/", "/" + row.id + "/");
          return common.post(url, {}).then(function (result) {
            var data = result.data || {};
            if (data.rows) self.adoptTable(data.rows);
            self.say(result.ok ? strings.deleted : data.message || strings.offline, !result.ok);
            if (result.ok) self.written();
            self.$nextTick(function () {
              var next = self.rows[Math.min(index, self.rows.length - 1)];
              var target = next && document.querySelector('[data-row-id="' + next.id + '"] [data-action="delete-row"]');
              if (target) target.focus();
            });
          });
        });
      },

      // Move ``row`` one place up (``delta`` -1) or down (1), and keep the focus on its arrow.
      moveRow: function (row, delta) {
        var from = this.rows.indexOf(row);
        var to = from + delta;
        if (from === -1 || to < 0 || to >= this.rows.length) return;
        this.rows.splice(to, 0, this.rows.splice(from, 1)[0]);
        this.saveOrder(row);
        var self = this;
        this.$nextTick(function () {
          var place = self.rows.indexOf(row);
          var action = delta < 0 && place > 0 ? "move-up" : delta > 0 && place < self.rows.length - 1 ? "move-down" : delta < 0 ? "move-down" : "move-up";
          var button = document.querySelector('[data-row-id="' + row.id + '"] [data-action="' + action + '"]');
          if (button) button.focus();
        });
      },

      saveOrder: function (moved) {
        var self = this;
        this.enqueue(function () {
          var order = self.rows.map(function (row) { return row.id; });
          return common.post(config.urls.reorder, { order: order }).then(function (result) {
            var data = result.data || {};
            if (data.rows) self.adoptTable(data.rows);
            if (!result.ok) {
              self.say(data.message || strings.offline, true);
              return;
            }
            self.say(format(strings.moved, { number: self.rows.indexOf(moved) + 1 }));
            self.written();
          });
        });
      },

      bindSortable: function () {
        if (!window.Sortable || !this.canEdit) return;
        var self = this;
        var list = this.$refs.rows;
        var home = null;
        window.Sortable.create(list, {
          animation: 150,
          handle: ".og-gt__handle",
          draggable: ".og-gt__row",
          forceFallback: true,
          fallbackTolerance: 4,
          // Dropped on the upper half of a row: before it; on the lower half: after it.
          invertSwap: true,
          onStart: function (event) {
            home = event.item.nextSibling;
          },
          onEnd: function (event) {
            var from = event.oldDraggableIndex;
            var to = event.newDraggableIndex;
            // Put the row back where Alpine rendered it; Alpine then moves it with the data.
            list.insertBefore(event.item, home);
            if (from === to || from === undefined || to === undefined) return;
            var row = self.rows[from];
            self.rows.splice(to, 0, self.rows.splice(from, 1)[0]);
            self.saveOrder(row);
          },
        });
      },

      // --- The tester ------------------------------------------------------------------------------

      probeErr: function (field) {
        var list = this.probeErrors[field];
        return list ? list.join(" ") : "";
      },

      probeRuleChanged: function () {
        if (this.probe.rule) this.probe.category = config.ruleCategories[this.probe.rule] || "";
        this.filledFrom = "";
      },

      search: function () {
        var self = this;
        var query = this.find.trim();
        if (!query) return;
        this.findMessage = strings.searching;
        var url = config.urls.exceptions + "?q=" + encodeURIComponent(query);
        fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (response) { return response.json(); })
          .then(function (data) {
            self.found = data.results || [];
            self.findMessage = self.found.length ? "" : strings.noneFound;
            // One exception found: it is the one meant, and the list would only repeat it.
            if (self.found.length === 1) {
              self.pick(self.found[0]);
              self.found = [];
            }
          })
          .catch(function () { self.findMessage = strings.offline; });
      },

      pick: function (item) {
        var facts = item.facts;
        this.probe = {
          rule: facts.rule,
          category: facts.category,
          channel: facts.channel,
          amount: facts.amount,
          tags: facts.tags,
          time: facts.time,
        };
        var self = this;
        this.test().then(function () {
          self.filledFrom = format(strings.filledFrom, { label: item.label });
        });
      },

      test: function () {
        var self = this;
        this.filledFrom = "";
        var body = {
          rule: this.probe.rule,
          category: this.probe.category,
          channel: this.probe.channel,
          amount: filled(this.probe.amount) ? String(this.probe.amount).trim() : null,
          tags: this.probe.tags,
          time: this.probe.time || null,
        };
        // After the writes waiting, so that the answer is about the table as it will be stored.
        return queue.then(function () {
          return common.post(config.urls.test, body);
        }).then(function (result) {
          var data = result.data || {};
          if (!result.ok) {
            self.probeErrors = data.errors || {};
            return;
          }
          self.probeErrors = {};
          self.verdict = data;
          self.verdictHtml = data.html;
          self.$nextTick(function () {
            var matched = data.matched && document.querySelector('[data-row-id="' + data.matched + '"]');
            if (matched && window.matchMedia && !window.matchMedia("(max-width: 40rem)").matches) {
              matched.scrollIntoView({ block: "nearest" });
            }
          });
        }).catch(function () {
          self.say(strings.offline, true);
        });
      },

      // A test on screen follows the table: after each change it is asked again.
      // After each write the table stored: the tester answers again for the table as it is now,
      // and the history below re-fetches (htmx listens for "og-grading-saved").
      written: function () {
        if (this.verdict) this.test();
        document.body.dispatchEvent(new CustomEvent("og-grading-saved"));
      },

      clearTest: function () {
        this.verdict = null;
        this.verdictHtml = "";
        this.filledFrom = "";
      },

      verdictOf: function (row) {
        var entry = this.verdict && this.verdict.rows[String(row.id)];
        return entry ? entry.verdict : "";
      },

      verdictWords: function (row) {
        var entry = this.verdict && this.verdict.rows[String(row.id)];
        return entry ? entry.words : "";
      },

      verdictReasons: function (row) {
        var entry = this.verdict && this.verdict.rows[String(row.id)];
        return entry ? entry.reasons : "";
      },
    };
  }

  document.addEventListener("alpine:init", function () {
    window.Alpine.data("gradingEditor", editor);
  });
})();
