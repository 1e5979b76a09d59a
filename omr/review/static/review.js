// Review screen: highlights, original-scan toggle, reviewer check and keyboard shortcuts.
// Everything works without this file (plain forms and links); it only makes the screen quicker.
(function () {
  "use strict";

  function placeHighlights() {
    var box = document.getElementById("sheetimg");
    if (!box) return;
    var w = parseFloat(box.dataset.w), h = parseFloat(box.dataset.h);
    box.querySelectorAll(".hl").forEach(function (el) {
      el.style.left = (100 * parseFloat(el.dataset.x) / w) + "%";
      el.style.top = (100 * parseFloat(el.dataset.y) / h) + "%";
      el.style.width = (100 * parseFloat(el.dataset.w) / w) + "%";
      el.style.height = (100 * parseFloat(el.dataset.h) / h) + "%";
    });
  }

  function showPane(id) {
    document.querySelectorAll(".pane").forEach(function (p) { p.classList.toggle("on", p.id === id); });
    document.querySelectorAll(".tab").forEach(function (t) { t.classList.toggle("on", t.dataset.pane === id); });
    if (id === "pane-original") {
      var img = document.getElementById("original-img");
      if (img && img.dataset.src && !img.getAttribute("src")) img.setAttribute("src", img.dataset.src);
    }
  }

  function cards() { return Array.prototype.slice.call(document.querySelectorAll(".rowcard.needs")); }

  var focusIndex = -1;  // index into cards()

  function setFocus(i, scroll) {
    var list = cards();
    if (!list.length) return;
    focusIndex = Math.max(0, Math.min(i, list.length - 1));
    list.forEach(function (c, k) { c.classList.toggle("focus", k === focusIndex); });
    var row = list[focusIndex].dataset.row;
    var active = null;
    document.querySelectorAll(".hl.row").forEach(function (el) {
      var on = el.dataset.row === row;
      el.classList.toggle("active", on);
      if (on) active = el;
    });
    if (scroll) list[focusIndex].scrollIntoView({ block: "nearest", behavior: "smooth" });
    if (active) {
      var pane = document.getElementById("pane-registered");
      var top = active.offsetTop - pane.clientHeight / 3;
      pane.scrollTo({ top: Math.max(0, top), behavior: scroll ? "smooth" : "auto" });
    }
  }

  function fullName(value) { return value.trim().split(/\s+/).filter(Boolean).length >= 2; }

  // The name is needed before any decision; the prompt opens the name box. A name of one word is
  // refused here (a shortcut letter typed into the box by mistake must not become a reviewer).
  function reviewerOk() {
    var input = document.getElementById("reviewer");
    var missing = document.getElementById("reviewer-missing");
    var short = document.getElementById("reviewer-short");
    if (!input) return true;
    var value = input.value.trim();
    if (missing) missing.hidden = !!value;
    if (short) short.hidden = !value || fullName(value);
    if (value && fullName(value)) return true;
    var box = document.getElementById("reviewer-box");
    if (box) box.open = true;
    input.focus();
    input.scrollIntoView({ block: "center" });
    return false;
  }

  // Enter in the name box confirms the name and nothing else: the box folds, the keys act on the
  // rows again at once.
  function confirmName(e) {
    if (e.key !== "Enter") return;
    e.preventDefault();
    e.stopPropagation();
    var input = e.target;
    if (!reviewerOk()) return;
    var shown = document.getElementById("reviewer-shown");
    if (shown) shown.textContent = input.value.trim();
    var box = document.getElementById("reviewer-box");
    if (box) box.open = false;
    input.blur();
    var card = focusedCard();
    if (card) keepInView(card);
  }

  function press(button) {
    if (!button) return;
    if (!reviewerOk()) return;
    button.click();
  }

  // The card the keys act on stays on screen: after each decision the page comes back with the
  // next row to decide, scrolled to it.
  function keepInView(el, block) {
    var r = el.getBoundingClientRect();
    if (r.top >= 0 && r.bottom <= window.innerHeight) return;
    el.scrollIntoView({ block: block || (r.height > window.innerHeight * 0.9 ? "start" : "center") });
  }

  // Open a sheet decision's box (R's rejection, S's confirmation) with the focus on what the reviewer must
  // still choose there; the box's button decides, never the key.
  function openBox(box, field) {
    if (!box) return;
    box.open = true;
    keepInView(box);
    if (field) field.focus();
  }

  function openReject() {
    openBox(document.getElementById("reject-box"), document.getElementById("reject-reason"));
  }

  // A box's button pressed with what it asks for left undone: nothing is sent; say so, and go there.
  function refuse(e, field, warn) {
    e.preventDefault();
    if (warn) warn.hidden = false;
    field.focus();
  }

  function checkReject(e) {
    var select = document.getElementById("reject-reason");
    if (select && !select.value) refuse(e, select, document.getElementById("reject-reason-missing"));
  }

  // S on a sheet whose decision drops or counts a ballot's votes on what only a person can see (a suspected
  // copy counted once: two voters can mark alike; a cross-out ballot: its stamp and writing) only opens
  // the question: the tick and the button are the reviewer's own.
  function openConfirmation() {
    var box = document.querySelector("details.once[data-key=s]");
    openBox(box, box && box.querySelector("input[type=checkbox]"));
  }

  function checkTick(e) {
    var box = e.currentTarget.closest("details.once");
    var tick = box.querySelector("input[type=checkbox]");
    if (tick && !tick.checked) refuse(e, tick, box.querySelector(".warn"));
  }

  function countChoices(card) {
    var warn = card.querySelector(".choices-over");
    if (!warn) return;
    var n = card.querySelectorAll("input[type=checkbox]:checked").length;
    var max = parseInt(warn.dataset.max, 10);
    warn.hidden = !(n > max);
    warn.textContent = warn.dataset.text.replace("{n}", n);
  }

  function focusedCard() { var list = cards(); return focusIndex >= 0 ? list[focusIndex] : null; }

  // A shared computer: after a while without a key or a click the name is forgotten (the server's
  // cookie lasts as long), and the next decision asks for it again.
  function forgetOnIdle(form) {
    var ms = parseInt(form.dataset.idle, 10) * 1000;
    if (!ms) return;
    var timer = null;
    function forget() {
      var input = document.getElementById("reviewer");
      var shown = document.getElementById("reviewer-shown");
      var box = document.getElementById("reviewer-box");
      if (input) input.value = "";
      if (shown) shown.textContent = shown.dataset.none || "";
      if (box) box.open = true;
    }
    function reset() { clearTimeout(timer); timer = setTimeout(forget, ms); }
    ["keydown", "mousedown", "touchstart"].forEach(function (ev) { document.addEventListener(ev, reset, true); });
    reset();
  }

  document.addEventListener("DOMContentLoaded", function () {
    placeHighlights();
    var form = document.getElementById("decide");
    if (form) {
      form.noValidate = true;  // our own message, in the screen's language
      form.addEventListener("submit", function (e) { if (!reviewerOk()) e.preventDefault(); });
      var wanted = parseInt(form.dataset.focus, 10);
      var list = cards();
      var k = list.findIndex(function (c) { return parseInt(c.dataset.row, 10) === wanted; });
      if (list.length) setFocus(k >= 0 ? k : 0, false);
      list.forEach(function (c, i) {
        c.addEventListener("click", function () { setFocus(i, false); });
        c.addEventListener("change", function () { countChoices(c); });
      });
      forgetOnIdle(form);
      var name = document.getElementById("reviewer");
      if (name) name.addEventListener("keydown", confirmName);
      var confirmReject = document.getElementById("reject-sheet");
      if (confirmReject) confirmReject.addEventListener("click", checkReject);
      document.querySelectorAll("details.once button[name=do]").forEach(function (b) {
        b.addEventListener("click", checkTick);
      });
      // what to show first: a sheet-level question not yet decided (its reasons and buttons; a copy: both
      // scans, which stay beside the buttons on a wide screen), else the row the keys act on
      var narrow = window.innerWidth < 1000;  // one column (a small screen, or zoomed in): the image is above
      var after = /[?&](msg|row)=/.test(location.search);
      var sheetFirst = form.dataset.sheetFirst === "1" && !after;
      var pair = document.getElementById("duplicate-pair");
      var sheetTarget = pair ? (narrow ? pair : document.getElementById("sheet-decision"))
        : document.getElementById("sheet-card") || document.getElementById("sheet-decision");
      var error = document.getElementById("form-error");
      if (error) keepInView(error);
      else if (sheetFirst && sheetTarget) {
        var decision = document.getElementById("sheet-decision");  // the reasons and the buttons under them
        var bottom = decision ? decision.getBoundingClientRect().bottom : 0;
        if (bottom > window.innerHeight || sheetTarget.getBoundingClientRect().top < 0) {
          sheetTarget.scrollIntoView({ block: "start" });
        }
      }
      else if ((narrow || after) && (focusedCard() || document.getElementById("sheet-decision"))) {
        keepInView(focusedCard() || document.getElementById("sheet-decision"));
      }
    }
    var orig = document.getElementById("tab-original");
    if (orig) orig.addEventListener("click", function (e) {
      if (e.ctrlKey || e.metaKey || e.shiftKey) return;  // open in a new tab as asked
      e.preventDefault();
      showPane("pane-original");
    });
    var reg = document.getElementById("tab-registered");
    if (reg) reg.addEventListener("click", function () { showPane("pane-registered"); });
    var flash = document.getElementById("flash");
    if (flash) setTimeout(function () { flash.hidden = true; }, 4000);
  });

  document.addEventListener("keydown", function (e) {
    if (!document.getElementById("decide")) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var tag = (e.target.tagName || "").toLowerCase();
    if (tag === "input" && e.target.type !== "checkbox" || tag === "textarea" || tag === "select") return;
    var key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    var card = focusedCard();
    var handled = true;
    if (key === "ArrowDown" || key === "j") setFocus(focusIndex + 1, true);
    else if (key === "ArrowUp" || key === "k") setFocus(focusIndex - 1, true);
    else if (key === "a" && card) press(card.querySelector("[data-act=accept]"));
    else if (key === "x" && card) press(card.querySelector("[data-act=invalid]"));
    else if (/^[1-9]$/.test(key) && card) {
      var option = card.querySelector("[data-act=option][data-n='" + key + "']");
      var box = card.querySelector("input[type=checkbox][data-n='" + key + "']");
      if (option) press(option);
      else if (box) { box.checked = !box.checked; countChoices(card); }
      else handled = false;
    }
    else if (key === "Enter" && card && card.querySelector("[data-act=save]")) press(card.querySelector("[data-act=save]"));
    else if (key === "s" && document.querySelector("details.once[data-key=s]")) openConfirmation();
    else if (key === "s") press(document.getElementById("accept-sheet"));
    else if (key === "r") openReject();
    else if (key === "n" || key === "ArrowRight") { var n = document.getElementById("next"); if (n) n.click(); }
    else if (key === "p" || key === "ArrowLeft") { var p = document.getElementById("prev"); if (p) p.click(); }
    else if (key === "o") {
      var onOriginal = document.getElementById("pane-original").classList.contains("on");
      showPane(onOriginal ? "pane-registered" : "pane-original");
    }
    else handled = false;
    if (handled) e.preventDefault();
  });
})();
