/* The rule builder (apps/rules/templates/rules/builder.html): an Alpine.js component.
 *
 * It holds only what is being edited: the rule's names and properties, its condition as a tree
 * of groups (all / any), "not" blocks, collection blocks ("at least one order line where …")
 * and conditions (field, comparison, value), and its parameters; plus what the server last said.
 * Every change is sent (debounced) to the check endpoint, which answers the problems by path
 * ("condition.all.1.field", "params.window") in the page's language and the condition read back
 * as a sentence; a problem is shown at the condition, the group or the parameter it concerns,
 * never as a path. "Save" stores the rule through the service the API uses. "Test now" and
 * "Back-test" ask the server about the condition as edited, saved or not.
 *
 * The tree is drawn as a flat list of rows (Alpine has no recursive templates): a group's header,
 * its children one level deeper, and a row to add to it. Values are kept as the rule language
 * writes them (JSON); the inputs show them in a person's terms (a duration as an amount and a
 * unit, a time in the browser's time zone, options by their labels) and write them back.
 *
 * Configuration: the JSON script element #og-rule-builder-config (apps/rules/views.py).
 * The checking and saving: static/orderguard/designer-common.js. The chart: ECharts.
 */
(function () {
  "use strict";

  var common = window.OrderGuardDesigner;
  var format = common.format;
  var GROUPS = ["all", "any"];
  var DURATION = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;
  var PARAM_NAME = /^[a-z][a-z0-9_]{0,39}$/;
  var POLL_MS = 700;
  var LIST_OPS = ["in", "not_in"];
  var AGO_OPS = ["older_than", "newer_than"];
  var TEXT_OPS = ["contains", "startswith", "matches"];

  function uid() {
    return common.uid("rb");
  }

  function isObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  // {"field": …} or {"param": …}: a value that names another field or a parameter.
  function isRef(value, key) {
    return isObject(value) && Object.keys(value).length === 1 && key in value;
  }

  function clone(value) {
    return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
  }

  // The first problem of a refusal as a person reads it (the problems by path carry no path).
  function firstProblem(data) {
    var errors = (data && data.errors) || {};
    var first = Object.keys(errors)[0];
    return first ? errors[first][0] : (data && data.message) || "";
  }

  function has(list, item) {
    return list.indexOf(item) !== -1;
  }

  function pad(number) {
    return (number < 10 ? "0" : "") + number;
  }

  // --- Durations: "90m" <-> {amount: "90", unit: "m"} ---------------------------------------------

  function splitDuration(text) {
    if (typeof text !== "string") return null;
    var single = /^(\d+)([mhd])$/.exec(text.trim());
    if (single) return { amount: single[1], unit: single[2] };
    var match = DURATION.exec(text.trim());
    if (!text.trim() || !match) return null;
    var minutes = (parseInt(match[1] || 0, 10) * 24 + parseInt(match[2] || 0, 10)) * 60 + parseInt(match[3] || 0, 10);
    if (minutes % 1440 === 0 && minutes) return { amount: String(minutes / 1440), unit: "d" };
    if (minutes % 60 === 0 && minutes) return { amount: String(minutes / 60), unit: "h" };
    return { amount: String(minutes), unit: "m" };
  }

  function isDuration(value) {
    return typeof value === "string" && splitDuration(value) !== null;
  }

  // The fields whose value is one option of a list: a choice, or an option of a multiple choice.
  function hasOptions(field) {
    return field.type === "enum" || field.type === "set";
  }

  // --- Times: ISO 8601 with an offset <-> a datetime-local input's value --------------------------

  function toLocal(iso) {
    if (typeof iso !== "string" || !iso) return "";
    var date = new Date(iso);
    if (isNaN(date.getTime())) return "";
    var text = date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) +
      "T" + pad(date.getHours()) + ":" + pad(date.getMinutes());
    return date.getSeconds() ? text + ":" + pad(date.getSeconds()) : text;
  }

  function fromLocal(local) {
    if (!local) return "";
    var date = new Date(local);
    if (isNaN(date.getTime())) return local;
    var offset = -date.getTimezoneOffset();
    var sign = offset >= 0 ? "+" : "-";
    offset = Math.abs(offset);
    var seconds = local.length > 16 ? local : local + ":00";
    return seconds + sign + pad(Math.floor(offset / 60)) + ":" + pad(offset % 60);
  }

  // --- The tree: loaded from the rule language's JSON, and back -----------------------------------

  function collectionOf(raw, collections) {
    return Object.keys(collections).find(function (key) { return key in raw; }) || null;
  }

  function load(raw, collections) {
    if (!isObject(raw)) return { _id: uid(), type: "raw", raw: clone(raw) };
    var keys = Object.keys(raw);
    var kind = GROUPS.find(function (group) { return group in raw; });
    if (kind && keys.length === 1 && Array.isArray(raw[kind])) {
      return {
        _id: uid(),
        type: "group",
        kind: kind,
        children: raw[kind].map(function (child) { return load(child, collections); }),
      };
    }
    if ("not" in raw && keys.length === 1) {
      return { _id: uid(), type: "not", child: raw.not === null ? null : load(raw.not, collections) };
    }
    var collection = collectionOf(raw, collections);
    if (collection && keys.length === 2 && "where" in raw) {
      return {
        _id: uid(),
        type: "each",
        collection: collection,
        quantifier: raw[collection],
        child: raw.where === null ? null : load(raw.where, collections),
      };
    }
    if ("field" in raw && keys.every(function (key) { return has(["field", "op", "value"], key); })) {
      return { _id: uid(), type: "leaf", field: raw.field, op: raw.op, value: clone(raw.value), _units: {} };
    }
    return { _id: uid(), type: "raw", raw: clone(raw) };
  }

  function dump(node) {
    if (!node) return {};
    if (node.type === "group") {
      var out = {};
      out[node.kind] = node.children.map(dump);
      return out;
    }
    if (node.type === "not") return { not: node.child ? dump(node.child) : {} };
    if (node.type === "each") {
      var each = {};
      each[node.collection] = node.quantifier;
      each.where = node.child ? dump(node.child) : {};
      return each;
    }
    if (node.type === "leaf") {
      var leaf = { field: node.field, op: node.op };
      if (node.value !== undefined) leaf.value = clone(node.value);
      return leaf;
    }
    return clone(node.raw);
  }

  function builder() {
    var config = JSON.parse(document.getElementById("og-rule-builder-config").textContent);
    var catalogue = config.catalogue;
    var strings = config.strings;
    var doc = config.document;
    // The component's element, kept here: after an edit, the element that called may be gone.
    var rootElement = null;

    function root() {
      return rootElement || document.querySelector(".og-rb");
    }

    // The fields of each scope by name, with the group they are listed in.
    var index = {};
    Object.keys(catalogue.scopes).forEach(function (scope) {
      index[scope] = {};
      catalogue.scopes[scope].groups.forEach(function (group) {
        group.fields.forEach(function (field) { index[scope][field.name] = field; });
      });
    });

    function def(scope, name) {
      return (index[scope] && index[scope][name]) || null;
    }

    function opsOf(field) {
      if (!field) return [];
      return (catalogue.opsByType[field.type] || []).concat(field.verdicts);
    }

    function isUnary(op) {
      return has(catalogue.unary, op);
    }

    function defaultLiteral(field) {
      switch (field.type) {
        case "enum":
        case "set":
          return field.choices.length ? field.choices[0].value : "";
        case "decimal":
          return "0";
        case "integer":
          return 0;
        case "boolean":
          return true;
        case "datetime":
          return fromLocal(toLocal(new Date().toISOString()).slice(0, 16));
        case "date":
          return toLocal(new Date().toISOString()).slice(0, 10);
        case "age":
          return "1h";
        default:
          return "";
      }
    }

    function defaultValue(field, op) {
      if (isUnary(op)) return undefined;
      if (has(LIST_OPS, op)) return hasOptions(field) && field.choices.length ? [field.choices[0].value] : [];
      if (has(AGO_OPS, op)) return field.type === "date" ? "1d" : "1h";
      if (op === "between") return [defaultLiteral(field), defaultLiteral(field)];
      if (has(TEXT_OPS, op)) return field.type === "set" ? defaultLiteral(field) : "";
      return defaultLiteral(field);
    }

    function firstField(scope) {
      var groups = catalogue.scopes[scope].groups;
      return groups.length ? groups[0].fields[0] : null;
    }

    // A new condition on the first field of ``scope``, already one the language accepts.
    function newLeaf(scope) {
      var field = firstField(scope);
      var op = field.type === "enum" ? "eq" : opsOf(field)[0];
      return { _id: uid(), type: "leaf", field: field.name, op: op, value: defaultValue(field, op), _units: {} };
    }

    return common.component(config, { list: "rows", savedEvent: "og-rule-saved" }, {
      name: common.text(doc.name),
      description: doc.description || "",
      category: doc.category,
      severity: doc.severity,
      isActive: !!doc.is_active,
      version: config.version,
      tree: null,
      params: [],
      sentences: {},
      selectedId: null,
      adding: null,
      newParam: { name: "", kind: "duration", error: "" },
      testing: false,
      testHtml: "",
      testError: "",
      days: 30,
      backtest: null,
      _chart: null,
      _poll: null,

      init: function () {
        rootElement = this.$el;
        this.adopt(config.document, true);
        this.sentences = {};
        this.startEditing(["tree", "params", "name", "description", "category", "severity", "isActive"]);
      },

      // --- The rule as a document: loaded, and back ---------------------------------------------

      adopt: function (document, first) {
        this.name = common.text(document.name);
        this.description = document.description || "";
        this.category = document.category;
        this.severity = document.severity;
        this.isActive = !!document.is_active;
        if (config.hasCondition) {
          this.tree = load(document.condition, catalogue.collections);
          var params = document.params || {};
          this.params = Object.keys(params).map(function (name) {
            return { _id: uid(), name: name, value: clone(params[name]), _units: {} };
          });
        }
        if (!first) this.adopted();
      },

      documentJson: function () {
        var out = {
          code: config.document.code,
          name: common.text(this.name),
          description: this.description,
          category: this.category,
          severity: this.severity,
          is_active: this.isActive,
        };
        if (config.hasCondition) {
          out.condition = this.conditionJson();
          out.params = this.paramsJson();
        } else {
          out.condition = {};
          out.params = {};
        }
        return out;
      },

      conditionJson: function () {
        return dump(this.tree);
      },

      paramsJson: function () {
        var out = {};
        this.params.forEach(function (param) { out[param.name] = clone(param.value); });
        return out;
      },

      // The save carries the version note (the shared plumbing posts the document alone).
      post: function (url, body) {
        if (url === config.urls.save) body = Object.assign({}, body, { note: this.note });
        var self = this;
        var sent = common.post(url, body);
        if (url === config.urls.save) {
          sent.then(function (result) {
            if (result.ok) {
              self.note = "";
              if (result.data.sentences) self.sentences = result.data.sentences;
              if (result.data.version) self.version = result.data.version;
            }
          });
        }
        return sent;
      },

      checked: function (result) {
        if (result.data && result.data.sentences) this.sentences = result.data.sentences;
      },

      bindSortable: function () {},

      get sentence() {
        var language = config.language.indexOf("en") === 0 ? "en" : "zh-hans";
        return this.sentences[language] || "";
      },

      // --- The rows the tree is drawn as --------------------------------------------------------

      get rows() {
        var rows = [];
        var counters = { leaf: 0, group: 0 };
        function walk(node, context) {
          var row = {
            key: node._id,
            type: node.type,
            node: node,
            depth: context.depth,
            path: context.path,
            scope: context.scope,
            parent: context.parent,
            index: context.index,
            join: context.join,
            number: 0,
          };
          if (node.type === "leaf") row.number = counters.leaf += 1;
          if (node.type === "group") row.number = counters.group += 1;
          rows.push(row);
          var inner = { depth: context.depth + 1, scope: context.scope, parent: node, index: 0, join: "" };
          if (node.type === "group") {
            node.children.forEach(function (child, position) {
              walk(child, Object.assign({}, inner, {
                path: context.path + "." + node.kind + "." + position,
                index: position,
                join: position ? strings[node.kind === "all" ? "and" : "or"] : "",
              }));
            });
            rows.push({ key: node._id + "-add", type: "add", owner: node, depth: context.depth + 1, scope: context.scope, path: context.path });
          } else if (node.type === "not" || node.type === "each") {
            var scope = node.type === "each" ? catalogue.collections[node.collection].scope : context.scope;
            var path = context.path + "." + (node.type === "not" ? "not" : "where");
            if (node.child) walk(node.child, Object.assign({}, inner, { path: path, scope: scope }));
            if (!node.child || node.child.type !== "group") {
              rows.push({ key: node._id + "-add", type: "add", owner: node, depth: context.depth + 1, scope: scope, path: path });
            }
          }
        }
        if (this.tree) walk(this.tree, { depth: 0, path: "condition", scope: "order", parent: null, index: 0, join: "" });
        if (!this.tree || this.tree.type !== "group") {
          rows.push({ key: "root-add", type: "add", owner: null, depth: 0, scope: "order", path: "condition" });
        }
        return rows;
      },

      rowOf: function (id) {
        return this.rows.find(function (row) { return row.node && row.node._id === id; }) || null;
      },

      indent: function (row) {
        return "--og-rb-depth:" + row.depth;
      },

      // --- Edits of the tree ---------------------------------------------------------------------

      newNode: function (what, scope) {
        if (what === "leaf") return newLeaf(scope);
        if (has(GROUPS, what)) return { _id: uid(), type: "group", kind: what, children: [newLeaf(scope)] };
        if (what === "not") return { _id: uid(), type: "not", child: newLeaf(scope) };
        var collection = catalogue.collections[what];
        return { _id: uid(), type: "each", collection: what, quantifier: "any", child: newLeaf(collection.scope) };
      },

      // The kinds of block that can be added at a row of ``scope``: collections at the order's level only.
      blockKinds: function (scope) {
        var kinds = [
          { what: "all", label: strings.all },
          { what: "any", label: strings.any },
          { what: "not", label: strings.not },
        ];
        if (scope === "order") {
          Object.keys(catalogue.collections).forEach(function (key) {
            kinds.push({ what: key, label: catalogue.collections[key].quantifiers.any });
          });
        }
        return kinds;
      },

      // Add ``what`` to ``owner`` (a group, a not or collection block, or null: the whole condition).
      // Where one condition stands alone, the two become a group of "all".
      add: function (row, what) {
        if (!this.canEdit) return;
        var node = this.newNode(what, row.scope);
        var owner = row.owner;
        if (owner && owner.type === "group") {
          owner.children.push(node);
        } else {
          var current = owner ? owner.child : this.tree;
          var next = current ? { _id: uid(), type: "group", kind: "all", children: [current, node] } : node;
          if (owner) owner.child = next;
          else this.tree = next;
        }
        this.adding = null;
        this.focusNode(node._id);
      },

      // The menu of blocks opens with its first choice focused; Escape closes it.
      toggleAdding: function (row) {
        this.adding = this.adding === row.key ? null : row.key;
        if (!this.adding) return;
        this.$nextTick(function () {
          var item = root().querySelector('[data-add-key="' + row.key + '"] .og-rb__add-menu button');
          if (item) item.focus();
        });
      },

      closeAdding: function (row) {
        this.adding = null;
        this.$nextTick(function () {
          var toggle = root().querySelector('[data-add-key="' + row.key + '"] [data-action="add-block"]');
          if (toggle) toggle.focus();
        });
      },

      // Replace ``node`` where it stands (in its parent, or as the whole condition) by ``next``.
      replace: function (row, next) {
        var parent = row.parent;
        if (!parent) this.tree = next;
        else if (parent.type === "group") {
          if (next) parent.children.splice(row.index, 1, next);
          else parent.children.splice(row.index, 1);
        } else parent.child = next;
      },

      remove: function (row) {
        if (!this.canEdit) return;
        var name = this.nodeName(row);
        if (row.type !== "leaf" && !window.confirm(format(strings.removeConfirm, { name: name }))) return;
        var focusAfter = row.parent ? row.parent._id : null;
        this.replace(row, null);
        if (focusAfter) this.focusNode(focusAfter);
      },

      // A "not" block goes; what it held stays.
      unwrap: function (row) {
        if (!this.canEdit) return;
        this.replace(row, row.node.child || null);
        if (row.node.child) this.focusNode(row.node.child._id);
      },

      negate: function (row) {
        if (!this.canEdit) return;
        var wrapper = { _id: uid(), type: "not", child: row.node };
        this.replace(row, wrapper);
        this.focusNode(row.node._id);
      },

      canMove: function (row, delta) {
        if (!row.parent || row.parent.type !== "group") return false;
        var to = row.index + delta;
        return to >= 0 && to < row.parent.children.length;
      },

      move: function (row, delta) {
        if (!this.canEdit || !this.canMove(row, delta)) return;
        var children = row.parent.children;
        children.splice(row.index + delta, 0, children.splice(row.index, 1)[0]);
        this.focusNode(row.node._id, delta < 0 ? "up" : "down");
      },

      setKind: function (node, kind) {
        node.kind = kind;
      },

      // After an edit that redraws rows, the keyboard stays where the person was.
      focusNode: function (id, action) {
        var self = this;
        this.$nextTick(function () {
          var row = root().querySelector('[data-node-id="' + id + '"]');
          if (!row) return;
          var target = action ? row.querySelector('[data-action="move-' + action + '"]') : null;
          if (!target || target.disabled) target = row.querySelector("select, input, button");
          if (target) target.focus();
        });
      },

      // --- A condition: field, comparison, value -------------------------------------------------

      fieldOf: function (row) {
        return def(row.scope, row.node.field);
      },

      // The field picker of a row: its scope's fields by object; at the order's level also the
      // fields of the collections, which make the condition one on the collection's rows.
      pickerGroups: function (row) {
        var groups = catalogue.scopes[row.scope].groups.map(function (group) {
          return {
            key: group.key,
            label: group.label,
            options: group.fields.map(function (field) {
              return { value: field.name, label: field.label, selected: field.name === row.node.field };
            }),
          };
        });
        var top = row.scope === "order";
        if (top) {
          Object.keys(catalogue.collections).forEach(function (key) {
            var collection = catalogue.collections[key];
            var fields = [];
            catalogue.scopes[collection.scope].groups.forEach(function (group) { fields = fields.concat(group.fields); });
            groups.push({
              key: key,
              label: collection.group,
              options: fields.map(function (field) {
                return { value: key + ":" + field.name, label: collection.item + " · " + field.label, selected: false };
              }),
            });
          });
        }
        return groups;
      },

      fieldKnown: function (row) {
        return !!this.fieldOf(row);
      },

      setField: function (row, value) {
        var leaf = row.node;
        var colon = value.indexOf(":");
        if (colon !== -1 && row.scope === "order") {
          // A field of a collection's rows: the condition becomes "at least one … where".
          var collection = value.slice(0, colon);
          var scope = catalogue.collections[collection].scope;
          var inner = newLeaf(scope);
          this.applyField(inner, def(scope, value.slice(colon + 1)));
          var each = { _id: uid(), type: "each", collection: collection, quantifier: "any", child: inner };
          this.replace(row, each);
          this.focusNode(inner._id);
          return;
        }
        this.applyField(leaf, def(row.scope, value));
      },

      // A new field keeps the comparison and the value where they still fit it.
      applyField: function (leaf, field) {
        if (!field) return;
        var old = leaf.field;
        leaf.field = field.name;
        var ops = opsOf(field);
        if (!has(ops, leaf.op)) leaf.op = field.type === "enum" || has(ops, "eq") ? "eq" : ops[0];
        var previous = old === field.name ? field : null;
        if (!previous) leaf.value = defaultValue(field, leaf.op);
      },

      opOptions: function (row) {
        var field = this.fieldOf(row);
        var words = catalogue.opWords;
        var typed = (field && catalogue.typeOpWords[field.type]) || {};
        return opsOf(field).map(function (op) {
          var label = typed[op] || words[op];
          return { value: op, label: label, selected: op === row.node.op };
        });
      },

      setOp: function (row, op) {
        var leaf = row.node;
        var field = this.fieldOf(row);
        var before = leaf.op;
        leaf.op = op;
        if (isUnary(op)) {
          leaf.value = undefined;
          return;
        }
        var value = leaf.value;
        var wasList = has(LIST_OPS, before);
        var isList = has(LIST_OPS, op);
        if (isList && !wasList) {
          leaf.value = value !== undefined && !isObject(value) && !Array.isArray(value) && value !== "" ? [value] : defaultValue(field, op);
        } else if (!isList && wasList) {
          leaf.value = Array.isArray(value) && value.length ? value[0] : defaultValue(field, op);
        } else if (op === "between" && !Array.isArray(value)) {
          leaf.value = [value === undefined || isRef(value, "param") ? defaultLiteral(field) : value, defaultLiteral(field)];
        } else if (op !== "between" && before === "between") {
          leaf.value = Array.isArray(value) ? value[0] : defaultValue(field, op);
        } else if (has(AGO_OPS, op) !== has(AGO_OPS, before) || has(TEXT_OPS, op) !== has(TEXT_OPS, before) || isUnary(before)) {
          leaf.value = defaultValue(field, op);
        }
      },

      // The value inputs of a condition: none, one, or two for "between".
      slots: function (row) {
        var leaf = row.node;
        if (!this.fieldOf(row) || isUnary(leaf.op)) return [];
        if (leaf.op === "between") return [this.leafSlot(row, 0), this.leafSlot(row, 1)];
        return [this.leafSlot(row, null)];
      },

      leafSlot: function (row, part) {
        var leaf = row.node;
        var field = this.fieldOf(row);
        var suffix = part === null ? "" : "." + part;
        return {
          key: leaf._id + "-" + (part === null ? "v" : part),
          id: "og-rb-" + leaf._id + "-value" + (part === null ? "" : "-" + part),
          path: row.path + ".value" + suffix,
          field: field,
          scope: row.scope,
          op: leaf.op,
          part: part,
          units: leaf._units,
          label: part === 1 ? strings.and_between : "",
          get: function () {
            return part === null ? leaf.value : (Array.isArray(leaf.value) ? leaf.value : [])[part];
          },
          set: function (value) {
            if (part === null) {
              leaf.value = value;
              return;
            }
            var pair = Array.isArray(leaf.value) ? leaf.value.slice() : [undefined, undefined];
            pair[part] = value;
            leaf.value = pair;
          },
        };
      },

      // What a value input shows: its own kind of input, or the choice of a field or a parameter.
      editor: function (slot) {
        var value = slot.get();
        if (isRef(value, "field")) return "field";
        if (isRef(value, "param")) return "param";
        var field = slot.field;
        if (has(LIST_OPS, slot.op)) return hasOptions(field) ? "choices" : "list";
        if (has(AGO_OPS, slot.op) || field.type === "age") return "duration";
        // A multiple choice "contains" one of its options.
        if (field.type === "set") return "choice";
        if (has(TEXT_OPS, slot.op)) return "text";
        return {
          string: "text",
          enum: "choice",
          decimal: "decimal",
          integer: "integer",
          datetime: "datetime",
          date: "date",
          boolean: "boolean",
        }[field.type] || "text";
      },

      // The fields a value can name: the same type, in the same scope, not itself.
      sameTypeFields: function (slot) {
        var field = slot.field;
        if (field.type === "age") return [];
        var out = [];
        catalogue.scopes[slot.scope].groups.forEach(function (group) {
          group.fields.forEach(function (other) {
            if (other.type === field.type && other.name !== field.name) out.push(other);
          });
        });
        return out;
      },

      // The parameters a value can be: lists for "is one of", durations for times ago, others else.
      fittingParams: function (slot) {
        var list = has(LIST_OPS, slot.op);
        var duration = has(AGO_OPS, slot.op) || slot.field.type === "age";
        return this.params.filter(function (param) {
          if (!param.name) return false;
          if (list) return Array.isArray(param.value);
          if (duration) return isDuration(param.value);
          return !Array.isArray(param.value);
        });
      },

      sources: function (slot) {
        if (!slot.field || slot.isParam || has(TEXT_OPS, slot.op)) return [];
        var out = [{ value: "value", label: strings.aValue }];
        var comparison = !has(LIST_OPS, slot.op) && !has(AGO_OPS, slot.op);
        if (comparison && this.sameTypeFields(slot).length) out.push({ value: "field", label: strings.anotherField });
        if (this.fittingParams(slot).length) out.push({ value: "param", label: strings.aParameter });
        return out.length > 1 ? out : [];
      },

      source: function (slot) {
        var value = slot.get();
        if (isRef(value, "field")) return "field";
        if (isRef(value, "param")) return "param";
        return "value";
      },

      setSource: function (slot, source) {
        if (source === "field") slot.set({ field: this.sameTypeFields(slot)[0].name });
        else if (source === "param") slot.set({ param: this.fittingParams(slot)[0].name });
        else {
          var op = slot.part === null ? slot.op : "eq";
          slot.set(defaultValue(slot.field, op));
        }
      },

      // --- Value inputs (conditions and parameters share them) -----------------------------------

      textOf: function (slot) {
        var value = slot.get();
        if (value === undefined || value === null || isObject(value) || Array.isArray(value)) return "";
        return String(value);
      },

      setText: function (slot, text) {
        slot.set(text);
      },

      // A whole number goes as a number; anything else as typed, for the checker to refuse.
      setInteger: function (slot, text) {
        var trimmed = text.trim();
        slot.set(/^-?\d{1,15}$/.test(trimmed) ? parseInt(trimmed, 10) : text);
      },

      // Decimals go as text ("0.01"), as the built-in rules write them.
      setDecimal: function (slot, text) {
        slot.set(text.trim());
      },

      boolOf: function (slot) {
        return slot.get() === false ? "false" : "true";
      },

      setBool: function (slot, text) {
        slot.set(text === "true");
      },

      localOf: function (slot) {
        return toLocal(slot.get());
      },

      setLocal: function (slot, local) {
        slot.set(fromLocal(local));
      },

      durationOf: function (slot) {
        var parts = splitDuration(slot.get());
        if (parts) return parts;
        var unit = slot.units[slot.key] || "h";
        var value = slot.get();
        return { amount: typeof value === "string" ? value.replace(/[mhd]$/, "") : "", unit: unit };
      },

      setDuration: function (slot, amount, unit) {
        slot.units[slot.key] = unit;
        var text = String(amount).trim();
        slot.set(text === "" ? "" : text + unit);
      },

      choiceChecked: function (slot, value) {
        var list = slot.get();
        return Array.isArray(list) && has(list, value);
      },

      toggleChoice: function (slot, value, checked) {
        var list = Array.isArray(slot.get()) ? slot.get().slice() : [];
        var at = list.indexOf(value);
        if (checked && at === -1) list.push(value);
        if (!checked && at !== -1) list.splice(at, 1);
        // Kept in the order the options are listed.
        var order = slot.field.choices.map(function (choice) { return choice.value; });
        list.sort(function (a, b) { return order.indexOf(a) - order.indexOf(b); });
        slot.set(list);
      },

      itemsOf: function (slot) {
        var list = slot.get();
        return Array.isArray(list) ? list : [];
      },

      addItem: function (slot, input) {
        var text = input.value.trim();
        if (!text) return;
        var list = this.itemsOf(slot).slice();
        var item = slot.field.type === "integer" && /^-?\d{1,15}$/.test(text) ? parseInt(text, 10) : text;
        if (!has(list, item)) list.push(item);
        slot.set(list);
        input.value = "";
        input.focus();
      },

      removeItem: function (slot, position) {
        var list = this.itemsOf(slot).slice();
        list.splice(position, 1);
        slot.set(list);
      },

      choiceLabel: function (field, value) {
        var choice = (field.choices || []).find(function (item) { return item.value === value; });
        return choice ? choice.label : String(value);
      },

      refField: function (slot) {
        var value = slot.get();
        return isRef(value, "field") ? value.field : "";
      },

      refParam: function (slot) {
        var value = slot.get();
        return isRef(value, "param") ? value.param : "";
      },

      // --- Parameters ----------------------------------------------------------------------------

      // Where the condition uses ``name``: the field and comparison that say what kind of value it is.
      paramUse: function (name) {
        var found = null;
        this.rows.forEach(function (row) {
          if (found || row.type !== "leaf") return;
          var field = def(row.scope, row.node.field);
          if (!field) return;
          var value = row.node.value;
          var values = row.node.op === "between" && Array.isArray(value) ? value : [value];
          if (values.some(function (item) { return isRef(item, "param") && item.param === name; })) {
            found = { field: field, op: row.node.op === "between" ? "eq" : row.node.op, scope: row.scope };
          }
        });
        return found;
      },

      // A parameter the condition does not use is read by its value: a list, a duration, a number, text.
      paramShape: function (value) {
        if (Array.isArray(value)) return { field: { type: "string", choices: [], unit: "" }, op: "in" };
        if (isDuration(value)) return { field: { type: "age", choices: [], unit: "" }, op: "gt" };
        if (typeof value === "boolean") return { field: { type: "boolean", choices: [], unit: "" }, op: "eq" };
        if (typeof value === "number" || (typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value))) {
          return { field: { type: "decimal", choices: [], unit: "" }, op: "eq" };
        }
        return { field: { type: "string", choices: [], unit: "" }, op: "eq" };
      },

      paramSlot: function (param) {
        var use = this.paramUse(param.name);
        var shape = use || this.paramShape(param.value);
        return {
          key: param._id,
          id: "og-rb-param-" + param._id,
          path: "params." + param.name,
          field: shape.field,
          scope: use ? use.scope : "order",
          op: shape.op,
          part: null,
          units: param._units,
          used: !!use,
          isParam: true,
          label: "",
          get: function () { return param.value; },
          set: function (value) { param.value = value; },
        };
      },

      addParam: function () {
        var name = this.newParam.name.trim();
        if (!PARAM_NAME.test(name)) {
          this.newParam.error = strings.paramBadName;
          return;
        }
        if (this.params.some(function (param) { return param.name === name; })) {
          this.newParam.error = strings.paramTaken;
          return;
        }
        var value = { duration: "1h", decimal: "0", text: "", list: [] }[this.newParam.kind];
        var param = { _id: uid(), name: name, value: value, _units: {} };
        this.params.push(param);
        this.newParam = { name: "", kind: this.newParam.kind, error: "" };
        var self = this;
        this.$nextTick(function () {
          var input = root().querySelector("#og-rb-param-" + param._id);
          if (input) input.focus();
        });
      },

      removeParam: function (param) {
        var at = this.params.indexOf(param);
        if (at !== -1) this.params.splice(at, 1);
      },

      // --- Problems, where they are --------------------------------------------------------------

      // The row a problem at ``path`` belongs to: the deepest one whose path leads to it.
      ownerOf: function (path) {
        var best = null;
        this.rows.forEach(function (row) {
          if (row.type === "add" || !row.node) return;
          if (path === row.path || path.indexOf(row.path + ".") === 0) {
            if (!best || row.path.length > best.path.length) best = row;
          }
        });
        return best;
      },

      rowMsgs: function (row) {
        var self = this;
        return Object.keys(this.errors)
          .filter(function (path) {
            var owner = self.ownerOf(path);
            return owner && owner.node._id === row.node._id;
          })
          .map(function (path) { return self.errors[path].join(" "); })
          .join(" ");
      },

      // Whether the problem is at this row's ``part`` (field, op, value, value.0, …).
      partInvalid: function (row, part) {
        var prefix = row.path + "." + part;
        var self = this;
        return Object.keys(this.errors).some(function (path) {
          if (path !== prefix && path.indexOf(prefix + ".") !== 0) return false;
          var owner = self.ownerOf(path);
          return owner && owner.node._id === row.node._id;
        });
      },

      slotInvalid: function (slot) {
        var self = this;
        return Object.keys(this.errors).some(function (path) {
          return path === slot.path || (path.indexOf(slot.path + ".") === 0 && self.ownerOf(path) === null) ||
            path.indexOf(slot.path + ".") === 0;
        });
      },

      paramMsgs: function (param) {
        var prefix = "params." + param.name;
        var self = this;
        return Object.keys(this.errors)
          .filter(function (path) { return path === prefix || path.indexOf(prefix + ".") === 0; })
          .map(function (path) { return self.errors[path].join(" "); })
          .join(" ");
      },

      get treeMsgs() {
        var self = this;
        return Object.keys(this.errors)
          .filter(function (path) { return (path === "condition" || path.indexOf("condition.") === 0) && !self.ownerOf(path); })
          .map(function (path) { return self.errors[path].join(" "); })
          .join(" ");
      },

      nodeName: function (row) {
        if (row.type === "leaf") {
          var field = this.fieldOf(row);
          return format(strings.condition, { number: row.number }) + (field ? " · " + field.label : "");
        }
        if (row.type === "group") return format(strings.group, { number: row.number });
        if (row.type === "each") return catalogue.collections[row.node.collection].group;
        if (row.type === "not") return strings.not;
        return config.properties.condition;
      },

      placeOf: function (path) {
        var properties = config.properties;
        if (path.indexOf("params.") === 0) return format(strings.parameter, { name: path.split(".")[1] });
        if (path === "params") return properties.params;
        if (path === "condition" || path.indexOf("condition.") === 0) {
          var owner = this.ownerOf(path);
          if (!owner) return properties.condition;
          var rest = path.slice(owner.path.length + 1).split(".")[0];
          var part = owner.type === "leaf" && properties[rest] ? " · " + properties[rest] : "";
          return this.nodeName(owner) + part;
        }
        return properties[path] || properties[path.split(".")[0]] || path;
      },

      goTo: function (problem) {
        var path = problem.path;
        var target = null;
        if (path.indexOf("params.") === 0) {
          var name = path.split(".")[1];
          var param = this.params.find(function (item) { return item.name === name; });
          if (param) target = root().querySelector('[data-param-id="' + param._id + '"] input, [data-param-id="' + param._id + '"] select');
        } else if (path.indexOf("condition") === 0) {
          var owner = this.ownerOf(path);
          var row = owner ? root().querySelector('[data-node-id="' + owner.node._id + '"]') : null;
          if (row) target = row.querySelector('[aria-invalid="true"]') || row.querySelector("select, input, button");
        } else {
          target = root().querySelector('[data-doc-path="' + path + '"]');
        }
        if (target) {
          target.scrollIntoView({ block: "center" });
          target.focus();
        }
      },

      // --- Test now --------------------------------------------------------------------------------

      get canTry() {
        return config.hasCondition && !this.checking && !this.hasProblems;
      },

      test: function () {
        var self = this;
        if (!this.canTry || this.testing) return;
        this.testing = true;
        this.testError = "";
        common.post(config.urls.test, { condition: this.conditionJson(), params: this.paramsJson() })
          .then(function (result) {
            self.testing = false;
            if (result.ok) {
              self.testHtml = result.data.html;
              return;
            }
            self.testHtml = "";
            if (result.data.errors) self.errors = result.data.errors;
            self.testError = firstProblem(result.data);
          })
          .catch(function () {
            self.testing = false;
            self.testError = strings.testFailed;
          });
      },

      // --- Back-test -------------------------------------------------------------------------------

      get backtestBusy() {
        return !!this.backtest && (this.backtest.status === "queued" || this.backtest.status === "running");
      },

      get backtestWords() {
        var run = this.backtest;
        if (!run) return "";
        if (run.status === "queued") return strings.backtestQueued;
        if (run.status === "running") return format(strings.backtestRunning, { progress: run.progress });
        if (run.status === "failed") return format(strings.backtestFailed, { error: run.error || "" });
        return "";
      },

      startBacktest: function () {
        var self = this;
        if (!this.canTry || this.backtestBusy) return;
        var days = parseInt(this.days, 10);
        var body = { condition: this.conditionJson(), params: this.paramsJson(), days: isNaN(days) ? this.days : days };
        this.backtest = { status: "queued", progress: 0, error: "", html: "", url: "" };
        common.post(config.urls.backtest, body)
          .then(function (result) {
            if (!result.ok) {
              self.backtest = {
                status: "failed",
                progress: 0,
                error: firstProblem(result.data) || strings.backtestStartFailed,
                html: "",
                url: "",
              };
              return;
            }
            self.backtest = Object.assign({ html: "" }, result.data);
            self.poll();
          })
          .catch(function () {
            self.backtest = { status: "failed", progress: 0, error: strings.backtestStartFailed, html: "", url: "" };
          });
      },

      poll: function () {
        var self = this;
        clearTimeout(this._poll);
        this._poll = setTimeout(function () {
          var url = self.backtest && self.backtest.url;
          if (!url) return;
          fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
            .then(function (response) { return response.json(); })
            .then(function (data) {
              self.backtest = Object.assign({}, self.backtest, data);
              if (data.status === "done") self.$nextTick(function () { self.drawChart(data.days || []); });
              else if (data.status !== "failed") self.poll();
            })
            .catch(function () { self.poll(); });
        }, POLL_MS);
      },

      drawChart: function (days) {
        var element = this.$refs.chart;
        if (!element || !window.echarts) return;
        if (this._chart) this._chart.dispose();
        var chart = window.echarts.init(element, null, { renderer: "svg" });
        this._chart = chart;
        var hasCurrent = days.some(function (day) { return "current" in day; });
        var series = [
          { name: strings.seriesCount, type: "bar", data: days.map(function (day) { return day.count; }), itemStyle: { color: "#2563eb" } },
          { name: strings.seriesDismissed, type: "bar", data: days.map(function (day) { return day.dismissed; }), itemStyle: { color: "#f59e0b" } },
        ];
        if (hasCurrent) {
          series.push({
            name: strings.seriesCurrent,
            type: "line",
            data: days.map(function (day) { return day.current || 0; }),
            itemStyle: { color: "#6b7280" },
            lineStyle: { type: "dashed" },
          });
        }
        // A narrow card lists the series one under the other above the chart; a wide one on a line below.
        var narrow = element.clientWidth < 600;
        var legend = narrow
          ? { top: 0, left: 0, orient: "vertical", itemWidth: 14, itemGap: 6 }
          : { bottom: 0, left: 0, itemWidth: 14, itemGap: 16 };
        chart.setOption({
          animation: false,
          tooltip: { trigger: "axis" },
          legend: legend,
          grid: narrow
            ? { left: 36, right: 12, top: series.length * 20 + 12, bottom: 28 }
            : { left: 36, right: 12, top: 12, bottom: 56 },
          xAxis: { type: "category", data: days.map(function (day) { return day.date.slice(5); }) },
          yAxis: { type: "value", minInterval: 1 },
          series: series,
        });
        if (!this._resizeBound) {
          this._resizeBound = true;
          var self = this;
          window.addEventListener("resize", function () { if (self._chart) self._chart.resize(); });
        }
      },
    });
  }

  document.addEventListener("alpine:init", function () {
    window.Alpine.data("ruleBuilder", builder);
  });
})();
