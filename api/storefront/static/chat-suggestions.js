/* Help-centre articles suggested in the chat widget while the customer types: after a pause
   of SUGGEST_DELAY_MS the widget asks /help/search.json and lists up to three articles above
   the message box. Arrow Down moves from the box into the list, Arrow Up/Down move within it,
   Escape goes back to the box. Text is set with textContent only; nothing is parsed as HTML.
   Plain JS, no build step, no inline code (the page's Content-Security-Policy refuses it). */
(function () {
  "use strict";

  var SUGGEST_DELAY_MS = 300;
  var MIN_CHARS = 4;
  var LIMIT = 3;
  // An email address, an order number, a postal code or a phone number is an answer to the
  // assistant, not a question for the help centre: it is never sent to the search.
  var PRIVATE = /@|\d{4,}/;

  var input = document.getElementById("odw-input");
  var box = document.getElementById("odw-articles");
  var list = document.getElementById("odw-articles-list");
  var form = document.getElementById("odw-form");
  if (!input || !box || !list || !window.fetch) return;

  var timer = null;
  var asked = "";   // the newest text asked about: older answers are dropped
  var shown = "";   // the text whose suggestions are on screen

  function links() { return Array.prototype.slice.call(list.querySelectorAll("a")); }

  function clear() {
    list.textContent = "";
    box.hidden = true;
    shown = "";
  }

  function paint(text, items) {
    list.textContent = "";
    items.forEach(function (item) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = item.url;
      a.className = "odw-article";
      var title = document.createElement("span");
      title.className = "odw-article-title";
      title.textContent = item.title;
      a.appendChild(title);
      li.appendChild(a);
      list.appendChild(li);
    });
    box.hidden = items.length === 0;
    shown = items.length ? text : "";
  }

  function ask(text) {
    asked = text;
    fetch("/help/search.json?limit=" + LIMIT + "&q=" + encodeURIComponent(text), {
      headers: { "Accept": "application/json" }
    })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (found) {
        if (text !== asked || input.value.trim() !== text) return;
        paint(text, found && found.items ? found.items : []);
      })
      .catch(function () { /* suggestions are a help, never in the way */ });
  }

  input.addEventListener("input", function () {
    var text = input.value.trim();
    clearTimeout(timer);
    if (text.length < MIN_CHARS || text.charAt(0) === "/" || PRIVATE.test(text)) {
      asked = ""; clear(); return;
    }
    if (text === shown) return;
    timer = setTimeout(function () { ask(text); }, SUGGEST_DELAY_MS);
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown" && !box.hidden && links().length) {
      event.preventDefault();
      links()[0].focus();
    }
  });

  list.addEventListener("keydown", function (event) {
    var all = links(), at = all.indexOf(document.activeElement);
    if (at < 0) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      var next = at + (event.key === "ArrowDown" ? 1 : -1);
      if (next < 0) input.focus(); else all[Math.min(next, all.length - 1)].focus();
    } else if (event.key === "Escape") {
      // Back to the message box, without closing the chat.
      event.preventDefault();
      event.stopPropagation();
      input.focus();
    }
  });

  if (form) form.addEventListener("submit", function () { asked = ""; clearTimeout(timer); clear(); });
})();
