/* What the form designer (designer.js) and the workflow designer (workflow-designer.js) share.
 *
 * Each designer is an Alpine.js component made by OrderGuardDesigner.component: the plumbing
 * below, which talks to the server, plus the designer's own part, which holds what is being
 * edited. The plumbing sends every change (debounced) to the check endpoint and keeps the
 * problems it answers by path; "Save draft" stores the document through the service the
 * configuration API uses; "Publish" saves, then publishes. The views on the other side are in
 * apps/console/designers.py; the shared markup (problems, publish bar, versions, history) in
 * templates/designer/.
 *
 * The designer's own part holds the document's parts in the list options.list names, with the
 * selected one's selectedId, and provides documentJson() (the document as edited), adopt(document)
 * (take the draft as the server stored it, then call adopted()), placeOf(path) (where a problem
 * is, in words), goTo(problem) and bindSortable(); it may add to the check's body (checkBody)
 * and read its answer (checked). Its init() loads the document, then calls startEditing().
 */
(function () {
  "use strict";

  var CHECK_DELAY = 350;
  var MAX_KEY = 40;
  var nextUid = 0;

  function uid(prefix) {
    nextUid += 1;
    return prefix + nextUid;
  }

  function has(list, item) {
    return list.indexOf(item) !== -1;
  }

  // A text in both languages, as the document holds it.
  function text(value) {
    return { "zh-hans": (value && value["zh-hans"]) || "", en: (value && value.en) || "" };
  }

  function filled(value) {
    return value !== undefined && value !== null && String(value).trim() !== "";
  }

  // Django's "%(name)s" placeholders, filled in.
  function format(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (match, name) {
      return name in values ? values[name] : match;
    });
  }

  // A key from an English name: "Invoice title" -> "invoice_title"; ``prefix`` goes before one
  // that would not start with a letter.
  function slug(label, prefix) {
    var base = (label || "")
      .normalize("NFKD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "_")
      .replace(/^_+|_+$/g, "");
    if (base && !/^[a-z]/.test(base)) base = prefix + "_" + base;
    return base.slice(0, MAX_KEY).replace(/_+$/, "");
  }

  // POST ``body`` as JSON with the page's CSRF token; the answer as {ok, status, data}.
  function post(url, body) {
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
  }

  // The plumbing of a designer whose script configuration is ``config``. ``options.list`` is the
  // document's list of parts ("fields", "steps"): a problem under "fields.3" belongs to part 3.
  // ``options.savedEvent`` is dispatched on the body after each save (the history re-fetches).
  function plumbing(config, options) {
    var partPath = new RegExp("^" + options.list + "\\.(\\d+)");

    return {
      config: config,
      canEdit: config.canEdit,
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
      notice: "",
      _timer: null,
      _sequence: 0,

      // Every change to what ``watched`` names is checked; the page warns before leaving unsaved changes.
      startEditing: function (watched) {
        var self = this;
        watched.forEach(function (name) {
          self.$watch(name, function () { self.changed(); });
        });
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

      // --- The document's parts (fields, steps) -------------------------------------------------

      get selected() {
        var id = this.selectedId;
        return this[options.list].find(function (part) { return part._id === id; }) || null;
      },

      get selectedIndex() {
        var id = this.selectedId;
        return this[options.list].findIndex(function (part) { return part._id === id; });
      },

      // Move ``part`` one place up (``delta`` -1) or down (1).
      movePart: function (part, delta) {
        var parts = this[options.list];
        var from = parts.indexOf(part);
        var to = from + delta;
        if (from === -1 || to < 0 || to >= parts.length) return;
        parts.splice(to, 0, parts.splice(from, 1)[0]);
      },

      // Remove ``part``, called ``name``, once the person confirms; the one after it is selected.
      removePart: function (part, name) {
        if (!window.confirm(format(config.strings.removeConfirm, { name: name }))) return;
        var parts = this[options.list];
        var index = parts.indexOf(part);
        parts.splice(index, 1);
        var next = parts[Math.min(index, parts.length - 1)];
        this.selectedId = next ? next._id : null;
      },

      // --- Words ---------------------------------------------------------------------------------

      localized: function (value) {
        var zh = (value && value["zh-hans"]) || "";
        var en = (value && value.en) || "";
        return config.language.indexOf("en") === 0 ? en || zh : zh || en;
      },

      // --- Problems, by path ---------------------------------------------------------------------

      // The problems at ``path`` of the document itself ("name", "name.en"), in words.
      docMsgs: function (path) {
        var list = this.errors[path];
        return list ? list.join(" ") : "";
      },

      get problems() {
        var self = this;
        return Object.keys(this.errors).map(function (path) {
          var match = partPath.exec(path);
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

      get hasProblems() {
        return Object.keys(this.errors).length > 0;
      },

      // --- Talking to the server -----------------------------------------------------------------

      post: post,

      checkBody: function () {
        return { document: this.documentJson() };
      },

      checked: function () {},

      check: function () {
        var self = this;
        var sequence = (this._sequence += 1);
        var revision = this.revision;
        return this.post(config.urls.check, this.checkBody())
          .then(function (result) {
            if (sequence !== self._sequence) return;
            self.offline = false;
            self.checkedRevision = revision;
            self.errors = result.ok ? {} : result.data.errors || {};
            self.checked(result);
          })
          .catch(function () {
            if (sequence === self._sequence) self.offline = true;
          });
      },

      get checking() {
        return this.checkedRevision !== this.revision;
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
              self.notice = result.data.code === "invalid_document" ? "" : result.data.message || "";
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
            document.body.dispatchEvent(new CustomEvent(options.savedEvent));
            return true;
          })
          .catch(function () {
            self.saving = false;
            self.offline = true;
            return false;
          });
      },

      // Called by adopt() once it has taken the stored draft: the watchers see it as a change,
      // but it is the saved state.
      adopted: function () {
        var self = this;
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
    };
  }

  // An Alpine component: the plumbing with the designer's ``own`` part over it. Getters stay
  // getters (Object.assign would read them once).
  function component(config, options, own) {
    var result = plumbing(config, options);
    Object.defineProperties(result, Object.getOwnPropertyDescriptors(own));
    return result;
  }

  window.OrderGuardDesigner = {
    MAX_KEY: MAX_KEY,
    uid: uid,
    has: has,
    text: text,
    filled: filled,
    format: format,
    slug: slug,
    post: post,
    component: component,
  };
})();
