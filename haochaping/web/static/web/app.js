// Site-wide behaviour that the Content-Security-Policy keeps out of the markup (no inline handlers).
document.addEventListener("DOMContentLoaded", function () {
  // The language switch submits on change.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (el) {
    el.addEventListener("change", function () { el.form.submit(); });
  });
});
