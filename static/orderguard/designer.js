/* The form designer (templates/formdesigner/designer.html): an Alpine.js component.
 *
 * It holds only what is being edited: the fields as the person arranges them, which one is
 * selected, and what the server last said. The server does the rest: every change is sent
 * (debounced) to the check endpoint, which answers the problems by path ("fields.3.key") or
 * the preview rendered by the same Django form staff will use; "Save draft" stores the
 * document through the service the configuration API uses; "Publish" saves, then publishes.
 * Problems are shown at the field and the input they concern, never as paths.
 *
 * Configuration: the JSON script element #og-designer-config (apps/formdesigner/views.py).
 * Drag and drop: SortableJS (static/vendor/sortablejs), palette to list and within the list.
 */
(function () {
  "use strict";

  var CHECK_DELAY = 350;
  var MAX_KEY = 40;
  var nextUid = 0;

  function uid() {
    nextUid += 1;
    return "og" + nextUid;
  }

  function has(list, item) {
    return list.indexOf(item) !== -1;
  }

  function text(value) {
    return { "zh-hans": (value && value["zh-hans"]) || "", en: (value && value.en) || "" };
  }

  function filled(value) {
    return value !== undefined && value !== null && String(value).trim() !== "";
  }

  function format(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (match, name) {
      return name in values ? values[name] : match;
    });
  }

  // A key from an English label: "Invoice title" -> "invoice_title".
  function slug(label) {
    var base = (label || "")
      .normalize("NFKD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "_")
      .replace(/^_+|_+$/g, "");
    if (base && !/^[a-z]/.test(base)) base = "f_" + base;
    return base.slice(0, MAX_KEY).replace(/_+$/, "");
  }

  // Whole numbers travel as numbers; anything else is sent as typed, for the server to refuse.
  function whole(value) {
    var raw = String(value).trim();
    return /^-?\d+$/.test(raw) ? parseInt(raw, 10) : raw;
  }

  function localOffset() {
    var minutes = -new Date().getTimezoneOffset();
    var sign = minutes >= 0 ? "+" : "-";
    minutes = Math.abs(minutes);
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return sign + pad(Math.floor(minutes / 60)) + ":" + pad(minutes % 60);
  }

  function designer() {
    var config = JSON.parse(document.getElementById("og-designer-config").textContent);

    return {
      config: config,
      canEdit: config.canEdit,
      name: text(config.document.name),
      fields: [],
      selectedId: null,
      errors: {},
      revision: 0,
      savedRevision: 0,
      checkedRevision: 0,
      saving: false,
      publishing: false,
      failed: false,
      offline: false,
      hasUnpublished: config.hasUnpublished,
      note: "",
      previewLanguage: config.language,
      previewStale: false,
      notice: "",
      _timer: null,
      _sequence: 0,

      init: function () {
        var self = this;
        this.fields = (config.document.fields || []).map(function (raw) { return self.loadField(raw); });
        this.$watch("fields", function () { self.changed(); });
        this.$watch("name", function () { self.changed(); });
        this.$nextTick(function () {
          self.bindSortable();
          self.check();
        });
        window.addEventListener("beforeunload", function (event) {
          if (self.dirty && !self.publishing) {
            event.preventDefault();
            event.returnValue = config.strings.leave;
          }
        });
      },

      // --- The document: loaded into editable fields, and back --------------------------------

      loadField: function (raw) {
        var type = raw.type;
        var field = {
          _id: uid(),
          _autoKey: false,
          key: raw.key || "",
          type: type,
          label: text(raw.label),
          help: text(raw.help),
          required: raw.required === true,
          default: this.editDefault(type, raw.default),
          min: filled(raw.min) ? String(raw.min) : "",
          max: filled(raw.max) ? String(raw.max) : "",
          min_length: filled(raw.min_length) ? String(raw.min_length) : "",
          max_length: filled(raw.max_length) ? String(raw.max_length) : "",
          pattern: raw.pattern || "",
          decimal_places: filled(raw.decimal_places) ? String(raw.decimal_places) : "",
          choices: (raw.choices || []).map(function (option) {
            return { _id: uid(), _autoValue: false, value: option.value || "", label: text(option.label) };
          }),
          visible_when: null,
        };
        if (raw.visible_when) {
          var value = raw.visible_when.value;
          field.visible_when = {
            field: raw.visible_when.field || "",
            op: raw.visible_when.op || "filled",
            value: Array.isArray(value) ? value.slice() : value === true ? "true" : value === false ? "false" : value === undefined || value === null ? "" : String(value),
          };
        }
        return field;
      },

      editDefault: function (type, value) {
        if (type === "multichoice") return Array.isArray(value) ? value.slice() : [];
        if (value === true) return "true";
        if (value === false) return "false";
        if (value === undefined || value === null) return "";
        if (type === "datetime") return String(value).slice(0, 19);
        return String(value);
      },

      documentField: function (field) {
        var type = field.type;
        var out = { key: field.key.trim(), type: type, label: text(field.label) };
        if (field.help["zh-hans"].trim() || field.help.en.trim()) out.help = text(field.help);
        if (field.required) out.required = true;
        var fallback = this.defaultValue(field);
        if (fallback !== undefined) out.default = fallback;
        if (has(config.numberTypes, type)) {
          ["min", "max"].forEach(function (name) {
            if (filled(field[name])) out[name] = type === "integer" ? whole(field[name]) : String(field[name]).trim();
          });
        }
        if (type === "decimal" && filled(field.decimal_places)) out.decimal_places = whole(field.decimal_places);
        if (has(config.lengthTypes, type)) {
          ["min_length", "max_length"].forEach(function (name) {
            if (filled(field[name])) out[name] = whole(field[name]);
          });
          if (filled(field.pattern)) out.pattern = field.pattern;
        }
        if (has(config.choiceTypes, type)) {
          out.choices = field.choices.map(function (option) {
            return { value: option.value.trim(), label: text(option.label) };
          });
        }
        if (field.visible_when) out.visible_when = this.documentCondition(field.visible_when);
        return out;
      },

      defaultValue: function (field) {
        var value = field.default;
        var type = field.type;
        if (type === "multichoice") return Array.isArray(value) && value.length ? value.slice() : undefined;
        if (!filled(value)) return undefined;
        if (type === "boolean") return value === "true" ? true : value === "false" ? false : value;
        if (type === "integer") return whole(value);
        if (type === "datetime") {
          var moment = String(value);
          if (/^\d{4}-\d\d-\d\dT\d\d:\d\d$/.test(moment)) moment += ":00";
          return /[zZ]|[+-]\d\d:\d\d$/.test(moment) ? moment : moment + localOffset();
        }
        return String(value);
      },

      documentCondition: function (condition) {
        var out = { field: condition.field, op: condition.op };
        if (condition.op === "filled") return out;
        var target = this.fieldByKey(condition.field);
        var value = condition.value;
        if (condition.op === "in") {
          out.value = Array.isArray(value) ? value.slice() : filled(value) ? [value] : [];
        } else if (target && target.type === "boolean") {
          out.value = value === "true" ? true : value === "false" ? false : value;
        } else if (target && target.type === "integer") {
          out.value = whole(value);
        } else {
          out.value = Array.isArray(value) ? value[0] || "" : value;
        }
        return out;
      },

      documentJson: function () {
        var self = this;
        return {
          key: config.document.key,
          kind: config.document.kind,
          name: text(this.name),
          fields: this.fields.map(function (field) { return self.documentField(field); }),
        };
      },

      // --- Edits ---------------------------------------------------------------------------------

      get selected() {
        var id = this.selectedId;
        return this.fields.find(function (field) { return field._id === id; }) || null;
      },

      get selectedIndex() {
        var id = this.selectedId;
        return this.fields.findIndex(function (field) { return field._id === id; });
      },

      get dirty() {
        return this.revision !== this.savedRevision;
      },

      changed: function () {
        this.revision += 1;
        this.notice = "";
        var self = this;
        clearTimeout(this._timer);
        this._timer = setTimeout(function () { self.check(); }, CHECK_DELAY);
      },

      select: function (id) {
        this.selectedId = id;
      },

      fieldByKey: function (key) {
        return this.fields.find(function (field) { return field.key === key; }) || null;
      },

      uniqueKey: function (base, own) {
        base = base || "field";
        var taken = function (candidate) {
          return this.fields.some(function (field) { return field !== own && field.key === candidate; });
        }.bind(this);
        var candidate = base;
        for (var n = 2; taken(candidate); n += 1) {
          var suffix = "_" + n;
          candidate = base.slice(0, MAX_KEY - suffix.length) + suffix;
        }
        return candidate;
      },

      newField: function (type) {
        var names = config.types[type].names;
        var field = this.loadField({ key: "", type: type, label: names });
        field._autoKey = true;
        field.key = this.uniqueKey(slug(names.en) || type, field);
        if (has(config.choiceTypes, type)) field.choices = [this.newOption(field, 1), this.newOption(field, 2)];
        return field;
      },

      newOption: function (field, number) {
        var names = config.optionName;
        var label = {
          "zh-hans": format(names["zh-hans"], { number: number }),
          en: format(names.en, { number: number }),
        };
        var option = { _id: uid(), _autoValue: true, value: "", label: label };
        option.value = this.uniqueValue(field, slug(label.en) || "option", option);
        return option;
      },

      uniqueValue: function (field, base, own) {
        var options = field.choices || [];
        var candidate = base;
        for (var n = 2; options.some(function (option) { return option !== own && option.value === candidate; }); n += 1) {
          candidate = base + "_" + n;
        }
        return candidate;
      },

      addField: function (type, index) {
        if (!this.canEdit || !config.types[type]) return;
        var field = this.newField(type);
        if (index === undefined || index === null) {
          var selected = this.selectedIndex;
          index = selected === -1 ? this.fields.length : selected + 1;
        }
        this.fields.splice(index, 0, field);
        this.selectedId = field._id;
        var self = this;
        this.$nextTick(function () {
          var input = self.$root.querySelector("#og-prop-label-zh");
          if (input && window.matchMedia("(min-width: 64rem)").matches) input.focus();
          var row = self.$root.querySelector('[data-field-id="' + field._id + '"]');
          if (row && row.scrollIntoView) row.scrollIntoView({ block: "nearest" });
        });
      },

      paletteClick: function (event) {
        var item = event.target.closest("[data-type]");
        if (item) this.addField(item.dataset.type);
      },

      removeField: function (field) {
        var name = this.fieldName(field);
        if (!window.confirm(format(config.strings.removeConfirm, { name: name }))) return;
        var index = this.fields.indexOf(field);
        this.fields.splice(index, 1);
        var next = this.fields[Math.min(index, this.fields.length - 1)];
        this.selectedId = next ? next._id : null;
      },

      moveField: function (field, step) {
        var from = this.fields.indexOf(field);
        var to = from + step;
        if (from === -1 || to < 0 || to >= this.fields.length) return;
        this.fields.splice(to, 0, this.fields.splice(from, 1)[0]);
      },

      // The key follows the English label until the person types a key of their own.
      setEnglishLabel: function (field, value) {
        field.label.en = value;
        if (field._autoKey && slug(value)) this.setKey(field, this.uniqueKey(slug(value), field), true);
      },

      setKey: function (field, value, automatic) {
        var old = field.key;
        field.key = value;
        if (!automatic) field._autoKey = false;
        if (!old || old === value) return;
        // Conditions follow the field they test.
        this.fields.forEach(function (other) {
          if (other !== field && other.visible_when && other.visible_when.field === old) other.visible_when.field = value;
        });
      },

      typeChanged: function (field) {
        field.default = field.type === "multichoice" ? [] : "";
        if (has(config.choiceTypes, field.type) && !field.choices.length) {
          field.choices = [this.newOption(field, 1), this.newOption(field, 2)];
        }
        var self = this;
        this.fields.forEach(function (other) {
          if (other.visible_when && other.visible_when.field === field.key) self.conditionTargetChanged(other);
        });
      },

      // --- Options -------------------------------------------------------------------------------

      addOption: function (field) {
        field.choices.push(this.newOption(field, field.choices.length + 1));
      },

      removeOption: function (field, option) {
        field.choices.splice(field.choices.indexOf(option), 1);
      },

      moveOption: function (field, option, step) {
        var from = field.choices.indexOf(option);
        var to = from + step;
        if (to < 0 || to >= field.choices.length) return;
        field.choices.splice(to, 0, field.choices.splice(from, 1)[0]);
      },

      setOptionEnglish: function (field, option, value) {
        option.label.en = value;
        if (option._autoValue && slug(value)) option.value = this.uniqueValue(field, slug(value), option);
      },

      setOptionValue: function (option, value) {
        option.value = value;
        option._autoValue = false;
      },

      optionName: function (option) {
        return this.localized(option.label) || option.value;
      },

      // --- Visibility condition ---------------------------------------------------------------

      otherFields: function (field) {
        return this.fields.filter(function (other) { return other !== field && other.key; });
      },

      toggleCondition: function (field, on) {
        if (!on) {
          field.visible_when = null;
          return;
        }
        var others = this.otherFields(field);
        field.visible_when = { field: others.length ? others[0].key : "", op: "filled", value: "" };
        this.conditionTargetChanged(field);
      },

      conditionTarget: function (field) {
        return field.visible_when ? this.fieldByKey(field.visible_when.field) : null;
      },

      opsFor: function (target) {
        if (!target) return ["filled"];
        if (target.type === "multichoice") return ["filled"];
        if (target.type === "boolean") return ["eq", "filled"];
        if (target.type === "choice") return ["eq", "ne", "in", "filled"];
        return ["eq", "ne", "filled"];
      },

      conditionTargetChanged: function (field) {
        var target = this.conditionTarget(field);
        var ops = this.opsFor(target);
        var condition = field.visible_when;
        if (!has(ops, condition.op)) condition.op = ops[0];
        this.conditionOpChanged(field);
      },

      conditionOpChanged: function (field) {
        var target = this.conditionTarget(field);
        var condition = field.visible_when;
        if (condition.op === "filled") {
          condition.value = "";
        } else if (condition.op === "in") {
          condition.value = [];
        } else if (target && target.type === "boolean") {
          condition.value = "true";
        } else if (target && target.type === "choice") {
          condition.value = target.choices.length ? target.choices[0].value : "";
        } else {
          condition.value = "";
        }
      },

      conditionInputType: function (field) {
        var target = this.conditionTarget(field);
        var condition = field.visible_when;
        if (!target || condition.op === "filled") return "none";
        if (target.type === "boolean") return "boolean";
        if (target.type === "choice") return condition.op === "in" ? "options" : "option";
        if (has(config.numberTypes, target.type)) return "number";
        if (target.type === "date") return "date";
        return "text";
      },

      conditionSentence: function (field) {
        var condition = field.visible_when;
        if (!condition) return "";
        var target = this.fieldByKey(condition.field);
        var words = [target ? this.fieldName(target) : "—", config.ops[condition.op] || ""];
        if (condition.op !== "filled" && target) {
          var shown = Array.isArray(condition.value) ? condition.value : [condition.value];
          words.push(
            shown
              .map(function (value) {
                if (target.type === "boolean") return value === "true" ? config.strings.yes : config.strings.no;
                var option = (target.choices || []).find(function (item) { return item.value === value; });
                return option ? this.optionName(option) : value;
              }, this)
              .join(", "),
          );
        }
        return words.join(" ");
      },

      // --- Words ---------------------------------------------------------------------------------

      localized: function (value) {
        var zh = (value && value["zh-hans"]) || "";
        var en = (value && value.en) || "";
        return config.language.indexOf("en") === 0 ? en || zh : zh || en;
      },

      fieldName: function (field) {
        return this.localized(field.label) || field.key || config.types[field.type].label;
      },

      typeLabel: function (type) {
        return config.types[type] ? config.types[type].label : type;
      },

      // --- Problems, by path ---------------------------------------------------------------------

      msgs: function (path) {
        var index = this.selectedIndex;
        var list = this.errors["fields." + index + "." + path];
        return list ? list.join(" ") : "";
      },

      formMsgs: function (path) {
        var list = this.errors[path];
        return list ? list.join(" ") : "";
      },

      fieldProblem: function (index) {
        var prefix = "fields." + index;
        var found = "";
        Object.keys(this.errors).some(function (path) {
          if (path === prefix || path.indexOf(prefix + ".") === 0) {
            found = this.errors[path].join(" ");
            return true;
          }
          return false;
        }, this);
        return found;
      },

      // Where a problem is, in words: "Field 4 «Invoice title» · key".
      placeOf: function (path) {
        var parts = path.split(".");
        var strings = config.strings;
        if (parts[0] !== "fields" || parts.length < 2) {
          if (parts[0] === "name") {
            return strings.formName + (parts[1] ? " (" + config.languageNames[parts[1]] + ")" : "");
          }
          return strings.form;
        }
        var index = parseInt(parts[1], 10);
        var field = this.fields[index];
        var place = format(strings.field, { number: index + 1 });
        if (field) place += " «" + this.fieldName(field) + "»";
        var property = parts[2];
        if (!property) return place;
        var words = config.properties[property] || property;
        if (property === "choices" && parts[3] !== undefined) {
          words += " · " + format(strings.option, { number: parseInt(parts[3], 10) + 1 });
          if (parts[4]) words += " · " + (config.properties[parts[4]] || parts[4]);
          if (parts[5]) words += " (" + config.languageNames[parts[5]] + ")";
        } else if (parts[3] && config.languageNames[parts[3]]) {
          words += " (" + config.languageNames[parts[3]] + ")";
        }
        return place + " · " + words;
      },

      get problems() {
        var self = this;
        return Object.keys(this.errors).map(function (path) {
          var match = /^fields\.(\d+)/.exec(path);
          return {
            path: path,
            index: match ? parseInt(match[1], 10) : -1,
            place: self.placeOf(path),
            message: self.errors[path].join(" "),
          };
        });
      },

      get problemsTitle() {
        var count = this.problems.length;
        return format(count === 1 ? config.strings.problemsOne : config.strings.problemsMany, { count: count });
      },

      goTo: function (problem) {
        var field = this.fields[problem.index];
        if (field) this.selectedId = field._id;
      },

      // --- Talking to the server -----------------------------------------------------------------

      post: function (url, body) {
        var token = document.querySelector("[name=csrfmiddlewaretoken]");
        return fetch(url, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": token ? token.value : "" },
          body: JSON.stringify(body),
        }).then(function (response) {
          return response
            .json()
            .catch(function () { return {}; })
            .then(function (data) { return { ok: response.ok, status: response.status, data: data }; });
        });
      },

      check: function () {
        var self = this;
        var sequence = (this._sequence += 1);
        var revision = this.revision;
        return this.post(config.urls.check, { document: this.documentJson(), language: this.previewLanguage })
          .then(function (result) {
            if (sequence !== self._sequence) return;
            self.offline = false;
            self.checkedRevision = revision;
            self.errors = result.ok ? {} : result.data.errors || {};
            self.previewStale = !result.ok;
            if (result.ok) self.showPreview(result.data.html);
          })
          .catch(function () {
            if (sequence === self._sequence) self.offline = true;
          });
      },

      showPreview: function (html) {
        var pane = this.$refs.preview;
        if (!pane) return;
        pane.innerHTML = html;
        if (window.OrderGuardForms) window.OrderGuardForms.bindAll(pane);
      },

      setPreviewLanguage: function (language) {
        this.previewLanguage = language;
        this.check();
      },

      get checking() {
        return this.checkedRevision !== this.revision;
      },

      get hasProblems() {
        return Object.keys(this.errors).length > 0;
      },

      get canPublish() {
        return (
          this.canEdit &&
          !this.saving &&
          !this.publishing &&
          !this.checking &&
          !this.hasProblems &&
          (this.dirty || this.hasUnpublished)
        );
      },

      get status() {
        var strings = this.config.strings;
        if (this.offline) return strings.offline;
        if (this.publishing) return strings.publishing;
        if (this.saving) return strings.saving;
        if (this.notice) return this.notice;
        if (this.failed && this.dirty) return strings.notSaved;
        if (this.dirty) return strings.unsaved;
        return this.revision ? strings.saved : "";
      },

      save: function () {
        var self = this;
        if (!this.canEdit || this.saving) return Promise.resolve(false);
        this.saving = true;
        var revision = this.revision;
        return this.post(config.urls.save, { document: this.documentJson() })
          .then(function (result) {
            self.saving = false;
            self.offline = false;
            if (!result.ok) {
              self.failed = true;
              self.errors = result.data.errors || {};
              return false;
            }
            self.failed = false;
            self.hasUnpublished = result.data.has_unpublished_changes;
            if (self.revision === revision) {
              self.adopt(result.data.document);
              self.revision = revision;
              self.checkedRevision = revision;
            }
            self.savedRevision = revision;
            document.body.dispatchEvent(new CustomEvent("og-form-saved"));
            return true;
          })
          .catch(function () {
            self.saving = false;
            self.offline = true;
            return false;
          });
      },

      // The draft as the server stored it (labels trimmed, limits as numbers), keeping what the
      // screen knows about each field: the server keeps the fields and options in their order.
      adopt: function (document) {
        var self = this;
        var fields = (document.fields || []).map(function (raw, index) {
          var field = self.loadField(raw);
          var before = self.fields[index];
          if (before) {
            field._id = before._id;
            field._autoKey = before._autoKey;
            field.choices.forEach(function (option, position) {
              var old = before.choices[position];
              if (old) {
                option._id = old._id;
                option._autoValue = old._autoValue;
              }
            });
          }
          return field;
        });
        this.name = text(document.name);
        this.fields = fields;
        // The watchers see the adopted draft as a change; it is the saved state.
        var revision = this.revision;
        this.$nextTick(function () {
          if (self.revision > revision) {
            self.revision = revision;
            self.savedRevision = revision;
            self.checkedRevision = revision;
            clearTimeout(self._timer);
          }
        });
      },

      publish: function () {
        var self = this;
        if (!this.canPublish) return;
        var saved = this.dirty ? this.save() : Promise.resolve(true);
        saved.then(function (ok) {
          if (!ok) return;
          self.publishing = true;
          self.post(config.urls.publish, { note: self.note })
            .then(function (result) {
              if (result.ok) {
                // The server's message says which version applies now.
                window.location.reload();
                return;
              }
              self.publishing = false;
              self.notice = result.data.message || "";
              if (result.data.code === "nothing_to_publish") {
                self.hasUnpublished = false;
              } else {
                self.errors = result.data.errors || {};
              }
            })
            .catch(function () {
              self.publishing = false;
              self.offline = true;
            });
        });
      },

      // --- Drag and drop -------------------------------------------------------------------------

      bindSortable: function () {
        if (!window.Sortable || !this.canEdit) return;
        var self = this;
        var list = this.$refs.fieldList;
        var common = { animation: 150, forceFallback: true, fallbackTolerance: 4, delayOnTouchOnly: true, delay: 120 };
        window.Sortable.create(
          this.$refs.palette,
          Object.assign({}, common, {
            group: { name: "og-form-fields", pull: "clone", put: false },
            sort: false,
            draggable: "[data-type]",
          }),
        );
        var home = null;
        window.Sortable.create(
          list,
          Object.assign({}, common, {
            group: { name: "og-form-fields", pull: false, put: true },
            // Dropped on the upper half of a field: before it; on the lower half: after it.
            invertSwap: true,
            draggable: "[data-field-id], [data-type]",
            onStart: function (event) {
              home = event.item.nextSibling;
            },
            onEnd: function (event) {
              if (event.from !== list || event.to !== list) return;
              var from = event.oldDraggableIndex;
              var to = event.newDraggableIndex;
              // Put the row back where Alpine rendered it; Alpine then moves it with the data.
              list.insertBefore(event.item, home);
              if (from !== to) self.fields.splice(to, 0, self.fields.splice(from, 1)[0]);
            },
            onAdd: function (event) {
              var index = 0;
              for (var node = event.item.previousElementSibling; node; node = node.previousElementSibling) {
                if (node.hasAttribute("data-field-id")) index += 1;
              }
              var type = event.item.dataset.type;
              event.item.remove();
              self.addField(type, index);
            },
          }),
        );
      },
    };
  }

  document.addEventListener("alpine:init", function () {
    window.Alpine.data("formDesigner", designer);
  });
})();
