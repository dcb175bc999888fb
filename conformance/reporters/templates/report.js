// Conformance reports: outcome filters and copy buttons. Without this script every row is shown.
(function () {
  "use strict";

  function setupFilter(bar) {
    var table = document.getElementById(bar.getAttribute("data-table"));
    if (!table || !table.tBodies.length) { return; }
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var buttons = Array.prototype.slice.call(bar.querySelectorAll("button[data-outcome]"));
    var clear = bar.querySelector("button.filter-clear");
    var status = bar.querySelector(".filter-status");
    var noun = bar.getAttribute("data-noun") || "rows";

    function apply() {
      var selected = buttons.filter(function (b) { return b.getAttribute("aria-pressed") === "true"; })
        .map(function (b) { return b.getAttribute("data-outcome"); });
      var shown = 0;
      rows.forEach(function (row) {
        var outcomes = (row.getAttribute("data-outcomes") || "").split(" ");
        var visible = selected.length === 0 || outcomes.some(function (o) { return selected.indexOf(o) >= 0; });
        row.hidden = !visible;
        if (visible) { shown += 1; }
      });
      status.textContent = selected.length === 0
        ? "Showing all " + rows.length + " " + noun
        : "Showing " + shown + " of " + rows.length + " " + noun + " (" + selected.join(", ") + ")";
    }

    buttons.forEach(function (button) {
      button.addEventListener("click", function () {
        var pressed = button.getAttribute("aria-pressed") === "true";
        button.setAttribute("aria-pressed", pressed ? "false" : "true");
        apply();
      });
    });
    if (clear) {
      clear.addEventListener("click", function () {
        buttons.forEach(function (b) { b.setAttribute("aria-pressed", "false"); });
        apply();
      });
    }
    bar.hidden = false;
    apply();
  }

  function selectText(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    try { return document.execCommand("copy"); } catch (e) { return false; }
  }

  function setupCopy(button) {
    var pre = document.getElementById(button.getAttribute("data-copy"));
    var status = button.parentNode.querySelector(".copy-status");
    if (!pre) { return; }
    function done(ok) {
      status.textContent = ok ? "Copied." : "Selected: press Ctrl+C (or ⌘C) to copy.";
    }
    button.addEventListener("click", function () {
      var text = pre.textContent;
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () { done(true); },
          function () { done(selectText(pre)); });
      } else {
        done(selectText(pre));
      }
    });
    button.hidden = false;
  }

  Array.prototype.forEach.call(document.querySelectorAll(".filter-bar"), setupFilter);
  Array.prototype.forEach.call(document.querySelectorAll(".copy-button"), setupCopy);
}());
