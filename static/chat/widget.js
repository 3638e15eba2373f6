/* Madoguchi chat widget (CHAT-02, CHAT-07). Embedded on any website with
 *   <script src="https://<ours>/<portal>/chat/widget/<embed key>.js" async></script>
 * It reads our address and the department's key from its own src, draws a button and a chat
 * window in a Shadow DOM (the host page's styles do not reach it, ours do not leak), speaks
 * Japanese or English by the page's <html lang>, and talks to the widget's cross-origin JSON
 * endpoints with the conversation's token (kept in the page's sessionStorage; no cookie).
 * Messages arrive over server-sent events, or by polling when streams fail. Every text that
 * a visitor or an operator wrote is put in with textContent, never parsed as HTML. */
(function () {
  "use strict";
  var script = document.currentScript;
  var match = script && script.src.match(/^(.*\/chat\/)widget\/([A-Za-z0-9_-]+)\.js(?:[?#].*)?$/);
  if (!match || window.__madoguchiChat) return;
  window.__madoguchiChat = true;
  var base = match[1];
  var key = match[2];
  var lang = (document.documentElement.lang || "").toLowerCase().indexOf("ja") === 0 ? "ja" : "en";
  var storeKey = "madoguchi-chat:" + base + key;
  var POLL_MS = 3000;
  var S = {};
  var config = null;
  var chat = null; // {id, token, last, ended}
  var stream = null;
  var pollTimer = null;
  var typingTimer = null;
  var lastTyping = 0;
  var visitorKey = null;
  var TRACK_MS = 15000;

  var CSS =
    ":host{all:initial}*{box-sizing:border-box;font:14px/1.4 system-ui,-apple-system,'Hiragino Sans','Yu Gothic',sans-serif}" +
    ".open{position:fixed;right:20px;bottom:20px;z-index:2147483000;border:0;border-radius:24px;padding:12px 20px;background:#1f5fbf;color:#fff;cursor:pointer;box-shadow:0 2px 8px rgba(0,0,0,.25)}" +
    ".open:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible{outline:3px solid #f2a900;outline-offset:1px}" +
    ".panel{position:fixed;right:20px;bottom:76px;z-index:2147483000;width:340px;max-width:calc(100vw - 40px);height:460px;max-height:calc(100vh - 100px);display:flex;flex-direction:column;background:#fff;color:#222;border-radius:10px;box-shadow:0 4px 24px rgba(0,0,0,.25);overflow:hidden}" +
    ".panel[hidden]{display:none}header{display:flex;justify-content:space-between;align-items:center;padding:10px 14px;background:#1f5fbf;color:#fff}" +
    "header h2{margin:0;font-weight:600;font-size:15px}header button{background:none;border:0;color:#fff;font-size:20px;cursor:pointer}" +
    ".body{flex:1;overflow:auto;padding:12px 14px}form{display:flex;flex-direction:column;gap:6px}label{font-weight:600;font-size:13px}" +
    "input,select,textarea{width:100%;padding:7px 8px;border:1px solid #999;border-radius:6px;background:#fff;color:#222}textarea{resize:vertical;min-height:54px}" +
    ".btn{border:0;border-radius:6px;padding:8px 12px;background:#1f5fbf;color:#fff;cursor:pointer}.btn.secondary{background:#e6e9ef;color:#222}" +
    ".err{color:#b00020;font-size:12px;margin:0}.note{color:#555;font-size:12px;margin:4px 0}ol{list-style:none;margin:0;padding:0}" +
    "li{margin:6px 0;max-width:85%;padding:7px 10px;border-radius:10px;background:#eef1f6;white-space:pre-wrap;word-wrap:break-word}" +
    "li.visitor{margin-left:auto;background:#dbe8ff}li.system{max-width:100%;background:none;color:#555;font-size:12px;text-align:center}" +
    "li b{display:block;font-size:11px;color:#555}.foot{border-top:1px solid #ddd;padding:8px 10px;display:flex;flex-direction:column;gap:6px}" +
    ".row{display:flex;gap:6px;justify-content:space-between}.typing{min-height:18px;font-size:12px;color:#555}" +
    "li a{color:inherit}.file{position:absolute;width:1px;height:1px;opacity:0}fieldset{border:0;margin:0;padding:0;display:flex;gap:4px}legend{font-weight:600;font-size:13px;margin-bottom:4px}" +
    ".stars label{position:relative;font-weight:400;border:1px solid #999;border-radius:6px;padding:4px 9px;cursor:pointer}.stars input{position:absolute;inset:0;width:100%;height:100%;margin:0;opacity:0;cursor:pointer}.stars label:focus-within{outline:3px solid #f2a900}.stars input:checked+span{font-weight:700}.stars label:has(input:checked){background:#1f5fbf;color:#fff}";

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    var name;
    for (name in attrs || {}) node.setAttribute(name, attrs[name]);
    if (text != null) node.textContent = text;
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function save() {
    try {
      if (chat) sessionStorage.setItem(storeKey, JSON.stringify(chat));
      else sessionStorage.removeItem(storeKey);
    } catch (e) {
      /* storage refused (private mode): the chat lasts as long as the page */
    }
  }

  function load() {
    try {
      return JSON.parse(sessionStorage.getItem(storeKey) || "null");
    } catch (e) {
      return null;
    }
  }

  function request(method, path, data) {
    var url = base + path;
    var init = { method: method, mode: "cors", credentials: "omit" };
    var params = new URLSearchParams(data || {});
    params.set("lang", lang);
    if (method === "GET") url += (url.indexOf("?") < 0 ? "?" : "&") + params.toString();
    else init.body = params; // form-encoded: a simple request, no preflight
    return fetch(url, init).then(function (response) {
      if (response.status === 204) return { status: 204, data: {} };
      return response.json().then(
        function (body) {
          return { status: response.status, data: body };
        },
        function () {
          return { status: response.status, data: {} };
        }
      );
    });
  }

  function conversationPath(suffix) {
    return "v/conversations/" + chat.id + "/" + suffix;
  }

  // --- The frame -----------------------------------------------------------------------------
  var host = el("div", { "data-madoguchi-chat": "" });
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  root.appendChild(el("style", {}, CSS));
  var openButton = el("button", { class: "open", type: "button", "aria-expanded": "false" }, "Chat");
  var panel = el("section", { class: "panel", role: "dialog", hidden: "" });
  var title = el("h2", { id: "title" });
  var closeButton = el("button", { type: "button" }, "\u00d7");
  var header = el("header");
  header.appendChild(title);
  header.appendChild(closeButton);
  var body = el("div", { class: "body" });
  var foot = el("div", { class: "foot", hidden: "" });
  panel.setAttribute("aria-labelledby", "title");
  panel.appendChild(header);
  panel.appendChild(body);
  panel.appendChild(foot);
  root.appendChild(openButton);
  root.appendChild(panel);

  function toggle(show) {
    panel.hidden = !show;
    openButton.setAttribute("aria-expanded", show ? "true" : "false");
    if (show) {
      var first = panel.querySelector("input,textarea,select");
      if (first) first.focus();
    } else openButton.focus();
  }
  openButton.addEventListener("click", function () {
    toggle(panel.hidden);
  });
  closeButton.addEventListener("click", function () {
    toggle(false);
  });
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") toggle(false);
  });

  // --- Before the chat: the visitor's details ------------------------------------------------
  function field(form, name, label, input, required) {
    var id = "f-" + name;
    input.id = id;
    input.name = name;
    if (required) input.required = true;
    form.appendChild(el("label", { for: id }, required ? label : label + " " + S.optional));
    form.appendChild(input);
    var error = el("p", { class: "err", id: id + "-err", role: "alert" });
    input.setAttribute("aria-describedby", id + "-err");
    form.appendChild(error);
    return error;
  }

  function showStart() {
    clear(body);
    foot.hidden = true;
    var form = el("form", { novalidate: "" });
    var errors = {};
    errors.name = field(form, "name", S.name, el("input", { autocomplete: "name", maxlength: "150" }), config.name_required);
    errors.email = field(form, "email", S.email, el("input", { type: "email", autocomplete: "email" }), config.email_required);
    if (config.departments.length > 1) {
      var select = el("select");
      config.departments.forEach(function (d) {
        var option = el("option", { value: String(d.id) }, d.name);
        if (d.id === config.department.id) option.selected = true;
        select.appendChild(option);
      });
      errors.department = field(form, "department", S.department, select, true);
    }
    errors.body = field(form, "message", S.message, el("textarea", { rows: "3", maxlength: "4000" }), true);
    var general = el("p", { class: "err", role: "alert" });
    form.appendChild(general);
    form.appendChild(el("button", { class: "btn", type: "submit" }, S.start));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var data = {};
      ["name", "email", "department", "message"].forEach(function (name) {
        if (form.elements[name]) data[name] = form.elements[name].value;
      });
      if (visitorKey) data.visitor = visitorKey;
      Object.keys(errors).forEach(function (k) {
        errors[k].textContent = "";
      });
      general.textContent = "";
      request("POST", "widget/" + key + "/conversations/", data).then(function (res) {
        if (res.status === 201) {
          chat = { id: res.data.id, token: res.data.token, last: 0, ended: false };
          save();
          showChat();
          (res.data.messages || []).forEach(add);
          connect();
          return;
        }
        var fieldErrors = (res.data && res.data.errors) || {};
        Object.keys(fieldErrors).forEach(function (k) {
          (errors[k] || general).textContent = fieldErrors[k].join(" ");
        });
        if (!Object.keys(fieldErrors).length) general.textContent = (res.data && res.data.error) || S.error;
      }, function () {
        general.textContent = S.error;
      });
    });
    body.appendChild(form);
  }

  // --- The chat ------------------------------------------------------------------------------
  var log = el("ol", { "aria-live": "polite" });
  var typing = el("p", { class: "typing", "aria-live": "polite" });
  var status = el("p", { class: "note", role: "status" });

  function showChat() {
    clear(body);
    clear(foot);
    clear(log);
    body.appendChild(status);
    body.appendChild(log);
    status.textContent = S.waiting;
    foot.hidden = false;
    foot.appendChild(typing);
    var form = el("form");
    var input = el("textarea", { rows: "2", maxlength: "4000", id: "f-body", "aria-label": S.message });
    var error = el("p", { class: "err", role: "alert" });
    var row = el("div", { class: "row" });
    var end = el("button", { class: "btn secondary", type: "button" }, S.end);
    var file = el("input", { type: "file", class: "file", id: "f-file", tabindex: "-1", "aria-hidden": "true" });
    var attach = el("button", { class: "btn secondary", type: "button" }, S.attach);
    row.appendChild(end);
    row.appendChild(attach);
    row.appendChild(file);
    attach.addEventListener("click", function () {
      file.click();
    });
    file.addEventListener("change", function () {
      if (!file.files.length) return;
      var data = new FormData();
      data.append("token", chat.token);
      data.append("lang", lang);
      data.append("file", file.files[0]);
      error.textContent = "";
      fetch(base + conversationPath("files/"), { method: "POST", mode: "cors", credentials: "omit", body: data })
        .then(function (response) {
          return response.json().then(function (body) {
            if (response.status === 201) return add(body.message);
            var errs = body.errors || {};
            error.textContent = (errs.file || []).join(" ") || body.error || S.error;
          });
        })
        .catch(function () {
          error.textContent = S.error;
        });
      file.value = "";
    });
    row.appendChild(el("button", { class: "btn", type: "submit" }, S.send));
    form.appendChild(input);
    form.appendChild(error);
    form.appendChild(row);
    foot.appendChild(form);
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit"));
      }
    });
    input.addEventListener("input", function () {
      var now = Date.now();
      if (now - lastTyping < 3000 || !input.value) return;
      lastTyping = now;
      request("POST", conversationPath("typing/"), { token: chat.token });
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = input.value.trim();
      if (!text) return;
      error.textContent = "";
      request("POST", conversationPath("messages/"), { token: chat.token, body: text }).then(function (res) {
        if (res.status === 201) {
          input.value = "";
          add(res.data.message);
        } else {
          var errs = (res.data && res.data.errors) || {};
          error.textContent = (errs.body || []).join(" ") || (res.data && res.data.error) || S.error;
        }
      }, function () {
        error.textContent = S.error;
      });
    });
    end.addEventListener("click", function () {
      request("POST", conversationPath("end/"), { token: chat.token }).then(ended);
    });
  }

  function add(message) {
    if (!message || message.seq <= chat.last) return;
    chat.last = message.seq;
    save();
    var item = el("li", { class: message.sender });
    if (message.sender !== "system") {
      item.appendChild(el("b", {}, message.sender === "visitor" ? S.you : message.author || ""));
    }
    if (message.attachment) {
      var link = el("a", { href: base + conversationPath("files/" + message.attachment.id + "/") + "?token=" + encodeURIComponent(chat.token), target: "_blank", rel: "noopener" }, message.body);
      item.appendChild(link);
    } else item.appendChild(document.createTextNode(message.body));
    log.appendChild(item);
    if (message.sender === "operator") {
      status.textContent = "";
      typing.textContent = "";
    }
    body.scrollTop = body.scrollHeight;
  }

  var endShown = null; // the token of the chat whose end is on show: the stream, the poll and
  // the "End chat" answer all report the end, and drawing it again would reset the rating form
  function ended(state) {
    stop();
    if (!chat || endShown === chat.token + state) return;
    endShown = chat.token + state;
    chat.ended = true;
    save();
    status.textContent = S.ended;
    typing.textContent = "";
    clear(foot);
    if (state === "missed") {
      status.textContent = S.leaveNote;
      if (!chat.left) foot.appendChild(leaveForm());
    }
    if (!chat.rated && state !== "missed") foot.appendChild(rateForm()); // nobody answered: nothing to rate
    if (!chat.mailed) foot.appendChild(transcriptForm());
    var again = el("button", { class: "btn", type: "button" }, S.again);
    again.addEventListener("click", function () {
      chat = null;
      save();
      showStart();
    });
    foot.appendChild(again);
  }

  // --- A missed chat: leave a message, which becomes a ticket (issue 15) -----------------------
  function leaveForm() {
    var form = el("form", { "data-leave": "", novalidate: "" });
    var errors = {};
    var name = el("input", { autocomplete: "name", maxlength: "150" });
    var email = el("input", { type: "email", autocomplete: "email" });
    errors.name = field(form, "leave-name", S.name, name, false);
    errors.email = field(form, "leave-email", S.email, email, true);
    errors.message = field(form, "leave-message", S.message, el("textarea", { rows: "3", maxlength: "4000" }), true);
    var general = el("p", { class: "err", role: "alert" });
    form.appendChild(general);
    form.appendChild(el("button", { class: "btn", type: "submit" }, S.leaveSend));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      Object.keys(errors).forEach(function (k) {
        errors[k].textContent = "";
      });
      general.textContent = "";
      var data = { token: chat.token, name: name.value, email: email.value, message: form.elements["leave-message"].value };
      request("POST", conversationPath("leave-message/"), data).then(function (res) {
        if (res.status === 201) {
          chat.left = true;
          save();
          form.replaceWith(el("p", { class: "note", role: "status" }, S.leaveSent));
          return;
        }
        var fieldErrors = (res.data && res.data.errors) || {};
        Object.keys(fieldErrors).forEach(function (k) {
          (errors[k] || general).textContent = fieldErrors[k].join(" ");
        });
        if (!Object.keys(fieldErrors).length) general.textContent = (res.data && res.data.error) || S.error;
      }, function () {
        general.textContent = S.error;
      });
    });
    return form;
  }

  // --- At the end: rating and transcript (CHAT-07) -------------------------------------------
  function rateForm() {
    var form = el("form", { "data-rate": "" });
    var set = el("fieldset", { class: "stars" });
    set.appendChild(el("legend", {}, S.rate));
    for (var n = 1; n <= 5; n++) {
      var label = el("label", { title: S.stars.replace("%(n)s", n) });
      var radio = el("input", { type: "radio", name: "rating", value: String(n), "aria-label": S.stars.replace("%(n)s", n) });
      label.appendChild(radio);
      label.appendChild(el("span", {}, String(n)));
      set.appendChild(label);
    }
    form.appendChild(set);
    var comment = el("textarea", { rows: "2", maxlength: "2000", id: "f-comment", name: "comment" });
    form.appendChild(el("label", { for: "f-comment" }, S.comment + " " + S.optional));
    form.appendChild(comment);
    var error = el("p", { class: "err", role: "alert" });
    form.appendChild(error);
    form.appendChild(el("button", { class: "btn", type: "submit" }, S.sendRating));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var picked = form.querySelector("input[name=rating]:checked");
      error.textContent = "";
      request("POST", conversationPath("feedback/"), { token: chat.token, rating: picked ? picked.value : "", comment: comment.value }).then(
        function (res) {
          if (res.status === 201) {
            chat.rated = true;
            save();
            form.replaceWith(el("p", { class: "note", role: "status" }, S.thanks));
            return;
          }
          var errs = (res.data && res.data.errors) || {};
          error.textContent = [].concat(errs.rating || [], errs.comment || [], errs.__all__ || []).join(" ") || (res.data && res.data.error) || S.error;
        },
        function () {
          error.textContent = S.error;
        }
      );
    });
    return form;
  }

  function transcriptForm() {
    var form = el("form");
    var email = el("input", { type: "email", id: "f-transcript", autocomplete: "email" });
    form.appendChild(el("label", { for: "f-transcript" }, S.email));
    form.appendChild(email);
    var error = el("p", { class: "err", role: "alert" });
    form.appendChild(error);
    form.appendChild(el("button", { class: "btn secondary", type: "submit" }, S.transcript));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      error.textContent = "";
      request("POST", conversationPath("transcript/"), { token: chat.token, email: email.value }).then(
        function (res) {
          if (res.status === 200) {
            chat.mailed = true;
            save();
            form.replaceWith(el("p", { class: "note", role: "status" }, S.transcriptSent));
            return;
          }
          var errs = (res.data && res.data.errors) || {};
          error.textContent = (errs.email || []).join(" ") || (res.data && res.data.error) || S.error;
        },
        function () {
          error.textContent = S.error;
        }
      );
    });
    return form;
  }

  // --- Visitor tracking (CHAT-08): pages viewed, a heartbeat, an operator's invitation --------
  function track(ping) {
    if (!visitorKey) return;
    var data = { visitor: visitorKey, url: location.href, title: document.title, referrer: document.referrer };
    if (ping) data = { visitor: visitorKey, ping: "1" };
    request("POST", "widget/" + key + "/track/", data).then(function (res) {
      var invite = res.status === 200 && res.data.invite;
      if (!invite || (chat && !chat.ended && chat.id === invite.id)) return;
      stop();
      chat = { id: invite.id, token: invite.token, last: 0, ended: false };
      save();
      showChat();
      toggle(true);
      request("GET", conversationPath("messages/"), { token: chat.token, after: 0 }).then(function (r) {
        (r.data.messages || []).forEach(add);
        connect();
      });
    });
  }

  function startTracking() {
    try {
      visitorKey = localStorage.getItem("madoguchi-visitor");
      if (!visitorKey) {
        var bytes = new Uint8Array(18);
        crypto.getRandomValues(bytes);
        visitorKey = btoa(String.fromCharCode.apply(null, bytes)).replace(/\+/g, "-").replace(/\//g, "_");
        localStorage.setItem("madoguchi-visitor", visitorKey);
      }
    } catch (e) {
      visitorKey = null; // storage refused: not tracked
      return;
    }
    track(false);
    setInterval(function () {
      if (!document.hidden) track(true);
    }, TRACK_MS);
  }

  function stop() {
    if (stream) stream.close();
    stream = null;
    if (pollTimer) clearInterval(pollTimer);
    pollTimer = null;
  }

  function poll() {
    if (!chat) return;
    request("GET", conversationPath("messages/"), { token: chat.token, after: chat.last }).then(function (res) {
      if (res.status === 404) {
        chat = null;
        save();
        stop();
        showStart();
        return;
      }
      (res.data.messages || []).forEach(add);
      if (res.data.state === "ended" || res.data.state === "missed") ended(res.data.state);
    });
  }

  function startPolling() {
    if (stream) stream.close();
    stream = null;
    if (!pollTimer) pollTimer = setInterval(poll, POLL_MS);
  }

  function connect() {
    stop();
    if (!window.EventSource) return startPolling();
    var url = base + conversationPath("stream/") + "?token=" + encodeURIComponent(chat.token) + "&after=" + chat.last;
    stream = new EventSource(url);
    stream.addEventListener("message", function (event) {
      add(JSON.parse(event.data));
    });
    stream.addEventListener("typing", function (event) {
      if (JSON.parse(event.data).sender !== "operator") return;
      typing.textContent = S.typing;
      clearTimeout(typingTimer);
      typingTimer = setTimeout(function () {
        typing.textContent = "";
      }, 4000);
    });
    stream.addEventListener("state", function (event) {
      var state = JSON.parse(event.data).state;
      if (state === "ended" || state === "missed") ended(state);
      else if (state === "waiting") status.textContent = S.waiting; // transferred: waits again
    });
    stream.onerror = function () {
      // A closed stream (refused, or not an event stream) is not retried by the browser.
      if (stream && stream.readyState === 2) startPolling();
    };
  }

  // --- Start ---------------------------------------------------------------------------------
  request("GET", "widget/" + key + "/config/").then(function (res) {
    if (res.status !== 200) return;
    config = res.data;
    S = config.strings[lang] || config.strings.en;
    openButton.textContent = S.open;
    title.textContent = S.title;
    closeButton.setAttribute("aria-label", S.close);
    document.body.appendChild(host);
    startTracking();
    chat = load();
    if (chat && chat.id && chat.token) {
      var known = chat.last;
      chat.last = 0; // draw the whole conversation again on this page
      showChat();
      request("GET", conversationPath("messages/"), { token: chat.token, after: 0 }).then(function (r) {
        if (r.status !== 200) {
          chat = null;
          save();
          showStart();
          return;
        }
        (r.data.messages || []).forEach(add);
        if (chat.last < known) chat.last = known;
        if (r.data.state === "ended" || r.data.state === "missed") ended(r.data.state);
        else connect();
      });
    } else {
      chat = null;
      showStart();
    }
  });
})();
