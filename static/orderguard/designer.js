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
 * The checking, saving and publishing: static/orderguard/designer-common.js.
 * Drag and drop: SortableJS (static/vendor/sortablejs), palette to list and within the list.
 */
(function () {
  "use strict";

  var common = window.OrderGuardDesigner;
  var MAX_KEY = common.MAX_KEY;
  var has = common.has;
  var text = common.text;
  var filled = common.filled;
  var format = common.format;

  function uid() {
    return common.uid("og");
  }

  // A key from an English label: "Invoice title" -> "invoice_title".
  function slug(label) {
    return common.slug(label, "f");
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

    return common.component(config, { list: "fields", savedEvent: "og-form-saved" }, {
      name: text(config.document.name),
      fields: [],
      selectedId: null,
      previewLanguage: config.language,
      previewStale: false,

      init: function () {
        var self = this;
        this.fields = (config.document.fields || []).map(function (raw) { return self.loadField(raw); });
        this.startEditing(["fields", "name"]);
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
        this.removePart(field, this.fieldName(field));
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

      goTo: function (problem) {
        var field = this.fields[problem.index];
        if (field) this.selectedId = field._id;
      },

      // --- Talking to the server -----------------------------------------------------------------

      // The preview is rendered in the language chosen for it; problems are in the page's.
      checkBody: function () {
        return { document: this.documentJson(), language: this.previewLanguage };
      },

      checked: function (result) {
        this.previewStale = !result.ok;
        if (result.ok) this.showPreview(result.data.html);
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
        this.adopted();
      },

      // --- Drag and drop -------------------------------------------------------------------------

      bindSortable: function () {
        if (!window.Sortable || !this.canEdit) return;
        var self = this;
        var list = this.$refs.fieldList;
        var drag = { animation: 150, forceFallback: true, fallbackTolerance: 4, delayOnTouchOnly: true, delay: 120 };
        window.Sortable.create(
          this.$refs.palette,
          Object.assign({}, drag, {
            group: { name: "og-form-fields", pull: "clone", put: false },
            sort: false,
            draggable: "[data-type]",
          }),
        );
        var home = null;
        window.Sortable.create(
          list,
          Object.assign({}, drag, {
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
    });
  }

  document.addEventListener("alpine:init", function () {
    window.Alpine.data("formDesigner", designer);
  });
})();
