/* Live updates for a signed-in user's pages over the /ws/live/ socket (apps/live/consumers.py).
 *
 * Every message from the server is dispatched on document as CustomEvent("og:live", {detail:
 * message}); a page listens and re-fetches the partial the event concerns (an htmx trigger), so
 * the server stays the only renderer. Events sent while the socket was down are not replayed:
 * when it comes back, "og:live-reconnected" is dispatched so that pages re-read their lists.
 *
 * State for pages and tests: window.OGLive = {connected, lastMessageAt} (lastMessageAt in ms
 * since the epoch, null before the first message) and <body data-live="on|off">.
 */
(function () {
  "use strict";
  if (window.OGLive) return; // loaded twice: one socket per page is enough

  var MIN_DELAY = 1000;
  var MAX_DELAY = 30000;
  // Under the idle timeouts of common proxies (nginx: 60 s), so an idle socket stays open.
  var PING_EVERY = 25000;
  // A ping unanswered this long means a dead connection that the browser has not noticed yet
  // (a phone that changed networks, a sleeping laptop).
  var PONG_WITHIN = 10000;
  // The consumer's close code for "not signed in": retrying cannot help until the page reloads.
  var NOT_SIGNED_IN = 4401;

  var state = (window.OGLive = { connected: false, lastMessageAt: null });
  var socket = null;
  var delay = MIN_DELAY;
  var dropped = false; // a connection was lost (or never made): the next open is a reconnect
  var retryTimer = null;
  var pingTimer = null;
  var pongTimer = null;

  function show(connected) {
    state.connected = connected;
    document.body.setAttribute("data-live", connected ? "on" : "off");
  }

  function dispatch(name, detail) {
    document.dispatchEvent(new CustomEvent(name, { detail: detail }));
  }

  function connect() {
    retryTimer = null;
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws/live/");
    socket.onopen = function () {
      delay = MIN_DELAY;
      show(true);
      if (dropped) dispatch("og:live-reconnected", {});
      dropped = false;
      pingTimer = setInterval(ping, PING_EVERY);
    };
    socket.onmessage = function (frame) {
      var message;
      try {
        message = JSON.parse(frame.data);
      } catch (error) {
        return;
      }
      state.lastMessageAt = Date.now();
      clearTimeout(pongTimer); // any message proves the connection alive
      dispatch("og:live", message);
    };
    socket.onclose = function (event) {
      drop(event.code !== NOT_SIGNED_IN);
    };
  }

  // Forget the socket at once (without waiting for a close handshake that a dead connection
  // never completes) and, unless told not to, try again after the current delay.
  function drop(retry) {
    clearInterval(pingTimer);
    clearTimeout(pongTimer);
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = null;
      socket.close();
      socket = null;
    }
    show(false);
    dropped = true;
    if (!retry || retryTimer) return;
    retryTimer = setTimeout(connect, delay);
    delay = Math.min(delay * 2, MAX_DELAY);
  }

  function ping() {
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    socket.send(JSON.stringify({ type: "ping" }));
    clearTimeout(pongTimer);
    pongTimer = setTimeout(function () {
      drop(true);
    }, PONG_WITHIN);
  }

  // Back on the network: try now rather than at the end of a long back-off.
  window.addEventListener("online", function () {
    if (!retryTimer) return;
    clearTimeout(retryTimer);
    connect();
  });

  function start() {
    show(false);
    connect();
  }

  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
