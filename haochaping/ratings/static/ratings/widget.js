/*
 * 政务服务“好差评” rating widget (一事一评). No dependencies. Usage (see docs/widget.md):
 *
 *   <div id="rating"></div>
 *   <script src="https://<rating host>/static/ratings/widget.js" data-token="<办件 token>" data-target="#rating"></script>
 *
 * Optional: data-mobile="1" (rated through the mobile app channel), data-thanks="…" (text shown after rating).
 * The host element receives DOM events "haochaping:rated" (detail: {rating_id, grade}) and "haochaping:unavailable".
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) { return; }
  var token = script.getAttribute("data-token");
  if (!token) { console.error("haochaping widget: data-token is missing"); return; }
  var base = new URL(script.src, document.baseURI);
  var selector = script.getAttribute("data-target");
  var host = selector ? document.querySelector(selector) : null;
  if (!host) {
    host = document.createElement("div");
    script.parentNode.insertBefore(host, script.nextSibling);
  }
  var src = new URL("/r/" + encodeURIComponent(token) + "/embed/", base);
  src.searchParams.set("origin", window.location.origin);
  if (script.getAttribute("data-mobile") === "1") { src.searchParams.set("mobile", "1"); }

  var frame = document.createElement("iframe");
  frame.src = src.href;
  frame.title = script.getAttribute("data-title") || "服务评价";
  frame.style.cssText = "display:block;width:100%;max-width:560px;height:480px;border:0;overflow:hidden;";
  frame.setAttribute("scrolling", "no");
  host.appendChild(frame);

  function emit(name, detail) {
    var event;
    try { event = new CustomEvent(name, {detail: detail, bubbles: true}); } catch (e) { return; }
    host.dispatchEvent(event);
  }

  window.addEventListener("message", function (event) {
    // Only our own iframe, served from the rating host, may talk to this widget.
    if (event.origin !== base.origin || event.source !== frame.contentWindow) { return; }
    var data = event.data || {};
    if (data.type === "haochaping:resize" && data.height > 0) {
      frame.style.height = Math.min(data.height, 4000) + "px";
    } else if (data.type === "haochaping:rated") {
      var thanks = document.createElement("p");
      thanks.className = "haochaping-thanks";
      thanks.setAttribute("role", "status");
      thanks.textContent = script.getAttribute("data-thanks") || "感谢您的评价";
      host.replaceChild(thanks, frame);
      emit("haochaping:rated", {rating_id: data.rating_id, grade: data.grade});
    } else if (data.type === "haochaping:unavailable") {
      emit("haochaping:unavailable", {status: data.status, message: data.message});
    }
  });
})();
