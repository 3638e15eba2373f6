/* The rich-text editor (TKT-02): Trix takes over every <textarea data-editor>.
 *
 * The textarea stays the form's field: Trix writes its HTML into it, and the hidden
 * "<name>_format" field says "html", so the server sanitises it. Without JavaScript (or if
 * Trix fails to load) nothing here runs: the textarea posts plain text with the format
 * "text", and the server stores it escaped, exactly as typed.
 *
 * Images pasted, dropped or picked are uploaded at once to the form's
 * data-upload-url (an access-checked attachment of the ticket) and shown inline. */
(function () {
  "use strict";

  function escapeText(text) {
    // Plain text typed before the editor loaded (or kept by a failed post) stays text.
    var div = document.createElement("div");
    return text
      .replace(/\r\n?/g, "\n")
      .split(/\n[ \t]*\n/)
      .filter(function (p) { return p.trim(); })
      .map(function (p) {
        div.textContent = p;
        return "<div>" + div.innerHTML.replace(/\n/g, "<br>") + "</div>";
      })
      .join("");
  }

  function csrfToken(form) {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function lang() {
    var node = document.getElementById("editor-lang");
    try { return node ? JSON.parse(node.textContent) : {}; } catch (e) { return {}; }
  }

  var LANG = lang();
  var IMAGE_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"];

  function showError(editor, message) {
    var box = editor.parentNode.querySelector(".editor-error");
    if (!box) {
      box = document.createElement("p");
      box.className = "error editor-error";
      box.setAttribute("role", "alert");
      editor.parentNode.insertBefore(box, editor.nextSibling);
    }
    box.textContent = message;
  }

  function upload(attachment, editor, url, form) {
    var data = new FormData();
    data.append("file", attachment.file, attachment.file.name || "image.png");
    var xhr = new XMLHttpRequest();
    xhr.open("POST", url, true);
    xhr.setRequestHeader("X-CSRFToken", csrfToken(form));
    xhr.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) attachment.setUploadProgress((event.loaded / event.total) * 100);
    });
    xhr.addEventListener("load", function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = {}; }
      if (xhr.status === 201 && body.url) {
        attachment.setAttributes({ url: body.url, href: body.url });
      } else {
        attachment.remove();
        showError(editor, (body.errors && body.errors.join(" ")) || LANG.uploadFailed || "Upload failed.");
      }
    });
    xhr.addEventListener("error", function () {
      attachment.remove();
      showError(editor, LANG.uploadFailed || "Upload failed.");
    });
    xhr.send(data);
  }

  function enhance(textarea) {
    if (textarea.dataset.editorReady) return;
    var form = textarea.form;
    var format = form && form.querySelector('input[name="' + textarea.name + '_format"]');
    if (!form || !format || !window.Trix || !textarea.id) return;
    textarea.dataset.editorReady = "1";

    var initial;
    if (format.value === "html") {
      initial = textarea.value; // the editor's own HTML, posted back after an error
    } else if (textarea.hasAttribute("data-editor-html")) {
      initial = textarea.getAttribute("data-editor-html"); // the stored description
    } else {
      initial = escapeText(textarea.value);
    }
    textarea.value = initial;
    format.value = "html";
    textarea.hidden = true;

    var editor = document.createElement("trix-editor");
    editor.setAttribute("input", textarea.id);
    editor.className = "trix-content editor";
    editor.setAttribute("aria-label", LANG.editorLabel || "Editor");
    var label = form.querySelector('label[for="' + textarea.id + '"]');
    if (label) {
      label.id = label.id || textarea.id + "-label";
      editor.setAttribute("aria-labelledby", label.id);
    }
    textarea.parentNode.insertBefore(editor, textarea.nextSibling);
    // Other tools (the canned-response picker) insert through the textarea, editor or not:
    // textarea.dispatchEvent(new CustomEvent("editor:insert", {detail: {html}} or {text})).
    textarea.addEventListener("editor:insert", function (event) {
      var detail = event.detail || {};
      if (!editor.editor) return;
      if (detail.html) editor.editor.insertHTML(detail.html);
      else if (detail.text) editor.editor.insertString(detail.text);
      editor.focus();
    });

    var uploadUrl = form.getAttribute("data-upload-url");
    editor.addEventListener("trix-file-accept", function (event) {
      if (!uploadUrl) {
        event.preventDefault();
        showError(editor, LANG.noUpload || "");
      } else if (IMAGE_TYPES.indexOf(event.file.type) === -1) {
        event.preventDefault();
        showError(editor, LANG.imagesOnly || "");
      }
    });
    editor.addEventListener("trix-attachment-add", function (event) {
      var attachment = event.attachment;
      if (attachment.file) upload(attachment, editor, uploadUrl, form);
    });
    // No ticket to hold images yet (the create page): no image button (editor.css).
    if (!uploadUrl) textarea.parentNode.classList.add("editor-no-uploads");
  }

  function enhanceAll(root) {
    (root || document).querySelectorAll("textarea[data-editor]").forEach(enhance);
  }

  function start() {
    if (!window.Trix) return;
    var previews = window.Trix.config && window.Trix.config.attachments &&
      window.Trix.config.attachments.preview;
    // An image shows without a caption of its file name and size: the message keeps the
    // image, not words in the author's language about it.
    if (previews) previews.caption = { name: false, size: false };
    if (window.Trix.config && window.Trix.config.lang) {
      Object.keys(LANG).forEach(function (key) {
        if (key in window.Trix.config.lang) window.Trix.config.lang[key] = LANG[key];
      });
    }
    enhanceAll(document);
    // A form swapped in by htmx gets its editor too.
    document.body.addEventListener("htmx:afterSwap", function (event) { enhanceAll(event.target); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
