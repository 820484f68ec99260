// coserver: small progressive enhancements for every page (the site works without JavaScript).
"use strict";
document.documentElement.classList.add("js");
document.addEventListener("DOMContentLoaded", () => {
  // language menu: submit on change
  for (const el of document.querySelectorAll("select[data-autosubmit]")) {
    el.addEventListener("change", () => el.form && el.form.submit());
  }
  // copy buttons: <button data-copy="text">
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const done = button.dataset.copied || "✓";
      try {
        await navigator.clipboard.writeText(button.dataset.copy);
      } catch (e) {
        const input = document.createElement("textarea");
        input.value = button.dataset.copy;
        document.body.appendChild(input);
        input.select();
        document.execCommand("copy");
        input.remove();
      }
      const label = button.textContent;
      button.textContent = done;
      setTimeout(() => { button.textContent = label; }, 1500);
    });
  }
  // confirmation before destructive forms: <form data-confirm="message">
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
});
