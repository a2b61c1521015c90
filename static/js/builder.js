// The item editor: show only the fields that the chosen type uses (the server ignores the rest).
"use strict";

(function () {
  const form = document.querySelector("form[data-item-form]");
  if (!form) return;
  const type = form.querySelector("select[name=type]");
  function show() {
    for (const block of form.querySelectorAll("[data-for]")) {
      block.hidden = !block.dataset.for.split(" ").includes(type.value);
    }
  }
  type.addEventListener("change", show);
  show();
})();
