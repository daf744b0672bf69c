"use strict";
// a accepts the prediction as right (the case leaves the queue); typing in the form is left alone.
document.addEventListener("keydown", event => {
  if (["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement.tagName)) return;
  if (event.key === "a" && !event.ctrlKey && !event.metaKey && !event.altKey) {
    document.getElementById("accept-form")?.submit();
  }
});
