/* The staff workspace's live behaviour (templates/og/workspace/). static/orderguard/live.js holds
 * the one socket and dispatches "og:live" on document for each event.
 *
 * The list page re-fetches its list (the htmx partial, trigger "og-refresh") on every task or
 * exception event and after a reconnect, debounced: a burst of events costs one request, and the
 * server stays the only renderer. Whatever tab is open (a manager's approvals too) re-reads itself,
 * counts included. The task page compares an event about its own task with what it shows and, when
 * the task changed under the user, shows a banner with a reload link.
 *
 * A "notification.created" event re-fetches the header's bell (trigger "og-notify"): its unread
 * count and its list, newest first, as the server renders them in the page's language.
 */
(function () {
  "use strict";

  var DEBOUNCE_MS = 150;
  var timer = null;
  var bellTimer = null;

  function concerns(message) {
    var type = (message && message.type) || "";
    return type.indexOf("task.") === 0 || type.indexOf("exception.") === 0;
  }

  function refreshBell() {
    clearTimeout(bellTimer);
    bellTimer = setTimeout(function () {
      if (window.htmx) window.htmx.trigger(document.body, "og-notify");
    }, DEBOUNCE_MS);
  }

  function refreshList() {
    clearTimeout(timer);
    timer = setTimeout(function () {
      if (window.htmx && document.getElementById("og-task-list")) window.htmx.trigger(document.body, "og-refresh");
    }, DEBOUNCE_MS);
  }

  function bannerText(page, task) {
    var owner = task.assignee ? String(task.assignee.id) : "";
    if (task.status === "done") return page.dataset.msgDone;
    if (task.status === "canceled") return page.dataset.msgCanceled;
    if (task.status === "queued" && page.dataset.status !== "queued") return page.dataset.msgQueued;
    if (owner && owner !== page.dataset.owner) {
      if (owner === page.dataset.me) return page.dataset.msgMine;
      return page.dataset.msgAssigned.replace("{name}", task.assignee.name || task.assignee.username || "");
    }
    if (task.overdue && page.dataset.overdue !== "1") return page.dataset.msgOverdue;
    if (task.paused === true && page.dataset.paused !== "1") return page.dataset.msgPaused;
    if (task.paused === false && page.dataset.paused === "1") return page.dataset.msgResumed;
    if (task.status !== page.dataset.status) return page.dataset.msgChanged;
    return "";
  }

  function watchTask(message) {
    var page = document.querySelector("[data-og-task]");
    if (!page || !message.task || String(message.task.id) !== page.dataset.ogTask) return;
    var text = bannerText(page, message.task);
    if (!text) return;
    var banner = page.querySelector("[data-og-task-banner]");
    banner.querySelector("[data-og-banner-text]").textContent = text;
    banner.hidden = false;
    if (outOfReach(page, message.task)) {
      // What the page offers no longer holds: no action until the user has reloaded it.
      page.querySelectorAll("form button, details.og-ws-more").forEach(function (control) {
        if (control.tagName === "DETAILS") control.open = false;
        else control.disabled = true;
      });
      page.querySelectorAll("details.og-ws-more > summary").forEach(function (summary) {
        summary.setAttribute("aria-disabled", "true");
        summary.addEventListener("click", function (event) { event.preventDefault(); });
      });
    }
  }

  // Closed, or now someone else's: the user can no longer act on it from this page.
  function outOfReach(page, task) {
    if (task.status === "done" || task.status === "canceled") return true;
    var owner = task.assignee ? String(task.assignee.id) : "";
    return owner !== "" && owner !== page.dataset.me;
  }

  document.addEventListener("og:live", function (event) {
    var message = event.detail || {};
    if (message.type === "notification.created") {
      refreshBell();
      return;
    }
    if (!concerns(message)) return;
    refreshList();
    watchTask(message);
  });
  document.addEventListener("og:live-reconnected", function () {
    refreshList();
    refreshBell();
  });
})();
