/* 窗口评价器 kiosk: receives pushed cases (event stream, or polling), takes one rating per citizen, queues ratings offline (IndexedDB).
 * No framework, no CDN. The page's own queue is what guarantees delivery; the service worker only caches the
 * page shell so a reload without network still opens the kiosk. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("evaluator-config").textContent);
  var T = config.text;
  var $ = function (id) { return document.getElementById(id); };
  var state = { prompt: null, grade: null, key: null, etag: null, pressedAt: 0, submitting: false, handled: {}, missed: false };
  var idleTimer = null, thanksTimer = null;

  // ---- identifiers: crypto.randomUUID needs a secure context; tablets on a LAN address may not have one.
  function uuid4() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // ---- screens
  function show(name) {
    ["idle", "rate", "thanks"].forEach(function (s) { $(s).hidden = s !== name; });
    var heading = $(name + "-title");
    if (heading) { heading.focus(); }
  }

  function armIdle() {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(reset, config.idleSeconds * 1000);
  }

  function reset() {
    clearTimeout(idleTimer); clearTimeout(thanksTimer);
    if (state.prompt) { state.handled[state.prompt.id] = true; }
    state.prompt = null; state.grade = null; state.key = null; state.submitting = false;
    document.querySelectorAll(".face").forEach(function (b) { b.setAttribute("aria-pressed", "false"); });
    $("details").hidden = true;
    $("comment").value = "";
    $("submit").disabled = false;
    show("idle");
    // A prompt came while the kiosk was busy: fetch it now (polling would on its next turn).
    if (state.missed && pushing) { state.missed = false; setTimeout(check, 0); }
  }

  function startRating(prompt) {
    reset();
    state.prompt = prompt;
    $("rate-title").textContent = prompt && prompt.case_no ? T["case"] : T.walkin;
    $("row-item").hidden = !(prompt && prompt.item);
    $("row-case").hidden = !(prompt && prompt.case_no);
    $("case-item").textContent = (prompt && prompt.item) || "";
    $("case-no").textContent = (prompt && prompt.case_no) || "";
    $("case-staff").textContent = (prompt && prompt.staff_name) || config.staffName || "—";
    var photo = $("case-photo");
    photo.hidden = !(prompt && prompt.staff_photo);
    if (!photo.hidden) { photo.src = prompt.staff_photo; photo.alt = prompt.staff_name || ""; }
    show("rate");
    armIdle();
  }

  function renderTags(value) {
    var list = $("tag-list");
    list.textContent = "";
    config.tags.forEach(function (t) {
      if (t.grades.indexOf(value) < 0) { return; }
      var label = document.createElement("label");
      label.className = "tag";
      var box = document.createElement("input");
      box.type = "checkbox"; box.value = t.code;
      label.appendChild(box);
      label.appendChild(document.createTextNode(" " + t.label));
      list.appendChild(label);
    });
    list.parentNode.hidden = !list.children.length;
  }

  function pressFace(button) {
    var now = Date.now();
    // Repeated presses within the debounce window are ignored: one press, one choice.
    if (now - state.pressedAt < config.debounceMs || state.submitting) { return; }
    state.pressedAt = now;
    // The idempotency key is made at the first press and kept while the citizen changes the grade or tags.
    if (!state.key) { state.key = uuid4(); }
    state.grade = button.getAttribute("data-grade");
    document.querySelectorAll(".face").forEach(function (b) {
      b.setAttribute("aria-pressed", b === button ? "true" : "false");
    });
    renderTags(parseInt(button.getAttribute("data-value"), 10));
    $("details").hidden = false;
    $("announce").textContent = button.textContent.trim();
    armIdle();
  }

  // ---- sending and the offline queue
  function post(item) {
    return fetch(config.ratingUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-Evaluator": "1" },
      body: JSON.stringify(item)
    });
  }

  // A network failure, a server error or a rate limit is worth retrying; any other answer is final.
  function retriable(status) { return status === 0 || status === 429 || status >= 500; }

  function db() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open("hcp-evaluator", 1);
      req.onupgradeneeded = function () { req.result.createObjectStore("queue", { keyPath: "idempotency_key" }); };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }

  function tx(mode, fn) {
    return db().then(function (d) {
      return new Promise(function (resolve, reject) {
        var t = d.transaction("queue", mode);
        var result = fn(t.objectStore("queue"));
        t.oncomplete = function () { d.close(); resolve(result && result.result); };
        t.onerror = function () { d.close(); reject(t.error); };
      });
    });
  }

  function enqueue(item) { return tx("readwrite", function (s) { s.put(item); }).then(updatePending); }
  function dequeue(key) { return tx("readwrite", function (s) { s["delete"](key); }); }
  function queued() { return tx("readonly", function (s) { return s.getAll(); }); }

  function updatePending() {
    return queued().then(function (items) {
      var n = items.length;
      $("pending").hidden = n === 0;
      $("pending").textContent = n ? n + " " + T.pending : "";
      return n;
    });
  }

  var flushing = false;
  function flush() {
    if (flushing) { return Promise.resolve(); }
    flushing = true;
    return queued().then(function (items) {
      // One at a time, oldest first; stop at the first network failure and try again later.
      items.sort(function (a, b) { return a.rated_at < b.rated_at ? -1 : 1; });
      var chain = Promise.resolve(true);
      items.forEach(function (item) {
        chain = chain.then(function (goOn) {
          if (!goOn) { return false; }
          return post(item).then(function (r) {
            if (retriable(r.status)) { return false; }
            return dequeue(item.idempotency_key).then(function () { return true; });
          }, function () { return false; });
        });
      });
      return chain;
    }).then(updatePending, function () {}).then(function () { flushing = false; }, function () { flushing = false; });
  }

  function finish(note) {
    $("thanks-note").textContent = note;
    show("thanks");
    clearTimeout(idleTimer);
    thanksTimer = setTimeout(reset, 4000);
  }

  function submit() {
    if (state.submitting || !state.grade) { return; }
    state.submitting = true;
    $("submit").disabled = true;
    var tags = Array.prototype.map.call(document.querySelectorAll("#tag-list input:checked"), function (b) { return b.value; });
    var item = {
      idempotency_key: state.key,
      grade: state.grade,
      prompt_id: state.prompt ? state.prompt.id : null,
      tags: tags,
      comment: $("comment").value.trim(),
      rated_at: new Date().toISOString()
    };
    if (state.prompt) { state.handled[state.prompt.id] = true; }
    var queueIt = function () { return enqueue(item).then(function () { finish(T.queued); }); };
    post(item).then(function (r) {
      if (r.ok) { finish(T.sent); return; }
      if (retriable(r.status)) { return queueIt(); }
      return r.json().then(function (body) { finish(T.rejected + (body.message || r.status)); },
                           function () { finish(T.rejected + r.status); });
    }, queueIt);
  }

  // ---- pushed cases: an event stream from the push server when there is one (docs/evaluator-push.md), else a
  // poll every 2 s (a poll answered 304 is cheap). The stream only says "prompt N is waiting": the prompt itself,
  // and marking it shown, always come from GET promptUrl. While the stream is down the kiosk polls.
  var stopped = false, pushing = false, checking = false, again = false, pollTimer = null;
  var stream = null, streamDelay = 5, streamTimer = null, pushEnabled = !!window.EventSource;
  var streamUrl = config.streamUrl || config.promptUrl.replace(/prompt$/, "stream");

  function revoked() {
    stopped = true; pushEnabled = false;
    if (stream) { stream.close(); stream = null; }
    $("idle-title").textContent = T.revoked; $("walkin").hidden = true;
  }

  // One GET of the current prompt; a second call while one is in flight runs once more after it.
  function check() {
    if (stopped) { return Promise.resolve(); }
    if (checking) { again = true; return Promise.resolve(); }
    checking = true; again = false;
    var headers = state.etag ? { "If-None-Match": state.etag } : {};
    var done = fetch(config.promptUrl, { credentials: "same-origin", headers: headers, cache: "no-store" }).then(function (r) {
      $("net").hidden = true;
      if (r.status === 401) { revoked(); return; }
      if (r.status === 304 || !r.ok) { return; }
      var etag = r.headers.get("ETag");
      return r.json().then(function (body) {
        var p = body.prompt;
        if (p && !state.handled[p.id]) {
          // Busy with another citizen: leave the ETag unset so the prompt is fetched again once idle.
          if ($("idle").hidden) { state.missed = true; return; }
          startRating(p);
        }
        state.etag = etag;
      });
    }, function () { $("net").hidden = false; });
    if (navigator.onLine !== false) { flush(); }
    return done.then(function () {
      checking = false;
      if (again) { return check(); }
    }, function () { checking = false; });
  }

  function poll() {
    pollTimer = null;
    if (stopped || pushing) { return; }
    check().then(function () {
      if (!stopped && !pushing && pollTimer === null) { pollTimer = setTimeout(poll, config.pollSeconds * 1000); }
    });
  }

  function startPolling() {
    if (!stopped && !pushing && pollTimer === null) { pollTimer = setTimeout(poll, 0); }
  }

  function streamLost() {
    pushing = false;
    document.documentElement.setAttribute("data-push", "poll");
    startPolling();
  }

  function retryStream() {
    if (stopped || !pushEnabled || streamTimer) { return; }
    streamTimer = setTimeout(function () { streamTimer = null; openStream(); }, streamDelay * 1000);
    streamDelay = Math.min(streamDelay * 2, 60);
  }

  function openStream() {
    if (stopped || !pushEnabled) { return; }
    if (stream) { stream.close(); stream = null; }
    fetch(streamUrl, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (r.status === 404) { pushEnabled = false; streamLost(); return; }  // push not enabled: poll
      if (r.status === 401) { revoked(); return; }
      if (!r.ok) { throw new Error(r.status); }
      return r.json().then(function (body) { listen(body.url); });
    })["catch"](function () { streamLost(); retryStream(); });
  }

  function listen(url) {
    var es = new EventSource(url);
    stream = es;
    es.addEventListener("hello", function () {
      // Connected: polling stops; one GET catches up with anything pushed while the stream was down.
      pushing = true; streamDelay = 5;
      document.documentElement.setAttribute("data-push", "stream");
      if (pollTimer !== null) { clearTimeout(pollTimer); pollTimer = null; }
      check();
    });
    es.addEventListener("prompt", function (e) {
      var id = null;
      try { id = JSON.parse(e.data).id; } catch (err) { id = null; }
      if (id !== null && ((state.prompt && state.prompt.id === id) || state.handled[id])) { return; }
      check();
    });
    es.addEventListener("reauth", function () {
      // The stream token has expired: a fresh one at once (the device may have been revoked meanwhile).
      es.close(); if (stream === es) { stream = null; }
      streamLost(); openStream();
    });
    es.onerror = function () {
      if (stream !== es) { return; }
      // The browser reconnects by itself (retry: 5000) unless the server refused; poll meanwhile either way.
      streamLost();
      if (es.readyState === 2) { es.close(); stream = null; retryStream(); }
    };
  }

  // ---- wiring
  document.querySelectorAll(".face").forEach(function (b) {
    b.addEventListener("click", function () { pressFace(b); });
  });
  $("walkin").addEventListener("click", function () { startRating(null); });
  $("submit").addEventListener("click", submit);
  $("cancel").addEventListener("click", reset);
  ["keydown", "input", "change"].forEach(function (ev) {
    document.addEventListener(ev, function () { if (!$("rate").hidden) { armIdle(); } });
  });
  window.addEventListener("online", function () { $("net").hidden = true; flush(); });
  window.addEventListener("offline", function () { $("net").hidden = false; });
  setInterval(flush, 15000);
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(config.swUrl, { scope: "/evaluator/" })["catch"](function () {});
  }
  reset();
  updatePending()["catch"](function () {});
  check();
  if (pushEnabled) { openStream(); } else { startPolling(); }
  // Wired: a press now reaches the handlers (the buttons are painted before this script has run).
  document.documentElement.setAttribute("data-kiosk", "ready");
})();
