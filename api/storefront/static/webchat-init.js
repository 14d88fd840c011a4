/* Starts the stock rasa-webchat 1.0.1 bundle against this api's /socket.io/. A file, not an
   inline script, so the page's Content-Security-Policy can refuse inline code. */
(function () {
  "use strict";
  var mount = document.getElementById("rasa-webchat");
  if (!mount || !window.WebChat) return;
  window.WebChat.default({
    socketUrl: window.location.origin,
    socketPath: mount.getAttribute("data-socket-path") || "/socket.io/",
    initPayload: "/greet",
    title: "Fernhill & Co.",
    subtitle: "rasa-webchat 1.0.1",
    inputTextFieldHint: "Type your message…",
    params: { storage: "local" }
  }, mount);
})();
