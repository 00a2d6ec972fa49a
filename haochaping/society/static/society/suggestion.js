// 意见箱: once a region is chosen, the unit and hall lists show only that region's entries (data-path prefix).
// Without JavaScript every option stays available; the server checks the choice either way.
(function () {
  "use strict";
  function init() {
    var form = document.getElementById("suggestion-form");
    if (!form) { return; }
    var region = form.querySelector("select[name=region_id]");
    var targets = form.querySelectorAll("select[name=unit_id], select[name=hall_id]");
    if (!region) { return; }
    function apply() {
      var chosen = region.options[region.selectedIndex];
      var path = chosen ? chosen.getAttribute("data-path") || "" : "";
      targets.forEach(function (select) {
        select.querySelectorAll("option[data-path]").forEach(function (option) {
          var show = !path || option.getAttribute("data-path").indexOf(path) === 0;
          option.hidden = !show;
          option.disabled = !show;
          if (!show && option.selected) { select.value = ""; }
        });
        select.querySelectorAll("optgroup").forEach(function (group) {
          group.hidden = !group.querySelector("option:not([hidden])");
        });
      });
    }
    region.addEventListener("change", apply);
    apply();
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
