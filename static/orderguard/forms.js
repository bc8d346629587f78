/* Shows and hides the fields of a form built from a form definition (templates/formdesigner/form.html)
 * by their condition: data-og-visible-when='{"field": "payment_found", "op": "eq", "value": true}'.
 * The server applies the same rule (apps/formdesigner/document.py Condition.holds); this only keeps
 * the screen in step with it. Works on forms added later (htmx swaps, the designer's preview).
 */
(function () {
  "use strict";

  function empty(value) {
    return value === null || value === undefined || value === "" || (Array.isArray(value) && value.length === 0);
  }

  function same(a, b) {
    return typeof a === typeof b && a === b;
  }

  // The field's value as the API would carry it: booleans for yes/no, lists for multiple choice.
  function valueOf(root, key) {
    var wrapper = root.querySelector('[data-og-key="' + key + '"]');
    if (!wrapper) return null;
    var inputs = wrapper.querySelectorAll("input, select, textarea");
    if (!inputs.length) return null;
    var first = inputs[0];
    if (first.type === "radio") {
      var checked = wrapper.querySelector("input:checked");
      if (!checked || checked.value === "") return null;
      return checked.value === "true" ? true : checked.value === "false" ? false : checked.value;
    }
    if (first.type === "checkbox") {
      return Array.prototype.filter.call(inputs, function (input) { return input.checked; })
        .map(function (input) { return input.value; });
    }
    if (first.type === "number" && first.step === "1" && first.value !== "" && !isNaN(Number(first.value))) {
      return Number(first.value);
    }
    return first.value;
  }

  function holds(condition, root) {
    var value = valueOf(root, condition.field);
    if (condition.op === "filled") return !empty(value);
    if (condition.op === "eq") return same(value, condition.value);
    if (condition.op === "ne") return !empty(value) && !same(value, condition.value);
    if (condition.op === "in") return (condition.value || []).some(function (option) { return same(value, option); });
    return true;
  }

  function refresh(root) {
    root.querySelectorAll("[data-og-visible-when]").forEach(function (wrapper) {
      var condition;
      try { condition = JSON.parse(wrapper.getAttribute("data-og-visible-when")); } catch (error) { return; }
      var shown = holds(condition, root);
      wrapper.hidden = !shown;
      wrapper.querySelectorAll("input, select, textarea").forEach(function (input) { input.disabled = !shown; });
    });
  }

  function bind(root) {
    if (root.dataset.ogBound) return;
    root.dataset.ogBound = "1";
    root.addEventListener("input", function () { refresh(root); });
    root.addEventListener("change", function () { refresh(root); });
    refresh(root);
  }

  function bindAll(scope) {
    (scope || document).querySelectorAll("[data-og-spec-form]").forEach(bind);
  }

  window.OrderGuardForms = { bindAll: bindAll, refresh: refresh };
  document.addEventListener("DOMContentLoaded", function () { bindAll(document); });
  document.addEventListener("htmx:afterSettle", function (event) { bindAll(event.target); });
})();
