/* The interactive word cloud of the insight page: one fetch of words/data.json (the same hot words as the table
   beside it), drawn with the vendored ECharts and its word-cloud extension. Clicking a word opens its comments.
   Without JavaScript the PNG and the table stand alone. No request leaves this site. */
(function () {
  "use strict";
  var box = document.querySelector(".insight-cloud[data-url]");
  if (!box || !window.echarts) return;
  var PALETTE = ["#0072B2", "#D55E00", "#009E73", "#E69F00", "#56B4E9", "#CC79A7", "#000000"];

  fetch(box.getAttribute("data-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
    .then(function (data) {
      if (!data.words || !data.words.length) return;
      var chart = window.echarts.init(box);
      var i = 0;
      chart.setOption({
        tooltip: {
          formatter: function (p) {
            return p.name + "：" + p.data.docs + " · z=" + p.data.score;
          }
        },
        series: [{
          type: "wordCloud",
          shape: "circle",
          gridSize: 6,
          sizeRange: [14, 56],
          rotationRange: [0, 0],
          width: "100%",
          height: "100%",
          textStyle: {
            color: function () { i += 1; return PALETTE[i % PALETTE.length]; }
          },
          data: data.words.map(function (w) {
            return { name: w.term, value: w.score, docs: w.docs, score: w.score };
          })
        }]
      });
      chart.on("finished", function () { box.classList.add("cloud-ready"); });
      chart.on("click", function (p) {
        var sep = data.comments_url.indexOf("?") >= 0 ? "&" : "?";
        window.location.assign(data.comments_url + sep + "term=" + encodeURIComponent(p.name));
      });
      window.addEventListener("resize", function () { chart.resize(); });
    })
    .catch(function () { box.hidden = true; });
})();
