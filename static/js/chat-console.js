// The operators' console (CHAT-07): the conversation's messages arrive over server-sent
// events (the page's stream, resumed from the last seq shown), the reply is posted with fetch
// and shown when the stream brings it back, the visitor's typing shows for a few seconds.
// Text goes in with textContent only.
(function () {
  "use strict";
  var log = document.getElementById("chat-log");
  if (!log) return;
  var typing = document.getElementById("chat-typing");
  var form = document.getElementById("chat-reply");
  var last = parseInt(log.dataset.after || "0", 10);
  var typingTimer = null;
  var stream = null;

  function add(message) {
    if (message.seq <= last) return;
    last = message.seq;
    var item = document.createElement("li");
    item.className = "chat-message " + message.sender;
    item.dataset.seq = String(message.seq);
    if (message.sender !== "system") {
      var who = document.createElement("b");
      who.textContent = message.sender === "visitor" ? log.dataset.visitorLabel : message.author;
      item.appendChild(who);
    }
    var body = document.createElement(message.attachment ? "a" : "span");
    body.className = "chat-body";
    if (message.attachment) body.href = log.dataset.file.replace(/0\/$/, message.attachment.id + "/");
    body.textContent = message.body;
    item.appendChild(body);
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
    if (message.sender === "visitor") typing.textContent = "";
  }

  function connect() {
    stream = new EventSource(log.dataset.stream + "?after=" + last);
    stream.addEventListener("message", function (event) {
      add(JSON.parse(event.data));
    });
    stream.addEventListener("typing", function (event) {
      if (JSON.parse(event.data).sender !== "visitor") return;
      typing.textContent = typing.dataset.text;
      clearTimeout(typingTimer);
      typingTimer = setTimeout(function () {
        typing.textContent = "";
      }, 4000);
    });
    stream.addEventListener("state", function (event) {
      var state = JSON.parse(event.data).state;
      // Ended or missed: the page shows it without the forms. A transfer (waiting or live
      // again) changes nothing here: the operator who transferred is sent to the console.
      if (state === "ended" || state === "missed") window.location.reload();
    });
    stream.onerror = function () {
      if (stream.readyState === 2) setTimeout(connect, 5000); // closed: try again later
    };
  }
  if (window.EventSource && log.dataset.stream) connect();
  log.scrollTop = log.scrollHeight;

  if (!form) return;
  var textarea = form.querySelector("textarea");
  var canned = document.getElementById("chat-canned");
  if (canned) {
    // A canned response goes into the reply (where the cursor is), to be read and sent.
    canned.addEventListener("change", function () {
      var option = canned.options[canned.selectedIndex];
      if (!option || !option.value) return;
      var text = option.dataset.text || "";
      var start = textarea.selectionStart || 0;
      var end = textarea.selectionEnd || 0;
      textarea.value = textarea.value.slice(0, start) + text + textarea.value.slice(end);
      canned.selectedIndex = 0;
      textarea.focus();
      textarea.selectionStart = textarea.selectionEnd = start + text.length;
      textarea.dispatchEvent(new Event("input")); // the visitor sees the operator typing
    });
  }
  var errors = document.getElementById("chat-reply-errors");
  var lastTyping = 0;

  function post(url, data) {
    return fetch(url, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" },
    });
  }

  textarea.addEventListener("input", function () {
    var now = Date.now();
    if (now - lastTyping < 3000 || !textarea.value) return;
    lastTyping = now;
    var data = new FormData();
    data.append("csrfmiddlewaretoken", form.elements.csrfmiddlewaretoken.value);
    post(form.dataset.typing, data);
  });
  textarea.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    errors.textContent = "";
    post(form.action, new FormData(form)).then(function (response) {
      return response.json().then(function (answer) {
        if (response.status === 201) {
          textarea.value = "";
          add(answer.message);
        } else {
          errors.textContent = ((answer.errors || {}).body || []).join(" ");
        }
      });
    }).catch(function () {
      form.submit(); // without the script's way: the page's own
    });
  });
})();
