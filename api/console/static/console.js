// The console's only script: live updates over server-sent events, replies without a page
// reload, saved replies, and keyboard shortcuts. Every page works without it (plain forms).
(function () {
  "use strict";

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  function typing(el) {
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
  }

  // -- filters submit on change ---------------------------------------------------------
  $all("[data-autosubmit]").forEach(function (el) {
    el.addEventListener("change", function () { el.form.submit(); });
  });

  // -- live: one EventSource per page ---------------------------------------------------
  function listen(url, handlers) {
    var state = $("[data-live-state]");
    var source = new EventSource(url);
    source.onopen = function () { if (state) { state.hidden = false; state.textContent = "Live"; state.classList.remove("is-off"); } };
    source.onerror = function () { if (state) { state.hidden = false; state.textContent = "Reconnecting…"; state.classList.add("is-off"); } };
    Object.keys(handlers).forEach(function (name) { source.addEventListener(name, handlers[name]); });
    window.addEventListener("pagehide", function () { source.close(); });
    return source;
  }

  // -- the queue ------------------------------------------------------------------------
  var queueLive = $("#queue-live");
  var selected = -1;

  function rows() { return $all("tbody tr[data-ticket]", queueLive || document); }

  function select(index) {
    var all = rows();
    if (!all.length) { return; }
    selected = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (tr, i) { tr.classList.toggle("is-selected", i === selected); });
    var link = $(".open-link", all[selected]);
    if (link && link.focus) { link.focus(); }
  }

  if (queueLive) {
    var refreshing = null;
    var refresh = function () {
      if (refreshing) { refreshing.again = true; return; }
      refreshing = { again: false };
      var before = {};
      rows().forEach(function (tr) { before[tr.dataset.ticket] = true; });
      var selectedId = selected >= 0 && rows()[selected] ? rows()[selected].dataset.ticket : null;
      fetch(queueLive.dataset.liveUrl, { headers: { "x-console-fetch": "1" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          queueLive.innerHTML = html;
          var fresh = rows().filter(function (tr) { return !before[tr.dataset.ticket]; });
          fresh.forEach(function (tr) { tr.classList.add("is-new"); });
          if (fresh.length) {
            var who = $(".who-cell strong", fresh[0]);
            $("[data-announce]").textContent = "New ticket: " + (who ? who.textContent : "") ;
          }
          if (selectedId) {
            rows().forEach(function (tr, i) { if (tr.dataset.ticket === selectedId) { selected = i; tr.classList.add("is-selected"); } });
          }
        })
        .catch(function () {})
        .then(function () {
          var again = refreshing && refreshing.again;
          refreshing = null;
          if (again) { refresh(); }
        });
    };
    listen(queueLive.dataset.events, { tickets: refresh });
  }

  // -- a conversation -------------------------------------------------------------------
  var transcript = $("#transcript");

  function scrollToEnd() { if (transcript) { transcript.scrollTop = transcript.scrollHeight; } }

  function loadMessages() {
    // An older window of the transcript (opened without the script) is not appended to.
    if (!transcript || transcript.hasAttribute("data-older-window")) { return; }
    // Re-read rows still waiting (pending, queued) so their state follows the delivery.
    var after = Number(transcript.dataset.after || 0);
    $all(".state--pending, .state--queued", transcript).forEach(function (el) {
      var id = Number(el.closest("[data-message]").dataset.message);
      if (id - 1 < after) { after = id - 1; }
    });
    fetch(transcript.dataset.messagesUrl + "?after=" + after, { headers: { "x-console-fetch": "1" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var box = document.createElement("ol");
        box.innerHTML = html;
        var nearEnd = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 80;
        $all("li[data-message]", box).forEach(function (li) {
          var old = $('li[data-message="' + li.dataset.message + '"]', transcript);
          if (old) { old.replaceWith(li); } else {
            transcript.appendChild(li);
            li.classList.add("is-new");
            if (li.classList.contains("msg--customer")) { setPresence(""); }
          }
          if (Number(li.dataset.message) > Number(transcript.dataset.after || 0)) { transcript.dataset.after = li.dataset.message; }
        });
        if (nearEnd) { scrollToEnd(); }
      })
      .catch(function () {});
  }

  // "Earlier messages": the page of turns before the first shown goes above it, where it was
  // (the reading position stays), without the live log announcing old turns as new ones.
  function loadEarlier(link) {
    var item = link.closest("[data-earlier-item]");
    link.setAttribute("aria-disabled", "true");
    fetch(link.dataset.earlier, { headers: { "x-console-fetch": "1" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var box = document.createElement("ol");
        box.innerHTML = html;
        var height = transcript.scrollHeight, top = transcript.scrollTop;
        transcript.setAttribute("aria-live", "off");
        var first = null;
        $all("li", box).forEach(function (li) {
          if (li.dataset.message && $('li[data-message="' + li.dataset.message + '"]', transcript)) { return; }
          transcript.insertBefore(li, item);
          if (!first && li.dataset.message) { first = li; }
        });
        item.remove();
        transcript.scrollTop = top + (transcript.scrollHeight - height);
        setTimeout(function () { transcript.setAttribute("aria-live", "polite"); }, 0);
        var next = $("[data-earlier]", transcript);
        var target = next || first;
        if (target) {
          if (!next) { target.setAttribute("tabindex", "-1"); }
          target.focus({ preventScroll: true });
        }
      })
      .catch(function () { link.removeAttribute("aria-disabled"); });
  }

  // -- the header and the customer's presence ---------------------------------------------
  var presence = $("#customer-presence");
  var typingTimer = null;
  var TYPING_SHOWN_MS = 6000;  // the widget repeats "typing" every 2 s while the customer writes

  function setPresence(state) {
    if (!presence) { return; }
    clearTimeout(typingTimer);
    if (state === "typing") { typingTimer = setTimeout(function () { setPresence(""); }, TYPING_SHOWN_MS); }
    if (presence.dataset.presence === state) { return; }  // the same news is not announced again
    presence.dataset.presence = state;
    presence.textContent = state === "typing" ? "Customer is typing…" : state === "left" ? "Customer left the chat" : "";
  }

  var headLoading = null;
  function refreshHead() {
    var head = $("#conv-head");
    if (!head) { return; }
    if (headLoading) { headLoading.again = true; return; }
    headLoading = { again: false };
    fetch(head.dataset.headUrl, { headers: { "x-console-fetch": "1" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var box = document.createElement("div");
        box.innerHTML = html;
        var fresh = $("#conv-head", box);
        var old = $("#conv-head");
        if (!fresh || !old) { return; }
        var focused = old.contains(document.activeElement) && document.activeElement.form;
        var action = focused ? focused.getAttribute("action") : null;
        var changed = ["status", "priority", "assignee"].some(function (k) { return fresh.dataset[k] !== old.dataset[k]; });
        old.replaceWith(fresh);
        if (action) {
          var again = $('form[action="' + action + '"] button', fresh);
          if (again) { again.focus(); }
        }
        if (changed) {
          syncControls(fresh);
          var say = $("[data-head-announce]");
          if (say) {
            say.textContent = "Ticket #" + fresh.dataset.ticketId + " is now " + fresh.dataset.status +
              ", " + fresh.dataset.priority + " priority, " + fresh.dataset.assigneeName + ".";
          }
        }
      })
      .catch(function () {})
      .then(function () {
        var again = headLoading && headLoading.again;
        headLoading = null;
        if (again) { refreshHead(); }
      });
  }

  // The context panel's priority and assignee fields follow the ticket, unless the agent is
  // changing one of them right now.
  function syncControls(head) {
    [["priority", head.dataset.priority], ["assignee_id", head.dataset.assignee]].forEach(function (pair) {
      var field = $('.ticket-controls select[name="' + pair[0] + '"]');
      if (field && field !== document.activeElement && pair[1] !== undefined) { field.value = pair[1]; }
    });
  }

  if (transcript) {
    scrollToEnd();
    transcript.addEventListener("click", function (event) {
      var link = event.target.closest && event.target.closest("a[data-earlier]");
      if (!link) { return; }
      event.preventDefault();
      if (link.getAttribute("aria-disabled") !== "true") { loadEarlier(link); }
    });
    listen(transcript.dataset.events, {
      message: loadMessages,
      ticket: refreshHead,
      typing: function () { setPresence("typing"); },
      left: function () { setPresence("left"); },
      back: function () { if (presence.dataset.presence === "left") { setPresence(""); } }
    });
  }

  // Forms marked data-fetch-form post without leaving the page (the reply box).
  $all("[data-fetch-form]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = $("button[type=submit]", form);
      var box = $("textarea", form);
      if (!box.value.trim()) { box.focus(); return; }
      button.disabled = true;
      fetch(form.action, { method: "POST", body: new FormData(form), headers: { "x-console-fetch": "1" }, credentials: "same-origin" })
        .then(function (r) {
          if (r.status === 204) { box.value = ""; loadMessages(); return; }
          return r.text().then(function (text) { alert(text || "The reply was not sent."); });
        })
        .catch(function () { alert("The reply was not sent: the connection dropped. Try again."); })
        .then(function () { button.disabled = false; box.focus(); });
    });
  });

  var canned = $("[data-canned]");
  var reply = $("#reply");
  function useCanned(index) {
    if (!canned || !reply) { return; }
    var option = canned.options[index];
    if (!option || !option.dataset.text) { return; }
    reply.value = option.dataset.text;
    reply.focus();
    // Put the cursor on the first placeholder the context could not fill.
    var gap = reply.value.search(/\{[a-z_]+\}/);
    if (gap >= 0) { reply.setSelectionRange(gap, reply.value.indexOf("}", gap) + 1); }
    canned.selectedIndex = 0;
  }
  if (canned) { canned.addEventListener("change", function () { useCanned(canned.selectedIndex); }); }

  // Ctrl/Cmd+Enter sends the reply or saves the note.
  $all("textarea").forEach(function (box) {
    box.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        box.form.requestSubmit();
      } else if (event.key === "Escape") {
        box.blur();
      }
    });
  });

  // -- keyboard shortcuts ---------------------------------------------------------------
  var dialog = $("#shortcuts");
  $all("[data-shortcuts-open]").forEach(function (b) { b.addEventListener("click", function () { dialog.showModal(); }); });
  var pendingG = false;

  document.addEventListener("keydown", function (event) {
    if (event.altKey && /^[1-9]$/.test(event.key) && canned) {
      event.preventDefault();
      useCanned(Number(event.key));
      return;
    }
    if (typing(document.activeElement) || event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (dialog && dialog.open) { return; }
    var key = event.key;
    if (pendingG) {
      pendingG = false;
      if (key === "q") { location.href = "/console"; } else if (key === "k") { location.href = "/console/kpis"; }
      return;
    }
    if (key === "g") { pendingG = true; return; }
    if (key === "?") { dialog.showModal(); return; }
    if (queueLive) {
      if (key === "j") { event.preventDefault(); select(selected + 1); }
      else if (key === "k") { event.preventDefault(); select(selected - 1); }
      else if ((key === "o" || key === "Enter") && selected >= 0) {
        var link = $("a.open-link", rows()[selected]);
        if (link) { event.preventDefault(); location.href = link.href; }
      } else if (key === "c" && selected >= 0) {
        var claim = $("[data-claim]", rows()[selected]);
        if (claim) { event.preventDefault(); claim.click(); }
      } else if (key === "/") {
        event.preventDefault();
        $("#filters select").focus();
      }
    } else if (transcript) {
      if (key === "r" && reply) { event.preventDefault(); reply.focus(); }
      else if (key === "n" && $("#note")) { event.preventDefault(); $("#note").focus(); }
      else if (key === "Escape") { location.href = "/console"; }
    }
  });
})();
