/* OpsDesk chat widget: Rasa's socket.io protocol (session_request / session_confirm,
   user_uttered / bot_uttered) against the hub at /socket.io/. The session id is kept in
   localStorage, so a reload or a reconnect continues the same conversation; the transcript is
   repainted from /storefront/chat/{session_id}/transcript. Plain JS, no build step. */
(function () {
  "use strict";

  var root = document.getElementById("odw");
  if (!root || typeof window.io !== "function") return;

  var SESSION_KEY = "opsdesk.chat.session_id";
  var OPEN_KEY = "opsdesk.chat.open";
  // The assistant answers in about a second; past this, stop showing it typing (a person
  // owns the conversation, or the hub already told the customer it is unavailable).
  var TYPING_TIMEOUT_MS = 15000;
  // No answer this long after the customer wrote: ask whether a person owns the conversation
  // (then the assistant is silent on purpose, and the widget says who will answer).
  var MODE_CHECK_MS = 4000;
  // While the customer writes, tell the hub at most this often (the team sees "typing").
  var TYPING_SIGNAL_MS = 2000;
  var URL_PATTERN = /(https?:\/\/[^\s<>"]+)/g;

  var $ = function (id) { return document.getElementById(id); };
  var launcher = $("odw-launcher"), panel = $("odw-panel"), closeButton = $("odw-close");
  var log = $("odw-log"), typing = $("odw-typing"), typingText = $("odw-typing-text");
  var replies = $("odw-replies"), form = $("odw-form"), input = $("odw-input");
  var statusLine = $("odw-status"), unreadBadge = $("odw-unread");
  var assistantName = root.getAttribute("data-assistant-name") || "Assistant";
  var transcriptUrl = root.getAttribute("data-transcript-url");

  var state = {
    sessionId: stored(localStorage, SESSION_KEY),
    socket: null,
    confirmed: false,
    everConfirmed: false,
    seenIds: {},          // transcript ids already painted
    lastId: 0,            // newest transcript id painted
    liveWithoutId: [],    // texts of live messages that came without an id (for catch-up)
    outbox: [],           // customer messages waiting for session_confirm
    mode: "bot",
    unread: 0,
    lastAuthorKey: null,
    typingTimer: null,
    modeTimer: null,
    typingSentAt: 0,
    painted: false
  };

  function stored(storage, key) {
    try { return storage.getItem(key); } catch (e) { return null; }
  }
  function store(storage, key, value) {
    try {
      if (value === null) storage.removeItem(key); else storage.setItem(key, value);
    } catch (e) { /* private mode: the conversation lasts as long as the page */ }
  }

  /* ---------------------------------------------------------------- painting */

  function authorLabel(author, agentName) {
    if (author === "customer") return "You";
    if (author === "agent") return agentName ? agentName + " · Fernhill team" : "Fernhill team";
    if (author === "system") return "Fernhill & Co.";
    return assistantName;
  }

  function appendText(parent, text) {
    // Links (a return label, a tracking page) become anchors; nothing is parsed as HTML.
    var last = 0;
    text.replace(URL_PATTERN, function (match, _url, offset) {
      var url = match.replace(/[).,;:!?]+$/, "");
      parent.appendChild(document.createTextNode(text.slice(last, offset)));
      var a = document.createElement("a");
      a.href = url;
      a.textContent = url.length > 48 ? url.slice(0, 45) + "…" : url;
      a.target = "_blank";
      a.rel = "noopener";
      parent.appendChild(a);
      last = offset + url.length;
      return match;
    });
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function addMessage(message) {
    var author = message.author || "bot";
    var key = author + "|" + (message.agent_name || "");
    var item = document.createElement("div");
    item.className = "odw-msg odw-msg--" + author;
    if (message.id != null) item.setAttribute("data-id", String(message.id));

    var label = document.createElement("p");
    label.className = "odw-author";
    label.textContent = authorLabel(author, message.agent_name);
    // Every message names its author for screen readers; the eye sees it once per run.
    if (key === state.lastAuthorKey) label.className += " odw-sr";
    state.lastAuthorKey = key;
    item.appendChild(label);

    if (message.text) {
      var bubble = document.createElement("div");
      bubble.className = "odw-bubble";
      appendText(bubble, message.text);
      item.appendChild(bubble);
    }
    if (message.image) {
      var img = document.createElement("img");
      img.className = "odw-image";
      img.src = message.image;
      img.alt = "";
      item.appendChild(img);
    }
    if (message.pending) {
      item.className += " odw-msg--pending";
      var note = document.createElement("p");
      note.className = "odw-note";
      note.textContent = "Sending when we're back online…";
      item.appendChild(note);
    }
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
    return item;
  }

  function noteId(id) {
    if (id == null) return true;
    if (state.seenIds[id]) return false;
    state.seenIds[id] = true;
    if (id > state.lastId) state.lastId = id;
    return true;
  }

  function showReplies(buttons) {
    replies.textContent = "";
    if (!buttons || !buttons.length) { replies.hidden = true; return; }
    buttons.forEach(function (b) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "odw-reply";
      button.textContent = b.title;
      button.addEventListener("click", function () {
        send(b.payload, b.title);
        input.focus();
      });
      replies.appendChild(button);
    });
    replies.hidden = false;
  }

  function setMode(mode) {
    state.mode = mode;
    root.setAttribute("data-mode", mode);
    refreshStatus();
  }

  function refreshStatus() {
    var text, kind;
    if (!state.socket || (!state.confirmed && !state.everConfirmed)) {
      text = "Connecting…"; kind = "connecting";
    } else if (!state.confirmed) {
      text = "Reconnecting… your messages will be sent when we're back"; kind = "offline";
    } else if (state.mode === "human") {
      text = "A person from our team will reply"; kind = "human";
    } else {
      text = "Online · we reply in seconds"; kind = "online";
    }
    statusLine.textContent = text;
    statusLine.setAttribute("data-state", kind);
  }

  function startTyping() {
    if (state.mode === "human") return;
    typingText.textContent = assistantName + " is typing…";
    typing.hidden = false;
    log.scrollTop = log.scrollHeight;
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(stopTyping, TYPING_TIMEOUT_MS);
    clearTimeout(state.modeTimer);
    state.modeTimer = setTimeout(checkMode, MODE_CHECK_MS);
  }
  function stopTyping() {
    clearTimeout(state.typingTimer);
    clearTimeout(state.modeTimer);
    typing.hidden = true;
  }
  function checkMode() {
    fetchTranscript(state.lastId).then(function (t) {
      if (!t) return;
      setMode(t.mode);
      if (t.mode === "human") stopTyping();
    });
  }

  function setUnread(count) {
    state.unread = count;
    unreadBadge.hidden = count === 0;
    unreadBadge.textContent = String(count);
    launcher.setAttribute("aria-label", count ? "Chat with us, " + count + " new" : "Chat with us");
  }

  /* ---------------------------------------------------------------- transcript */

  function paintTranscript(messages, catchingUp) {
    var lastShown = null;
    messages.forEach(function (m) {
      if (!noteId(m.id)) return;
      if (catchingUp) {
        // The customer's own turns were painted as they were typed.
        if (m.author === "customer") return;
        var i = state.liveWithoutId.indexOf(m.text);
        if (i !== -1) { state.liveWithoutId.splice(i, 1); return; }
      }
      addMessage(m);
      lastShown = m;
    });
    if (lastShown) showReplies(lastShown.author === "customer" ? [] : lastShown.buttons);
    return lastShown;
  }

  function fetchTranscript(after) {
    if (!state.sessionId) return Promise.resolve(null);
    var url = transcriptUrl + encodeURIComponent(state.sessionId) + "/transcript" +
      (after ? "?after=" + after : "");
    return fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .catch(function () { return null; });
  }

  /* ---------------------------------------------------------------- socket */

  function connect() {
    if (state.socket) return;
    state.socket = window.io({ path: root.getAttribute("data-socket-path") || "/socket.io/" });
    var socket = state.socket;
    refreshStatus();

    socket.on("connect", function () {
      state.confirmed = false;
      socket.emit("session_request", { session_id: state.sessionId });
    });

    socket.on("session_confirm", function (confirmed) {
      var id = typeof confirmed === "string" ? confirmed : confirmed && confirmed.session_id;
      if (!id) return;
      var reconnect = state.everConfirmed;
      state.sessionId = id;
      store(localStorage, SESSION_KEY, id);
      state.confirmed = true;
      state.everConfirmed = true;
      refreshStatus();
      var ready = reconnect
        ? fetchTranscript(state.lastId).then(function (t) {
            if (t) { paintTranscript(t.messages, true); setMode(t.mode); }
          })
        : Promise.resolve();
      ready.then(function () {
        flushOutbox();
        if (isOpen()) greetIfNew();
      });
    });

    socket.on("bot_uttered", receive);
    socket.on("disconnect", function () { state.confirmed = false; refreshStatus(); });
    socket.on("connect_error", function () { state.confirmed = false; refreshStatus(); });
  }

  function receive(m) {
    if (!m) return;
    var meta = m.metadata || {};
    var id = m.message_id != null ? m.message_id : meta.message_id;
    if (!noteId(id)) return;
    var author = m.author || meta.author || "bot";
    var text = m.text || "";
    if (id == null) state.liveWithoutId.push(text);
    var image = m.image || (m.attachment && m.attachment.payload && m.attachment.payload.src);
    stopTyping();
    addMessage({
      id: id, author: author, agent_name: m.agent_name || meta.agent_name,
      text: text, image: typeof image === "string" ? image : null
    });
    showReplies((m.quick_replies || m.buttons || []).map(function (b) {
      return { title: b.title, payload: b.payload };
    }));
    var mode = m.mode || meta.mode;
    if (mode === "bot" || mode === "human") setMode(mode);
    else if (author === "agent") setMode("human");
    else if (author === "bot") setMode("bot");
    if (!isOpen()) setUnread(state.unread + 1);
  }

  function flushOutbox() {
    while (state.confirmed && state.outbox.length) {
      var next = state.outbox.shift();
      var body = { message: next.message, session_id: state.sessionId };
      if (next.title) body.button_title = next.title;
      state.socket.emit("user_uttered", body, acknowledged(next.item));
      if (next.item) {
        next.item.classList.remove("odw-msg--pending");
        var note = next.item.querySelector(".odw-note");
        if (note) note.remove();
      }
    }
  }

  function acknowledged(item) {
    // The hub acks a stored message with its transcript id (stock Rasa servers send none).
    return function (ack) {
      if (item && ack && ack.message_id != null) {
        noteId(ack.message_id);
        item.setAttribute("data-id", String(ack.message_id));
      }
    };
  }

  function send(message, title) {
    message = (message || "").trim();
    if (!message) return;
    var item = title === null ? null : addMessage({
      author: "customer", text: title || message, pending: !state.confirmed
    });
    state.outbox.push({ message: message, title: title || null, item: item });
    showReplies([]);
    connect();
    flushOutbox();
    startTyping();
  }

  function greetIfNew() {
    // A first visit opens with the assistant's greeting and its suggestions.
    if (state.painted || log.querySelector(".odw-msg")) return;
    state.painted = true;
    send("/greet", null);
  }

  /* ---------------------------------------------------------------- opening and keys */

  function isOpen() { return !panel.hidden; }

  function open(focus) {
    panel.hidden = false;
    root.classList.add("odw--open");
    document.documentElement.classList.add("odw-page-open");
    launcher.setAttribute("aria-expanded", "true");
    store(sessionStorage, OPEN_KEY, "1");
    setUnread(0);
    log.scrollTop = log.scrollHeight;
    if (focus !== false) input.focus();
    connect();
    if (state.confirmed) greetIfNew();
  }

  function close() {
    panel.hidden = true;
    root.classList.remove("odw--open");
    document.documentElement.classList.remove("odw-page-open");
    launcher.setAttribute("aria-expanded", "false");
    store(sessionStorage, OPEN_KEY, null);
    launcher.focus();
  }

  launcher.addEventListener("click", function () { if (isOpen()) close(); else open(); });
  closeButton.addEventListener("click", close);
  var fullScreen = window.matchMedia ? window.matchMedia("(max-width: 480px)") : null;
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { event.preventDefault(); close(); return; }
    // Full screen on a phone the page behind is hidden: Tab cycles within the chat.
    if (event.key !== "Tab" || !fullScreen || !fullScreen.matches) return;
    var focusable = Array.prototype.filter.call(
      panel.querySelectorAll("button, input, [tabindex='0'], a[href]"),
      function (el) { return el.offsetParent !== null && !el.disabled; }
    );
    if (!focusable.length) return;
    var first = focusable[0], last = focusable[focusable.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault(); last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault(); first.focus();
    }
  });
  input.addEventListener("input", function () {
    // Not part of Rasa's protocol: the hub passes it to the team's console, stores nothing.
    var now = Date.now();
    if (!state.confirmed || !input.value.trim() || now - state.typingSentAt < TYPING_SIGNAL_MS) return;
    state.typingSentAt = now;
    state.socket.emit("user_typing", { session_id: state.sessionId });
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    input.value = "";
    state.typingSentAt = 0;
    send(text);
  });

  /* ---------------------------------------------------------------- start */

  // A returning customer sees the conversation as it was, then the socket picks it up.
  fetchTranscript(0).then(function (t) {
    if (t && t.messages.length) {
      state.painted = true;
      paintTranscript(t.messages, false);
      setMode(t.mode);
    }
    if (state.sessionId) connect();
    if (stored(sessionStorage, OPEN_KEY)) open(false);
  });
})();
