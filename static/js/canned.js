/* Canned responses in the reply box (issue 8, item 2).
 *
 * The picker's search field asks the server (htmx) for matches already filled in with the
 * ticket's values; choosing one inserts it into the composer through
 * window.madoguchiInsertIntoComposer(html, text). The fallback below inserts into a Trix
 * editor if the composer has one, else into the reply textarea at the cursor; the editor's
 * script may replace the hook with its own (defining it before or after this file loads). */
(function () {
  "use strict";

  function composerForm(from) {
    return (from && from.closest("form")) || document.querySelector("#composer form, .composer form");
  }

  function fallbackInsert(html, text, from) {
    var form = composerForm(from);
    if (!form) return false;
    var trix = form.querySelector("trix-editor");
    if (trix && trix.editor) {
      trix.editor.insertHTML(html);
      trix.focus();
      return true;
    }
    var box = form.querySelector('textarea[name="body"]');
    if (!box) return false;
    var start = box.selectionStart || 0;
    var end = box.selectionEnd || 0;
    box.setRangeText(text, start, end, "end");
    box.dispatchEvent(new Event("input", { bubbles: true }));
    box.focus();
    return true;
  }

  if (typeof window.madoguchiInsertIntoComposer !== "function") {
    window.madoguchiInsertIntoComposer = function (html, text) {
      return fallbackInsert(html, text, document.querySelector("[data-canned-picker]"));
    };
  }

  function choose(button) {
    window.madoguchiInsertIntoComposer(button.dataset.html || "", button.dataset.text || "");
    var picker = button.closest("[data-canned-picker]");
    if (picker) picker.removeAttribute("open");
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-canned-insert]");
    if (button) {
      event.preventDefault();
      choose(button);
    }
  });

  // Enter in the search field picks the first match (and never sends the reply); the arrow
  // keys move between matches.
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var picker = target.closest && target.closest("[data-canned-picker]");
    if (!picker) return;
    var options = Array.prototype.slice.call(picker.querySelectorAll("[data-canned-insert]"));
    var index = options.indexOf(target);
    if (event.key === "Enter" && target.matches("[data-canned-search]")) {
      event.preventDefault();
      if (options.length) choose(options[0]);
    } else if (event.key === "ArrowDown" && options.length) {
      event.preventDefault();
      options[Math.min(index + 1, options.length - 1)].focus();
    } else if (event.key === "ArrowUp" && index >= 0) {
      event.preventDefault();
      if (index === 0) picker.querySelector("[data-canned-search]").focus();
      else options[index - 1].focus();
    } else if (event.key === "Escape") {
      picker.removeAttribute("open");
      picker.querySelector("summary").focus();
    }
  });

  // Opening the picker puts the cursor in its search field.
  document.addEventListener("toggle", function (event) {
    var picker = event.target;
    if (picker.matches && picker.matches("[data-canned-picker]") && picker.open) {
      var search = picker.querySelector("[data-canned-search]");
      if (search) search.focus();
    }
  }, true);
})();
